"""Evaluation metrics and which direction of each one is better."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from zenml_integrations.training.sample_data import ProblemType

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

HIGHER_IS_BETTER: dict[str, bool] = {
    "roc_auc": True,
    "accuracy": True,
    "f1": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
    "r2": True,
}

METRICS_BY_PROBLEM: dict[str, tuple[str, ...]] = {
    "binary_classification": ("roc_auc", "accuracy", "f1", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}


def evaluate(
    model: Pipeline, features: pd.DataFrame, target: pd.Series, problem_type: ProblemType
) -> dict[str, float]:
    """Score a fitted model on held-out rows."""
    from sklearn import metrics

    if problem_type == "binary_classification":
        probabilities = model.predict_proba(features)[:, 1]
        labels = model.predict(features)
        return {
            "roc_auc": float(metrics.roc_auc_score(target, probabilities)),
            "accuracy": float(metrics.accuracy_score(target, labels)),
            "f1": float(metrics.f1_score(target, labels)),
            "log_loss": float(metrics.log_loss(target, probabilities)),
        }
    predictions = model.predict(features)
    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(target, predictions))),
        "mae": float(metrics.mean_absolute_error(target, predictions)),
        "r2": float(metrics.r2_score(target, predictions)),
    }
