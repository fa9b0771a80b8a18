"""Monitoring: served traffic against its training reference, exported to Prometheus."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, cast

import pandas as pd
from mlflow import MlflowClient
from pydantic import BaseModel, ConfigDict, Field
from zenml import log_metadata, step
from zenml.client import Client
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.mlflow.registry import fetch_version_artifact, registered_signature
from zenml_integrations.monitoring.exporter import drift_metrics, export_metrics
from zenml_integrations.monitoring.inference_logs import busiest, read_inference_logs
from zenml_integrations.monitoring.reference import REFERENCE_FILE
from zenml_integrations.monitoring.retraining import drift_persists
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer


class MonitoringWindow(BaseModel):
    """Which served traffic to check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: float = Field(default=24.0, gt=0, description="Look back this far from now.")
    min_rows: int = Field(
        default=500, ge=1, description="Fewer served rows than this: too little to judge."
    )
    log_dir: str | None = Field(
        default=None, description="Inference log folder; default: the deployer's server for it."
    )


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


class NotEnoughTraffic(RuntimeError):
    """Too few rows were served in the window to judge drift; not a fault of the data."""


@step(experiment_tracker=True, enable_cache=False)
def load_served_traffic(
    model_name: str, window: MonitoringWindow
) -> tuple[
    Annotated[pd.DataFrame, "reference"],
    Annotated[pd.DataFrame, "served_inputs"],
    Annotated[list[str], "feature_columns"],
    Annotated[dict[str, Any], "served_window"],
]:
    """The busiest version's served inputs in the window, and that version's training reference.

    Raises:
        NotEnoughTraffic: when too few rows were served to judge drift.
    """
    log_dir = Path(window.log_dir) if window.log_dir else _deployer_log_dir(model_name)
    until = time.time()
    traffic = read_inference_logs(log_dir, model_name, since=until - window.hours * 3600)
    served = busiest(traffic)
    if served is None or len(served.inputs) < window.min_rows:
        rows = 0 if served is None else len(served.inputs)
        raise NotEnoughTraffic(
            f"not enough served traffic yet to judge drift: {rows} rows of {model_name} in the "
            f"last {window.hours:g} h (inference logs: {log_dir}), {window.min_rows} needed. "
            "Send more requests to the endpoint, or lower parameters.window.min_rows "
            "(or widen parameters.window.hours) in configs/monitoring.yaml"
        )
    client = MlflowClient()
    features = registered_signature(client, model_name, served.version)["feature_names"]
    with tempfile.TemporaryDirectory() as scratch:
        path = fetch_version_artifact(client, model_name, served.version, REFERENCE_FILE,
                                      Path(scratch))  # fmt: skip
        reference = pd.read_parquet(path)
    summary = {
        "model_name": model_name,
        "version": served.version,
        "rows": len(served.inputs),
        "requests": served.requests,
        "versions_seen": sorted(traffic),
        "from": served.first_timestamp,
        "to": served.last_timestamp,
        "log_dir": str(log_dir),
    }
    log_metadata({"served_window": summary})
    return reference, served.frame(features), list(features), summary


@step(enable_cache=False)
def publish_drift(
    drift_verdict: DriftVerdict,
    served_window: dict[str, Any],
    export: MetricsExport,
    retrain_after_drifted_runs: int = 2,
) -> Annotated[dict[str, Any], "monitoring_outcome"]:
    """Export the drift series and decide whether drift has persisted long enough to retrain."""
    model, version = served_window["model_name"], served_window["version"]
    registry = drift_metrics(drift_verdict, model, version, now=time.time())
    destinations = export_metrics(
        registry,
        model,
        textfile=Path(export.textfile) if export.textfile else None,
        pushgateway_url=os.environ.get(export.pushgateway_url_env),
    )
    history = [drift_verdict.passed, *_earlier_verdicts(retrain_after_drifted_runs - 1)]
    outcome = {
        "model_name": model,
        "version": version,
        "drift_passed": drift_verdict.passed,
        "reason": drift_verdict.reason,
        "drifted_columns": [column.column for column in drift_verdict.drifted_columns],
        "retrain": drift_persists(history, retrain_after_drifted_runs),
        "metrics_exported_to": destinations,
    }
    log_metadata({"monitoring_outcome": outcome})
    return outcome


def _deployer_log_dir(model_name: str) -> Path:
    deployer = Client().active_stack.model_deployer
    if not isinstance(deployer, OnnxModelDeployer):
        raise RuntimeError("no ONNX model deployer in the active stack: set window.log_dir")
    services = deployer.find_model_server(model_name=model_name)
    if not services:
        raise RuntimeError(f"no server for {model_name}: deploy it first (make deploy)")
    settings = cast(dict[str, Any], services[0].config.server_settings)  # type: ignore[attr-defined]
    if "inference_log_dir" not in settings:
        raise RuntimeError(f"the {model_name} server was deployed without inference logging")
    return Path(settings["inference_log_dir"])


def _earlier_verdicts(count: int) -> list[bool]:
    """Whether each of the last ``count`` finished monitoring runs passed, newest first."""
    if count <= 0:
        return []
    runs = Client().list_pipeline_runs(
        pipeline_name="monitoring_pipeline", status="completed", sort_by="desc:created",
        size=count,
    )  # fmt: skip
    passed = []
    for run in runs.items:
        outcome = run.steps["publish_drift"].outputs["monitoring_outcome"][0].load()
        passed.append(bool(outcome["drift_passed"]))
    return passed
