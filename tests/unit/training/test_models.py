from __future__ import annotations

import pytest
from pydantic import ValidationError
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from zenml_integrations.training.errors import ModelSpecError
from zenml_integrations.training.models import ModelSpec, build_estimator, estimator_name

EXPECTED = [
    ("binary_classification", "linear", LogisticRegression),
    ("regression", "linear", Ridge),
    ("binary_classification", "random_forest", RandomForestClassifier),
    ("regression", "random_forest", RandomForestRegressor),
    ("binary_classification", "gradient_boosting", GradientBoostingClassifier),
    ("regression", "gradient_boosting", GradientBoostingRegressor),
]


@pytest.mark.parametrize(("problem_type", "family", "expected_class"), EXPECTED)
def test_given_family_and_problem_when_built_then_expected_estimator_class(
    problem_type: str, family: str, expected_class: type
) -> None:
    spec = ModelSpec(family=family)  # type: ignore[arg-type]

    pipeline = build_estimator(spec, problem_type)  # type: ignore[arg-type]

    assert isinstance(pipeline, Pipeline)
    final = pipeline.steps[-1][1]
    assert type(final) is expected_class
    assert estimator_name(spec, problem_type) == expected_class.__name__  # type: ignore[arg-type]


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_given_linear_family_when_built_then_scaler_precedes_model(problem_type: str) -> None:
    pipeline = build_estimator(ModelSpec(family="linear"), problem_type)  # type: ignore[arg-type]

    assert [name for name, _ in pipeline.steps] == ["impute", "scale", "model"]
    assert isinstance(pipeline.steps[1][1], StandardScaler)


def test_given_tree_family_when_built_then_missing_values_imputed_but_not_scaled() -> None:
    pipeline = build_estimator(ModelSpec(family="random_forest"), "regression")

    assert [name for name, _ in pipeline.steps] == ["impute", "model"]


def test_given_categorical_features_when_built_then_one_column_transformer_prepares_them() -> None:
    kinds = {"amount": "numeric", "grade": "categorical", "opened": "datetime"}

    pipeline = build_estimator(ModelSpec(family="linear"), "regression", kinds)  # type: ignore[arg-type]

    assert [name for name, _ in pipeline.steps] == ["prepare", "model"]
    groups = {name: columns for name, _, columns in pipeline.steps[0][1].transformers}
    assert groups == {"numeric": ["amount", "opened"], "categorical": ["grade"]}


def test_given_unknown_family_when_spec_created_then_validation_error() -> None:
    with pytest.raises(ValidationError, match="family"):
        ModelSpec(family="xgboost")  # type: ignore[arg-type]


def test_given_unknown_hyper_parameter_when_built_then_error_names_it() -> None:
    spec = ModelSpec(family="random_forest", params={"n_estimatorz": 5})

    with pytest.raises(ModelSpecError, match="n_estimatorz") as raised:
        build_estimator(spec, "binary_classification")
    assert "RandomForestClassifier" in str(raised.value)


def test_given_params_when_built_then_they_override_defaults_and_keep_others() -> None:
    spec = ModelSpec(family="random_forest", params={"n_estimators": 7, "max_depth": None})

    model = build_estimator(spec, "regression").named_steps["model"]

    assert model.n_estimators == 7
    assert model.max_depth is None
    assert model.min_samples_leaf == 5  # family default still applied


def test_given_no_params_when_built_then_family_defaults_apply() -> None:
    model = build_estimator(ModelSpec(family="gradient_boosting"), "binary_classification")

    params = model.named_steps["model"].get_params()
    assert (params["n_estimators"], params["max_depth"], params["learning_rate"]) == (150, 3, 0.1)


def test_given_random_state_when_built_then_estimator_uses_it() -> None:
    spec = ModelSpec(family="linear", random_state=123)

    model = build_estimator(spec, "binary_classification").named_steps["model"]

    assert model.random_state == 123
    assert model.max_iter == 1000


def test_given_random_state_in_params_when_built_then_params_win() -> None:
    spec = ModelSpec(family="gradient_boosting", params={"random_state": 9}, random_state=1)

    model = build_estimator(spec, "regression").named_steps["model"]

    assert model.random_state == 9
