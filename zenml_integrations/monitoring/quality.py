"""Model quality in production: Evidently's metrics on labelled predictions, per version.

Each version's metrics on the outcomes that arrived are compared with the
``metric.<name>`` tags its registry entry got at training time; a version
that is worse by more than the configured drop, on enough labels, asks for
retraining. Business KPIs are the user's functions, named by import path.
"""

from __future__ import annotations

import html
import importlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator
from zenml_integrations.monitoring.errors import MonitoringConfigError, NotEnoughTraffic
from zenml_integrations.monitoring.outcomes import (
    LabelledPredictions,
    OutcomesError,
    OutcomesSource,
    join_outcomes,
    read_outcomes,
    read_predictions,
)
from zenml_integrations.monitoring.retraining import metric_drop, quality_dropped
from zenml_integrations.training.metrics import HIGHER_IS_BETTER, METRICS_BY_PROBLEM

if TYPE_CHECKING:
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)

Kpi = Callable[[pd.DataFrame], float]

# Evidently 0.7 metric types -> the names the training pipeline registers (plus two it does not).
EVIDENTLY_NAMES = {
    "RocAuc": "roc_auc", "Accuracy": "accuracy", "F1Score": "f1", "LogLoss": "log_loss",
    "Precision": "precision", "Recall": "recall", "RMSE": "rmse", "MAE": "mae", "R2Score": "r2",
}  # fmt: skip
METRIC_TAG_PREFIX = "metric."


class QualityWindow(BaseModel):
    """Which predictions a quality run scores, and when an outcome is too late to count."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: float = Field(default=168.0, gt=0, description="Predictions of this many hours back.")
    max_label_delay_hours: float = Field(
        default=72.0, gt=0, description="An outcome later than this after its prediction is late."
    )
    min_labels: int = Field(
        default=200, ge=1, description="Fewer matched outcomes: reported, never a retrain."
    )
    log_dir: str | None = Field(
        default=None, description="Inference log folder; default: the deployer's server for it."
    )


class RetrainPolicy(BaseModel):
    """How much worse than at training time a version may get before retraining."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = "roc_auc"
    max_drop: float = Field(default=0.05, ge=0, description="In the metric's own units.")

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, metric: str) -> str:
        if metric not in HIGHER_IS_BETTER:
            raise ValueError(f"retrain metric {metric!r} is not one of {sorted(HIGHER_IS_BETTER)}")
        return metric


class VersionQuality(BaseModel):
    """One version's production metrics beside its training metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    labels: int = Field(description="Matched outcomes the metrics are computed on.")
    metrics: dict[str, float]
    training_metrics: dict[str, float]
    drops: dict[str, float] = Field(description="Worse than at training by (< 0: better).")
    kpis: dict[str, float]
    below_threshold: bool = Field(description="The retrain metric dropped by more than allowed.")
    unscored: str | None = Field(default=None, description="Why no metric could be computed.")


class QualityAssessment(BaseModel):
    """A quality run's verdict on every version that served in the window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    problem_type: str
    retrain_metric: str
    max_drop: float
    min_labels: int
    versions: list[VersionQuality]

    @property
    def retrain(self) -> bool:
        """Whether any version's quality fell past the configured drop."""
        return any(version.below_threshold for version in self.versions)


def labelled_window(
    model_name: str,
    outcomes: OutcomesSource,
    window: QualityWindow,
    log_dir: Path,
    now: float | None = None,
) -> LabelledPredictions:
    """The window's logged predictions joined with the outcomes file, with every count.

    Raises:
        NotEnoughTraffic: when no prediction of the model was logged in the window.
        OutcomesError: when the outcomes file is missing or lacks a configured column.
    """
    until = time.time() if now is None else now
    since = until - window.hours * 3600
    delay = window.max_label_delay_hours * 3600
    # One delay further back: an outcome of an older prediction is an earlier window's, not unknown.
    predictions = read_predictions(log_dir, model_name, since - delay, until)
    if not (predictions["timestamp"] >= since).any():
        raise NotEnoughTraffic(
            f"no prediction of {model_name} was logged in the last {window.hours:g} h "
            f"(inference logs: {log_dir}); serve traffic first, or widen "
            "quality.parameters.window.hours in configs/monitoring.yaml"
        )
    return join_outcomes(
        predictions, read_outcomes(outcomes), window_start=since, window_end=until,
        max_label_delay_seconds=delay,
    )  # fmt: skip


