from __future__ import annotations

import pandas as pd
import pytest
from zenml_integrations.training.errors import SampleDataError
from zenml_integrations.training.sample_data import (
    SAMPLE_ENTITY_COLUMN,
    SAMPLE_TARGETS,
    SAMPLE_TIMESTAMP_COLUMN,
    generate_sample,
)


@pytest.fixture(scope="module")
def default_classification() -> pd.DataFrame:
    return generate_sample()


@pytest.fixture(scope="module")
def regression_frame() -> pd.DataFrame:
    return generate_sample(5_000, "regression")


def test_given_same_arguments_when_generated_twice_then_frames_are_identical() -> None:
    for problem_type in SAMPLE_TARGETS:
        first = generate_sample(1_000, problem_type, seed=7)
        second = generate_sample(1_000, problem_type, seed=7)
        pd.testing.assert_frame_equal(first, second)


def test_given_different_seed_when_generated_then_frames_differ() -> None:
    first = generate_sample(1_000, seed=1)
    second = generate_sample(1_000, seed=2)

    assert not first.equals(second)


def test_given_defaults_when_generated_then_frame_has_at_least_50k_rows(
    default_classification: pd.DataFrame,
) -> None:
    assert len(default_classification) >= 50_000


def test_given_defaults_when_generated_then_entity_id_is_unique(
    default_classification: pd.DataFrame,
) -> None:
    assert default_classification[SAMPLE_ENTITY_COLUMN].is_unique


def test_given_defaults_when_generated_then_timestamps_are_sorted_utc(
    default_classification: pd.DataFrame,
) -> None:
    timestamps = default_classification[SAMPLE_TIMESTAMP_COLUMN]

    assert timestamps.is_monotonic_increasing
    assert isinstance(timestamps.dtype, pd.DatetimeTZDtype)
    assert str(timestamps.dt.tz) == "UTC"


def test_given_classification_when_generated_then_target_is_binary_with_plausible_rate(
    default_classification: pd.DataFrame,
) -> None:
    target = default_classification[SAMPLE_TARGETS["binary_classification"]]

    assert set(target.unique()) == {0, 1}
    assert 0.05 < target.mean() < 0.5


def test_given_regression_when_generated_then_target_is_complete_and_varied(
    regression_frame: pd.DataFrame,
) -> None:
    target = regression_frame[SAMPLE_TARGETS["regression"]]

    assert len(regression_frame) == 5_000
    assert SAMPLE_TARGETS["binary_classification"] not in regression_frame.columns
    assert not target.isna().any()
    assert target.std() > 1.0


@pytest.mark.parametrize("rows", [0, 99])
def test_given_too_few_rows_when_generated_then_refused(rows: int) -> None:
    with pytest.raises(SampleDataError, match="at least 100"):
        generate_sample(rows)


def test_given_unknown_problem_type_when_generated_then_refused() -> None:
    with pytest.raises(SampleDataError, match="multiclass"):
        generate_sample(100, "multiclass")  # type: ignore[arg-type]
