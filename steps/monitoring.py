"""Monitoring: served traffic against its training reference, exported to Prometheus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from mlflow import MlflowClient
from zenml import log_metadata, step
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.mlflow.reference import REFERENCE_FILE
from zenml_integrations.mlflow.registry import read_version_parquet, registered_signature
from zenml_integrations.monitoring.outcome import (
    MetricsExport,
    MonitoringOutcome,
    publish_drift_outcome,
)
from zenml_integrations.monitoring.traffic import (
    MonitoringWindow,
    ServedWindow,
    busiest_served_traffic,
    inference_log_dir,
)


@step(experiment_tracker=True, enable_cache=False)
def load_served_traffic(
    model_name: str, window: MonitoringWindow
) -> tuple[
    Annotated[pd.DataFrame, "reference"],
    Annotated[pd.DataFrame, "served_inputs"],
    Annotated[list[str], "feature_columns"],
    Annotated[ServedWindow, "served_window"],
]:
    """The busiest version's served inputs in the window, and that version's training reference.

    Raises:
        NotEnoughTraffic: when too few rows were served to judge drift.
    """
    log_dir = Path(window.log_dir) if window.log_dir else inference_log_dir(model_name)
    served, summary = busiest_served_traffic(model_name, window, log_dir)
    client = MlflowClient()
    features = list(registered_signature(client, model_name, served.version)["feature_names"])
    reference = read_version_parquet(client, model_name, served.version, REFERENCE_FILE)
    log_metadata({"served_window": summary.model_dump()})
    return reference, served.frame(features), features, summary


@step(enable_cache=False)
def publish_drift(
    drift_verdict: DriftVerdict,
    served_window: ServedWindow,
    export: MetricsExport,
    retrain_after_drifted_runs: int = 2,
) -> Annotated[MonitoringOutcome, "monitoring_outcome"]:
    """Export the drift series and decide whether drift has persisted long enough to retrain."""
    outcome = publish_drift_outcome(
        drift_verdict, served_window, export, retrain_after_drifted_runs
    )
    log_metadata({"monitoring_outcome": outcome.model_dump()})
    return outcome