def registered_metrics(client: MlflowClient, model_name: str, version: str) -> dict[str, float]:
    """The metrics a version was registered with (its ``metric.<name>`` tags).

    A served version the registry does not know (a model file served by hand)
    has none: it is scored, but not compared and never a reason to retrain.
    """
    from mlflow.exceptions import MlflowException

    try:
        tags = client.get_model_version(model_name, version).tags
    except MlflowException as error:
        logger.warning("%s v%s is not in the registry, so not compared: %s", model_name, version,
                       str(error).splitlines()[0])  # fmt: skip
        return {}
    return {
        name.removeprefix(METRIC_TAG_PREFIX): float(value)
        for name, value in tags.items()
        if name.startswith(METRIC_TAG_PREFIX)
    }


def problem_type_of(training_metrics: dict[str, dict[str, float]]) -> str:
    """The task, told by the metric names the versions were registered with.

    Raises:
        MonitoringConfigError: when no version carries the training pipeline's metrics.
    """
    for problem_type, names in METRICS_BY_PROBLEM.items():
        if any(set(names) <= set(metrics) for metrics in training_metrics.values()):
            return problem_type
    raise MonitoringConfigError(
        f"the versions {sorted(training_metrics)} carry no training metrics of a known task "
        f"({dict(METRICS_BY_PROBLEM)}): they were not registered by the training pipeline"
    )


def load_kpis(paths: dict[str, str]) -> dict[str, Kpi]:
    """Each KPI's function, from ``module:function``.

    Raises:
        MonitoringConfigError: naming the KPI whose path does not import or is not callable.
    """
    kpis: dict[str, Kpi] = {}
    for name, path in paths.items():
        module_name, _, attribute = path.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError, ValueError) as error:
            raise MonitoringConfigError(
                f"KPI {name!r}: cannot import {path!r} ({error}); write 'package.module:function' "
                "in quality.parameters.kpis of configs/monitoring.yaml"
            ) from None
        if not callable(function):
            raise MonitoringConfigError(f"KPI {name!r}: {path!r} is not a function")
        kpis[name] = function
    return kpis


def assess_quality(
    labelled: LabelledPredictions,
    model_name: str,
    training_metrics: dict[str, dict[str, float]],
    policy: RetrainPolicy,
    min_labels: int,
    kpis: dict[str, Kpi],
    positive_label: str | int | bool | None = None,
) -> tuple[QualityAssessment, str]:
    """Score every version that served, compare it with training; the verdict and an HTML report.

    A version with fewer than ``min_labels`` matched outcomes is reported
    with what it has but never asks for retraining.
    """
    problem_type = problem_type_of(training_metrics)
    if policy.metric not in METRICS_BY_PROBLEM[problem_type]:
        raise MonitoringConfigError(
            f"retrain metric {policy.metric!r} is not registered for {problem_type} models "
            f"(they carry {list(METRICS_BY_PROBLEM[problem_type])}): set "
            "quality.parameters.retrain.metric in configs/monitoring.yaml"
        )
    versions, sections = [], []
    for version, counts in sorted(labelled.counts.versions.items(), key=_version_order):
        rows = labelled.frame[labelled.frame["version"] == version].reset_index(drop=True)
        rows["target"] = _targets(rows["label"], problem_type, positive_label)
        unscored = _unscorable(rows["target"], problem_type)
        metrics, report = ({}, "") if unscored else _evidently_metrics(rows, problem_type)
        trained = training_metrics.get(version, {})
        drops = {
            name: metric_drop(name, value, trained[name])
            for name, value in metrics.items()
            if name in trained and name in HIGHER_IS_BETTER
        }
        versions.append(
            VersionQuality(
                version=version,
                labels=len(rows),
                metrics=metrics,
                training_metrics=trained,
                drops=drops,
                kpis={name: float(kpi(rows)) for name, kpi in kpis.items()} if len(rows) else {},
                unscored=unscored,
                below_threshold=quality_dropped(
                    drops.get(policy.metric), policy.max_drop, len(rows), min_labels
                ),
            )
        )
        sections.append(_section(versions[-1], counts.model_dump(), policy, report))
    assessment = QualityAssessment(
        model_name=model_name, problem_type=problem_type, retrain_metric=policy.metric,
        max_drop=policy.max_drop, min_labels=min_labels, versions=versions,
    )  # fmt: skip
    return assessment, _page(assessment, labelled, sections)


