from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from zenml_integrations.great_expectations.errors import (
    DataQualityError,
    DataQualityGateFailed,
    DataQualitySuiteError,
)
from zenml_integrations.great_expectations.gate import enforce, render_html, validate_frame
from zenml_integrations.great_expectations.suite import (
    DataQualityResult,
    DataQualitySuite,
    ExpectationOutcome,
    ExpectationSpec,
)


def clean_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [21.0, 35.0, 48.0, 62.0, 30.0],
            "monthly_charges": [20.0, 45.5, 80.0, 99.9, 55.0],
            "plan": ["a", "b", "a", "c", "b"],
        }
    )


def suite(*expectations: tuple[str, dict[str, object]], name: str = "training_data"):
    return DataQualitySuite(
        name=name,
        expectations=[ExpectationSpec(type=kind, kwargs=kwargs) for kind, kwargs in expectations],
    )


@pytest.fixture(scope="module")
def gx_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GX_ANALYTICS_ENABLED", "false")
        yield


@pytest.fixture(scope="module")
def passing_result(gx_environment: None) -> DataQualityResult:
    return validate_frame(
        clean_frame(),
        suite(
            ("expect_column_values_to_not_be_null", {"column": "age"}),
            ("expect_column_values_to_be_between", {"column": "age", "min_value": 18}),
            ("expect_table_row_count_to_be_between", {"min_value": 1, "max_value": 100}),
        ),
    )


@pytest.fixture(scope="module")
def failing_result(gx_environment: None) -> DataQualityResult:
    frame = clean_frame()
    frame.loc[[1, 3], "monthly_charges"] = np.nan
    return validate_frame(
        frame,
        suite(
            ("expect_column_values_to_not_be_null", {"column": "monthly_charges"}),
            (
                "expect_column_values_to_be_between",
                {"column": "age", "min_value": 18, "max_value": 40},
            ),
            ("expect_column_values_to_not_be_null", {"column": "plan"}),
            name="<gate & co>",
        ),
    )


def test_given_clean_frame_when_validated_then_suite_passes(
    passing_result: DataQualityResult,
) -> None:
    assert passing_result.success
    assert passing_result.row_count == 5
    assert passing_result.failed_count == 0
    assert [outcome.type for outcome in passing_result.outcomes] == [
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_table_row_count_to_be_between",
    ]
    assert all(outcome.success for outcome in passing_result.outcomes)
    assert all("batch_id" not in outcome.arguments for outcome in passing_result.outcomes)
    enforce(passing_result)  # must not raise


def test_given_nulls_and_out_of_range_values_when_validated_then_failures_name_columns(
    failing_result: DataQualityResult,
) -> None:
    assert not failing_result.success
    assert failing_result.failed_count == 2
    nulls, between, plan = failing_result.outcomes
    assert not nulls.success
    assert nulls.unexpected_count == 2
    assert "'monthly_charges'" in nulls.summary()
    assert "2 unexpected" in nulls.summary()
    assert not between.success
    assert between.unexpected_count == 2  # ages 48 and 62
    assert "'age'" in between.summary()
    assert plan.success


def test_given_failed_result_when_enforced_then_gate_failure_names_expectations(
    failing_result: DataQualityResult,
) -> None:
    with pytest.raises(DataQualityGateFailed, match="failed 2/3 expectations") as raised:
        enforce(failing_result)
    message = str(raised.value)
    assert "expect_column_values_to_not_be_null on 'monthly_charges'" in message
    assert "expect_column_values_to_be_between on 'age'" in message
    assert "'plan'" not in message
    assert raised.value.result is failing_result
    assert isinstance(raised.value, DataQualityError)
    assert not isinstance(raised.value, RuntimeError)


def test_given_results_when_rendered_then_html_shows_verdict_and_is_escaped(
    passing_result: DataQualityResult, failing_result: DataQualityResult
) -> None:
    passed_html = render_html(passing_result)
    failed_html = render_html(failing_result)

    assert "PASSED" in passed_html
    assert "FAILED" not in passed_html
    assert "FAILED" in failed_html
    assert "2 of 3 expectations failed" in failed_html
    assert "&lt;gate &amp; co&gt;" in failed_html
    assert "<gate & co>" not in failed_html
    assert "&#x27;monthly_charges&#x27;" in failed_html


def test_given_unknown_expectation_when_validated_then_suite_error(gx_environment: None) -> None:
    with pytest.raises(DataQualitySuiteError, match="expect_nonsense") as raised:
        validate_frame(
            clean_frame(),
            suite(
                ("expect_column_values_to_not_be_null", {"column": "age"}),
                ("expect_nonsense", {"column": "age"}),
            ),
        )
    assert "expectations[1]" in str(raised.value)
    assert isinstance(raised.value, DataQualityError)


