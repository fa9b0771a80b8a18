"""A monitoring run's outcome: drift series exported, and whether drift lasted long enough."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.monitoring.exporter import drift_metrics, export_metrics
from zenml_integrations.monitoring.retraining import drift_persists, earlier_verdicts
from zenml_integrations.monitoring.traffic import ServedWindow


class MetricsExport(BaseModel):
    """Where the drift series go so Prometheus can read them after the run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    textfile: str | None = Field(
        default="monitoring/metrics/drift.prom",
        description="Prometheus text file (node_exporter textfile collector); relative to cwd.",
    )
    pushgateway_url_env: str = Field(
        default="PROMETHEUS_PUSHGATEWAY_URL",
        description="Environment variable holding a Pushgateway URL; unset: no push.",
    )


class MonitoringOutcome(BaseModel):
    """What a monitoring run found and decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    version: str
    drift_passed: bool
    reason: str
    drifted_columns: list[str]
    retrain: bool = Field(description="Drift lasted for the configured number of runs.")
    metrics_exported_to: list[str]


def publish_drift_outcome(
    verdict: DriftVerdict, served: ServedWindow, export: MetricsExport, retrain_after_runs: int
) -> MonitoringOutcome:
    """Export the drift series and decide whether drift has persisted long enough to retrain.

    Raises:
        MonitoringConfigError: when ``retrain_after_runs`` is below 1.
    """
    registry = drift_metrics(verdict, served.model_name, served.version, now=time.time())
    destinations = export_metrics(
        registry,
        served.model_name,
        textfile=Path(export.textfile) if export.textfile else None,
        pushgateway_url=os.environ.get(export.pushgateway_url_env),
    )
    history = [verdict.passed, *earlier_verdicts(retrain_after_runs - 1)]
    return MonitoringOutcome(
        model_name=served.model_name,
        version=served.version,
        drift_passed=verdict.passed,
        reason=verdict.reason,
        drifted_columns=[column.column for column in verdict.drifted_columns],
        retrain=drift_persists(history, retrain_after_runs),
        metrics_exported_to=destinations,
    )
