from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from zenml_integrations.training.dataset import (
    DatasetSchema,
    DataSource,
    check_table,
    load_table,
    split_by_time,
)
from zenml_integrations.training.errors import DatasetError


def make_frame(rows: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype=np.int64),
            "ts": pd.date_range("2025-01-01", periods=rows, freq="h", tz="UTC"),
            "x1": rng.normal(size=rows),
            "x2": rng.integers(0, 10, rows),
            "noise": rng.normal(size=rows),
            "y": np.arange(rows) % 2,
        }
    )


def make_schema(**overrides: object) -> DatasetSchema:
    fields: dict[str, object] = {
        "problem_type": "binary_classification",
        "target_column": "y",
        "entity_column": "id",
        "timestamp_column": "ts",
    }
    fields.update(overrides)
    return DatasetSchema.model_validate(fields)


# DataSource


def test_given_file_kind_without_path_when_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="needs 'path'"):
        DataSource(kind="file")


@pytest.mark.parametrize("path", ["data.json", "data.xlsx", "data"])
def test_given_file_with_unsupported_suffix_when_validated_then_refused(path: str) -> None:
    with pytest.raises(ValidationError, match=r"must end in \.parquet or \.csv"):
        DataSource(kind="file", path=path)


@pytest.mark.parametrize("path", ["data.parquet", "DATA.CSV", "dir/data.csv"])
def test_given_file_with_supported_suffix_when_validated_then_accepted(path: str) -> None:
    assert DataSource(kind="file", path=path).path == path


def test_given_sample_rows_below_minimum_when_validated_then_refused() -> None:
    with pytest.raises(ValidationError, match="sample_rows"):
        DataSource(sample_rows=99)


# load_table


def test_given_parquet_file_when_loaded_then_frame_roundtrips(tmp_path: Path) -> None:
    frame = make_frame()
    path = tmp_path / "table.parquet"
    frame.to_parquet(path)

    loaded = load_table(DataSource(kind="file", path=str(path)), "binary_classification")

    pd.testing.assert_frame_equal(loaded, frame)


def test_given_csv_file_when_loaded_then_values_roundtrip(tmp_path: Path) -> None:
    frame = make_frame().drop(columns="ts")
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)

    loaded = load_table(DataSource(kind="file", path=str(path)), "binary_classification")

    pd.testing.assert_frame_equal(loaded, frame)


def test_given_sample_source_when_loaded_then_sample_has_requested_rows() -> None:
    loaded = load_table(DataSource(sample_rows=200, sample_seed=3), "regression")

    assert len(loaded) == 200
    assert "next_month_spend" in loaded.columns


def test_given_missing_file_when_loaded_then_error_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.parquet"

    with pytest.raises(DatasetError, match="does not exist") as raised:
        load_table(DataSource(kind="file", path=str(path)), "binary_classification")
    assert str(path) in str(raised.value)


def test_given_corrupt_parquet_when_loaded_then_dataset_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet")

    with pytest.raises(DatasetError, match="cannot read data file"):
        load_table(DataSource(kind="file", path=str(path)), "binary_classification")


# check_table


def test_given_default_schema_when_checked_then_features_exclude_roles() -> None:
    features = check_table(make_frame(), make_schema())

    assert features == ["x1", "x2", "noise"]


def test_given_exclude_columns_when_checked_then_they_are_not_features() -> None:
    features = check_table(make_frame(), make_schema(exclude_columns=["noise"]))

    assert features == ["x1", "x2"]


def test_given_explicit_features_when_checked_then_they_are_returned_in_order() -> None:
    features = check_table(make_frame(), make_schema(feature_columns=["x2", "x1"]))

    assert features == ["x2", "x1"]


def test_given_missing_target_when_checked_then_error_names_column_and_lists_columns() -> None:
    frame = make_frame()

    with pytest.raises(DatasetError, match="'churn'") as raised:
        check_table(frame, make_schema(target_column="churn"))
    message = str(raised.value)
    assert "target_column" in message
    assert str(sorted(frame.columns)) in message


