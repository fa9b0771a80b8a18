from __future__ import annotations

import math

import pandas as pd
import pytest
from zenml_integrations.great_expectations.suite import ExpectationOutcome


def test_given_a_count_without_percent_when_summarised_then_no_format_error() -> None:
    outcome = ExpectationOutcome(
        type="expect_column_distinct_values_to_be_in_set",
        arguments={"column": "churned", "value_set": ["yes", "no"]},
        success=False,
        unexpected_count=1,
        unexpected_values=["maybe"],
    )

    assert outcome.summary() == (
        "expect_column_distinct_values_to_be_in_set on 'churned': 1 unexpected, e.g. 'maybe'"
    )


@pytest.mark.parametrize(
    ("values", "value_set", "mismatch"),
    [
        (["yes", "no"], [0, 1], "the column holds string values while value_set holds number"),
        ([True], [0, 1], "the column holds bool values while value_set holds number"),
        ([2], [0, 1], None),
        (["maybe"], ["yes", "no"], None),
    ],
)
def test_given_unexpected_values_when_summarised_then_type_mismatch_named_only_when_real(
    values: list[object], value_set: list[object], mismatch: str | None
) -> None:
    summary = ExpectationOutcome(
        type="expect_column_values_to_be_in_set",
        arguments={"column": "target", "value_set": value_set},
        success=False,
        unexpected_count=len(values),
        unexpected_percent=10.0,
        unexpected_values=values,
    ).summary()

    assert (mismatch in summary) if mismatch else ("value_set holds" not in summary)


def test_given_many_repeated_and_missing_unexpected_values_when_summarised_then_few_distinct() -> (
    None
):
    summary = ExpectationOutcome(
        type="expect_column_values_to_be_in_set",
        arguments={"column": "grade", "value_set": ["A"]},
        success=False,
        unexpected_count=9,
        unexpected_percent=90.0,
        unexpected_values=["B", "B", None, math.nan, pd.NA, "C", "D", "E", "F", "G"],
    ).summary()

    assert summary.endswith("9 unexpected (90.00%), e.g. 'B', 'C', 'D', 'E', 'F', ...")