def _targets(
    labels: pd.Series, problem_type: str, positive_label: str | int | bool | None
) -> pd.Series:
    """True values as the model's classes (0/1) or numbers."""
    if problem_type != "binary_classification":
        numbers = pd.to_numeric(labels, errors="coerce")
        if numbers.isna().any():
            odd = sorted({str(value) for value in labels[numbers.isna()]})
            raise OutcomesError(f"outcome labels {odd[:5]} are not numbers: a regressor's "
                                "outcomes are the true values")  # fmt: skip
        return numbers.astype(np.float64)
    if positive_label is not None:
        return (labels.astype(str) == str(positive_label)).astype(np.int64)
    labels = pd.to_numeric(labels, errors="coerce").fillna(labels)  # "1" in a text column is 1
    odd = sorted({str(value) for value in labels if value not in (0, 1)})
    if odd:
        raise OutcomesError(
            f"outcome labels {odd[:5]} are not 0/1: set quality.parameters.outcomes."
            "positive_label in configs/monitoring.yaml to the value that means class 1"
        )
    return labels.astype(np.int64)


def _unscorable(targets: pd.Series, problem_type: str) -> str | None:
    """Why the task's metrics are undefined on these labels (ROC AUC needs both classes)."""
    if targets.empty:
        return "no matched labels"
    if problem_type == "binary_classification" and targets.nunique() < 2:
        return f"all {len(targets)} labels are class {targets.iloc[0]}: the metrics need both"
    if len(targets) < 2:
        return "one label: the metrics need two"
    return None


def _evidently_metrics(rows: pd.DataFrame, problem_type: str) -> tuple[dict[str, float], str]:
    """Evidently's classification or regression preset on one version's rows."""
    from evidently import BinaryClassification, DataDefinition, Dataset, Regression, Report
    from evidently.presets import ClassificationPreset, RegressionPreset

    if problem_type == "binary_classification":
        frame = rows.assign(prediction=rows["prediction"].astype(np.int64))
        task = BinaryClassification(
            target="target", prediction_labels="prediction", prediction_probas="score", pos_label=1
        )
        definition = DataDefinition(classification=[task])
        preset: Any = ClassificationPreset()
    else:
        frame = rows.assign(prediction=rows["prediction"].astype(np.float64))
        definition = DataDefinition(
            regression=[Regression(target="target", prediction="prediction")]
        )
        preset = RegressionPreset()
    columns = frame[["target", "prediction", "score"]].dropna(axis=1, how="all")
    snapshot = Report([preset]).run(Dataset.from_pandas(columns, data_definition=definition), None)
    metrics: dict[str, float] = {}
    for result in snapshot.dict()["metrics"]:
        name = EVIDENTLY_NAMES.get(result["config"]["type"].rpartition(":")[2])
        value = result["value"]
        value = value.get("mean") if isinstance(value, dict) else value
        if name is not None and name not in metrics and isinstance(value, int | float):
            metrics[name] = float(value)
    return metrics, str(snapshot.get_html_str(as_iframe=True))


def _version_order(item: tuple[str, Any]) -> tuple[int, str]:
    version = item[0]
    return (int(version), "") if version.isdigit() else (1 << 62, version)


def _section(
    quality: VersionQuality, counts: dict[str, int], policy: RetrainPolicy, report: str
) -> str:
    facts = ", ".join(f"{state} {count}" for state, count in counts.items())
    trained = quality.training_metrics.get(policy.metric)
    now = quality.metrics.get(policy.metric)
    comparison = (
        f"{policy.metric}: {now:.4f} in production, {trained:.4f} at training"
        if now is not None and trained is not None
        else f"{policy.metric}: not comparable ({quality.unscored or 'no training value'})"
    )
    verdict = "RETRAIN: dropped past the threshold" if quality.below_threshold else "within bounds"
    return (
        f"<h2>version {html.escape(quality.version)}</h2><p>labels: {facts}</p>"
        f"<p>{html.escape(comparison)}; {verdict}</p>{report}"
    )


def _page(assessment: QualityAssessment, labelled: LabelledPredictions, sections: list[str]) -> str:
    counts = labelled.counts
    header = (
        f"<h1>Model quality of {html.escape(assessment.model_name)}</h1>"
        f"<p>{counts.outcomes} outcome rows: {counts.unknown_id} with an unknown id, "
        f"{counts.before_window} from before the window; retrain when "
        f"{assessment.retrain_metric} drops by more than {assessment.max_drop:g} on at least "
        f"{assessment.min_labels} labels</p>"
    )
    return f"<html><body>{header}{''.join(sections)}</body></html>"