def test_given_non_numeric_feature_when_checked_then_error_names_it() -> None:
    frame = make_frame().assign(city=["paris", "rome"] * 10)

    with pytest.raises(DatasetError, match="not numeric") as raised:
        check_table(frame, make_schema())
    assert "city" in str(raised.value)


def test_given_non_numeric_feature_excluded_when_checked_then_accepted() -> None:
    frame = make_frame().assign(city=["paris", "rome"] * 10)

    assert "city" not in check_table(frame, make_schema(exclude_columns=["city"]))


def test_given_absent_explicit_features_when_checked_then_error_names_them() -> None:
    with pytest.raises(DatasetError, match="not in the data") as raised:
        check_table(make_frame(), make_schema(feature_columns=["x1", "ghost"]))
    assert "ghost" in str(raised.value)
    assert "x1" not in str(raised.value)


def test_given_binary_target_with_three_classes_when_checked_then_refused() -> None:
    frame = make_frame().assign(y=np.arange(20) % 3)

    with pytest.raises(DatasetError, match="exactly 2 target classes") as raised:
        check_table(frame, make_schema())
    assert "found 3" in str(raised.value)


def test_given_three_valued_target_for_regression_when_checked_then_accepted() -> None:
    frame = make_frame().assign(y=np.arange(20) % 3)

    assert check_table(frame, make_schema(problem_type="regression")) == ["x1", "x2", "noise"]


def test_given_nan_target_when_checked_then_error_counts_missing_values() -> None:
    frame = make_frame().astype({"y": float})
    frame.loc[[3, 7], "y"] = np.nan

    with pytest.raises(DatasetError, match="has 2 missing values"):
        check_table(frame, make_schema(problem_type="regression"))


def test_given_empty_frame_when_checked_then_refused() -> None:
    with pytest.raises(DatasetError, match="no rows"):
        check_table(make_frame().iloc[0:0], make_schema())


def test_given_only_role_columns_when_checked_then_refused() -> None:
    frame = make_frame()[["id", "ts", "y"]]

    with pytest.raises(DatasetError, match="no feature columns"):
        check_table(frame, make_schema())


# split_by_time


def test_given_shuffled_frame_when_split_then_test_rows_are_newest() -> None:
    frame = make_frame(100).sample(frac=1.0, random_state=1)

    train, test = split_by_time(frame, make_schema(), 0.25)

    assert train["ts"].max() <= test["ts"].min()
    assert (len(train), len(test)) == (75, 25)
    assert set(train["id"]) | set(test["id"]) == set(frame["id"])
    assert train.index.tolist() == list(range(75))


def test_given_equal_timestamps_when_split_then_order_is_by_entity_and_complete() -> None:
    frame = make_frame(10).assign(ts=pd.Timestamp("2025-01-01", tz="UTC"))
    frame = frame.iloc[::-1]

    train, test = split_by_time(frame, make_schema(), 0.3)

    assert train["id"].tolist() == list(range(7))
    assert test["id"].tolist() == [7, 8, 9]


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_given_invalid_fraction_when_split_then_refused(fraction: float) -> None:
    with pytest.raises(DatasetError, match="between 0 and 1"):
        split_by_time(make_frame(), make_schema(), fraction)


def test_given_too_few_rows_for_fraction_when_split_then_refused() -> None:
    with pytest.raises(DatasetError, match="too few"):
        split_by_time(make_frame(3), make_schema(), 0.1)


def test_given_target_listed_as_feature_when_checked_then_refused() -> None:
    frame = pd.DataFrame(
        {"id": [1, 2], "ts": pd.date_range("2025", periods=2), "x": [1.0, 2.0], "y": [0, 1]}
    )
    schema = DatasetSchema(
        problem_type="binary_classification",
        target_column="y",
        entity_column="id",
        timestamp_column="ts",
        feature_columns=["x", "y"],
    )
    with pytest.raises(DatasetError, match=r"feature_columns \['y'\]"):
        check_table(frame, schema)
