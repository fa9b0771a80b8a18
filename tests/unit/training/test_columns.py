from __future__ import annotations

import pandas as pd
import pytest
from zenml_integrations.training.columns import describe_columns, infer_kind

from tests.helpers.loans import loans_table


def test_given_a_loans_table_when_described_then_each_column_has_its_kind() -> None:
    described = describe_columns(loans_table(2_000))

    kinds = {name: spec.kind for name, spec in described.items()}
    assert kinds == {
        "loan_id": "text", "applied_at": "datetime", "amount": "numeric", "income": "numeric",
        "term_months": "numeric", "grade": "categorical", "purpose": "categorical",
        "home_ownership": "categorical", "state": "categorical", "has_cosigner": "boolean",
        "employment_years": "numeric", "first_credit_line": "datetime", "defaulted": "categorical",
    }  # fmt: skip
    assert 0.05 < described["employment_years"].missing < 0.15
    assert described["grade"].distinct == 7


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([True, False, None], "boolean"),
        (pd.array([True, None, False], dtype="boolean"), "boolean"),
        ([1, 2, None], "numeric"),
        (pd.to_datetime(["2025-01-01", None]), "datetime"),
        (["2025-01-01T10:00:00Z", "2025-02-01T00:00:00+01:00"], "datetime"),
        (["1", "2", "x"], "categorical"),
        ([None, None], "categorical"),
    ],
)
def test_given_values_when_inferred_then_kind(values: object, kind: str) -> None:
    assert infer_kind(pd.Series(values)) == kind
