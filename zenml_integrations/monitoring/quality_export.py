"""A quality run's results as ``model_quality_*`` series, and its typed outcome.

Pushed as their own Pushgateway job: a push replaces its whole group, so the
quality job and the drift job must not share one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge
from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.monitoring.exporter import export_metrics
from zenml_integrations.monitoring.outcome import MetricsExport
from zenml_integrations.monitoring.outcomes import LabelCounts
from zenml_integrations.monitoring.quality import QualityAssessment

JOB = "model_quality"
QUALITY_EXPORT = MetricsExport(textfile="monitoring/metrics/quality.prom")


class QualityOutcome(BaseModel):
    """What a quality run found, where its series went, and whether to retrain."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    retrain_metric: str
    metric_by_version: dict[str, float] = Field(description="The retrain metric in production.")
    drop_by_version: dict[str, float]
    labels_by_version: dict[str, int]
    degraded_versions: list[str]
    unknown_id: int
    before_window: int
    retrain: bool = Field(description="A version fell past the configured drop.")
    metrics_exported_to: list[str]


def quality_metrics(
    assessment: QualityAssessment, counts: LabelCounts, now: float
) -> CollectorRegistry:
    """One registry with every version's metrics, drops, KPIs and label counts."""
    registry = CollectorRegistry()
    by_metric = ("model", "version", "metric")

    def gauge(name: str, text: str, labels: tuple[str, ...]) -> Gauge:
        return Gauge(name, text, labels, registry=registry)

    metric = gauge("model_quality_metric", "A metric on the window's labelled predictions.",
                   by_metric)  # fmt: skip
    trained = gauge("model_quality_training_metric", "The metric at training time.", by_metric)
    drop = gauge("model_quality_drop", "Worse than at training by (metric units).", by_metric)
    below = gauge("model_quality_below_threshold",
                  "1 when the retrain metric dropped past the configured drop.",
                  by_metric)  # fmt: skip
    kpi = gauge("model_quality_kpi", "A business KPI on the labelled predictions.",
                ("model", "version", "kpi"))  # fmt: skip
    labels = gauge("model_quality_labels", "Prediction rows and extra outcomes by state.",
                   ("model", "version", "state"))  # fmt: skip
    unmatched = gauge("model_quality_unmatched_labels", "Outcome rows this window cannot score.",
                      ("model", "reason"))  # fmt: skip
    retrain = gauge("model_quality_retrain", "1 when the run asked for retraining.", ("model",))
    last_run = gauge("model_quality_last_run_timestamp_seconds", "When quality was assessed.",
                     ("model",))  # fmt: skip
    model = assessment.model_name
    for version in assessment.versions:
        for name, value in version.metrics.items():
            metric.labels(model, version.version, name).set(value)
        for name, value in version.training_metrics.items():
            trained.labels(model, version.version, name).set(value)
        for name, value in version.drops.items():
            drop.labels(model, version.version, name).set(value)
        below.labels(model, version.version, assessment.retrain_metric).set(
            1 if version.below_threshold else 0
        )
        for name, value in version.kpis.items():
            kpi.labels(model, version.version, name).set(value)
    for version_label, version_counts in counts.versions.items():
        for state in ("matched", "late", "missing", "duplicate"):
            labels.labels(model, version_label, state).set(getattr(version_counts, state))
    unmatched.labels(model, "unknown_id").set(counts.unknown_id)
    unmatched.labels(model, "before_window").set(counts.before_window)
    retrain.labels(model).set(1 if assessment.retrain else 0)
    last_run.labels(model).set(now)
    return registry


def publish_quality_outcome(
    assessment: QualityAssessment, counts: LabelCounts, export: MetricsExport
) -> QualityOutcome:
    """Export the quality series and say whether a version needs retraining."""
    destinations = export_metrics(
        quality_metrics(assessment, counts, now=time.time()),
        assessment.model_name,
        textfile=Path(export.textfile) if export.textfile else None,
        pushgateway_url=os.environ.get(export.pushgateway_url_env),
        job=JOB,
    )
    name = assessment.retrain_metric
    return QualityOutcome(
        model_name=assessment.model_name,
        retrain_metric=name,
        metric_by_version={
            v.version: v.metrics[name] for v in assessment.versions if name in v.metrics
        },
        drop_by_version={v.version: v.drops[name] for v in assessment.versions if name in v.drops},
        labels_by_version={v.version: v.labels for v in assessment.versions},
        degraded_versions=[v.version for v in assessment.versions if v.below_threshold],
        unknown_id=counts.unknown_id,
        before_window=counts.before_window,
        retrain=assessment.retrain,
        metrics_exported_to=destinations,
    )