def test_given_bad_kwargs_when_validated_then_suite_error(gx_environment: None) -> None:
    with pytest.raises(DataQualitySuiteError, match="invalid arguments") as raised:
        validate_frame(
            clean_frame(),
            suite(("expect_column_values_to_not_be_null", {"colum": "age"})),
        )
    assert "expectations[0]" in str(raised.value)


def test_given_type_without_expect_prefix_when_spec_created_then_validation_error() -> None:
    with pytest.raises(ValidationError, match="expect_"):
        ExpectationSpec(type="column_values_to_not_be_null")


def test_given_no_expectations_when_suite_created_then_validation_error() -> None:
    with pytest.raises(ValidationError, match="expectations"):
        DataQualitySuite(name="empty", expectations=[])


def test_given_outcome_without_column_when_summarised_then_only_type_and_observation() -> None:
    outcome = ExpectationOutcome(
        type="expect_table_row_count_to_be_between",
        arguments={"min_value": 10},
        success=False,
        observed_value=3,
    )

    assert outcome.summary() == "expect_table_row_count_to_be_between: observed 3"


def loans_frame(rows: int = 400) -> pd.DataFrame:
    """A users' table: string ids and target, a category, a bool, missing values."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "loan_id": [f"L-{1000 + index}" for index in range(rows)],
            "grade": pd.Categorical(
                rng.choice(["A", "B", "C", "E"], rows, p=[0.4, 0.4, 0.19, 0.01])
            ),
            "state": pd.array(rng.choice(["CA", "NY", "TX"], rows), dtype="string"),
            "has_cosigner": rng.random(rows) < 0.3,
            "amount": rng.lognormal(9, 0.5, rows),
            "defaulted": rng.choice(["yes", "no"], rows).astype(object),
        }
    )
    frame.loc[rng.random(rows) < 0.05, "amount"] = np.nan
    frame.loc[rng.random(rows) < 0.05, "state"] = pd.NA
    return frame


@pytest.fixture(scope="module")
def loans_result(gx_environment: None) -> DataQualityResult:
    return validate_frame(
        loans_frame(),
        suite(
            ("expect_column_values_to_not_be_null", {"column": "defaulted"}),
            # The template's binary-target default, met by a yes/no target.
            ("expect_column_distinct_values_to_be_in_set",
             {"column": "defaulted", "value_set": [0, 1]}),
            ("expect_column_distinct_values_to_be_in_set",
             {"column": "grade", "value_set": ["A", "B", "C", "D", "E"]}),
            ("expect_column_values_to_be_in_set",
             {"column": "has_cosigner", "value_set": [True, False]}),
            ("expect_column_values_to_not_be_null", {"column": "state"}),
            ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0}),
            ("expect_column_values_to_be_between",
             {"column": "state", "min_value": 0, "max_value": 1}),
            ("expect_column_values_to_be_unique", {"column": "loan_id"}),
        ),
    )  # fmt: skip


def test_given_string_target_checked_against_0_1_when_validated_then_one_line_says_why(
    loans_result: DataQualityResult,
) -> None:
    """This used to crash with 'unsupported format string passed to NoneType.__format__'."""
    target = loans_result.outcomes[1]

    assert not target.success
    assert target.summary() == (
        "expect_column_distinct_values_to_be_in_set on 'defaulted': 2 unexpected, "
        "e.g. 'no', 'yes', the column holds string values while value_set holds number ([0, 1])"
    )
    assert "the column holds string values" in render_html(loans_result)


def test_given_categories_bools_strings_and_nans_when_validated_then_each_judged(
    loans_result: DataQualityResult,
) -> None:
    outcomes = loans_result.outcomes

    assert [outcome.success for outcome in outcomes] == [
        True, False, True, True, False, True, False, True
    ]  # fmt: skip
    assert outcomes[4].unexpected_count == int(loans_frame()["state"].isna().sum()) > 0
    assert outcomes[4].summary().startswith("expect_column_values_to_not_be_null on 'state': ")
    assert loans_result.row_count == 400


def test_given_a_range_on_a_string_column_when_validated_then_gx_error_is_the_reason(
    loans_result: DataQualityResult,
) -> None:
    state_range = loans_result.outcomes[6]

    assert state_range.error is not None
    assert "same type" in state_range.error
    assert state_range.summary().startswith(
        "expect_column_values_to_be_between on 'state': could not be evaluated: "
    )


def test_given_failures_on_a_users_table_when_enforced_then_one_message_names_the_fix(
    loans_result: DataQualityResult,
) -> None:
    with pytest.raises(DataQualityGateFailed) as raised:
        enforce(loans_result, suite_location="parameters.data_quality in configs/training.yaml")

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("data quality gate 'training_data' failed 3/8 expectations: ")
    assert message.endswith(
        "Fix the data, or the expectation in the suite "
        "(parameters.data_quality in configs/training.yaml)"
    )
