from __future__ import annotations

import pandas as pd
from zenml_integrations.training.metrics import HIGHER_IS_BETTER, METRICS_BY_PROBLEM, evaluate
from zenml_integrations.training.models import ModelSpec, build_estimator
from zenml_integrations.training.sample_data import (
    SAMPLE_ENTITY_COLUMN,
    SAMPLE_TARGETS,
    SAMPLE_TIMESTAMP_COLUMN,
    generate_sample,
)


def fit_and_evaluate(problem_type: str) -> dict[str, float]:
    frame = generate_sample(2_000, problem_type)  # type: ignore[arg-type]
    target = SAMPLE_TARGETS[problem_type]
    features = frame.drop(columns=[target, SAMPLE_ENTITY_COLUMN, SAMPLE_TIMESTAMP_COLUMN])
    train, test = slice(0, 1_500), slice(1_500, None)
    model = build_estimator(ModelSpec(family="linear"), problem_type)  # type: ignore[arg-type]
    model.fit(features.iloc[train], frame[target].iloc[train])
    return evaluate(
        model,
        features.iloc[test],
        frame[target].iloc[test],
        problem_type,  # type: ignore[arg-type]
    )


def test_given_every_metric_when_listed_then_direction_is_known() -> None:
    for names in METRICS_BY_PROBLEM.values():
        assert set(names) <= set(HIGHER_IS_BETTER)


def test_given_fitted_classifier_when_evaluated_then_metrics_are_in_range() -> None:
    scores = fit_and_evaluate("binary_classification")

    assert tuple(scores) == METRICS_BY_PROBLEM["binary_classification"]
    assert all(isinstance(value, float) for value in scores.values())
    assert 0.6 < scores["roc_auc"] <= 1.0
    assert 0.5 < scores["accuracy"] <= 1.0
    assert 0.0 <= scores["f1"] <= 1.0
    assert 0.0 < scores["log_loss"] < 0.69  # better than a coin flip


def test_given_fitted_regressor_when_evaluated_then_metrics_are_in_range() -> None:
    scores = fit_and_evaluate("regression")

    assert tuple(scores) == METRICS_BY_PROBLEM["regression"]
    assert 0.0 < scores["mae"] <= scores["rmse"]
    assert 0.3 < scores["r2"] <= 1.0


def test_given_perfect_predictions_when_evaluated_then_regression_error_is_zero() -> None:
    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import Pipeline

    features = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    target = pd.Series([5.0, 5.0, 5.0])
    model = Pipeline([("model", DummyRegressor(strategy="constant", constant=5.0))])
    model.fit(features, target)

    scores = evaluate(model, features, target, "regression")

    assert scores["rmse"] == 0.0
    assert scores["mae"] == 0.0
