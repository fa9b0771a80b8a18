from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from zenml_integrations.training.models import ModelSpec, build_estimator
from zenml_integrations.training.preprocessing import Preprocessing, is_tabular, model_frame

from tests.helpers.loans import FEATURES, TARGET, UNSEEN_PURPOSE, loans_table

KINDS = {"amount": "numeric", "has_cosigner": "boolean", "grade": "categorical",
         "first_credit_line": "datetime"}  # fmt: skip


def test_given_a_raw_table_when_framed_then_numbers_are_float32_and_categories_strings() -> None:
    raw = pd.DataFrame(
        {
            "amount": [1.5, None, 3.0],
            "has_cosigner": [True, None, False],
            "grade": ["A", None, "B"],
            "first_credit_line": ["1970-01-03", None, "1970-01-01T12:00:00Z"],
        }
    )

    frame = model_frame(raw, KINDS)  # type: ignore[arg-type]

    assert frame["amount"].dtype == np.float32
    assert np.isnan(frame.loc[1, "amount"])
    assert frame["has_cosigner"].tolist()[::2] == [1.0, 0.0]
    assert np.isnan(frame.loc[1, "has_cosigner"])
    assert frame["grade"].tolist() == ["A", "", "B"]
    assert frame["first_credit_line"].tolist()[::2] == [2.0, 0.5]


def test_given_only_numbers_and_bools_when_checked_then_not_tabular() -> None:
    assert not is_tabular({"a": "numeric", "b": "boolean"})
    assert is_tabular({"a": "numeric", "b": "categorical"})


@pytest.mark.parametrize("family", ["linear", "random_forest", "gradient_boosting"])
def test_given_a_loans_table_when_fitted_then_unseen_levels_and_gaps_are_scored(
    family: str,
) -> None:
    table = loans_table(1_500)
    kinds = {name: KINDS.get(name, "categorical" if table[name].dtype == object else "numeric")
             for name in FEATURES}  # fmt: skip
    kinds.update({"term_months": "numeric", "employment_years": "numeric", "income": "numeric"})
    spec = ModelSpec(family=family, preprocessing=Preprocessing(min_category_count=30))  # type: ignore[arg-type]
    model = build_estimator(spec, "binary_classification", kinds)  # type: ignore[arg-type]
    model.fit(model_frame(table, kinds), (table[TARGET] == "yes").astype(int))  # type: ignore[arg-type]
    unseen = table.head(3).assign(purpose=[UNSEEN_PURPOSE, None, "wedding"], amount=None)

    probabilities = model.predict_proba(model_frame(unseen, kinds))  # type: ignore[arg-type]

    assert probabilities.shape == (3, 2)
    assert np.isfinite(probabilities).all()
