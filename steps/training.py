"""Train and evaluate the configured scikit-learn model, tracked in MLflow."""

from __future__ import annotations

from typing import Annotated

import mlflow
import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step
from zenml_integrations.training.dataset import DatasetSchema, feature_kinds, target_values
from zenml_integrations.training.metrics import evaluate
from zenml_integrations.training.models import ModelSpec, build_estimator, estimator_name
from zenml_integrations.training.preprocessing import model_frame


@step(experiment_tracker=True)
def train_model(
    train_data: pd.DataFrame,
    feature_columns: list[str],
    dataset: DatasetSchema,
    model: ModelSpec,
) -> Annotated[Pipeline, "sklearn_model"]:
    """Fit the model family the configuration names, with the preprocessing its features need."""
    kinds = feature_kinds(train_data, feature_columns, dataset)
    estimator = build_estimator(model, dataset.problem_type, kinds)
    mlflow.log_params(
        {
            "estimator": estimator_name(model, dataset.problem_type),
            "family": model.family,
            "n_features": len(feature_columns),
            "n_train_rows": len(train_data),
            **{f"model.{key}": value for key, value in estimator.steps[-1][1].get_params().items()},
        }
    )
    return estimator.fit(model_frame(train_data, kinds), target_values(train_data, dataset))


@step(experiment_tracker=True)
def evaluate_model(
    sklearn_model: Pipeline,
    test_data: pd.DataFrame,
    feature_columns: list[str],
    dataset: DatasetSchema,
) -> Annotated[dict[str, float], "metrics"]:
    """Score the model on the held-out, most recent rows."""
    kinds = feature_kinds(test_data, feature_columns, dataset)
    metrics = evaluate(
        sklearn_model,
        model_frame(test_data, kinds),
        target_values(test_data, dataset),
        dataset.problem_type,
    )
    mlflow.log_metrics(metrics)
    log_metadata({"metrics": metrics})
    return metrics
