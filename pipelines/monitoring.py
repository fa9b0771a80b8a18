"""Monitoring: check served traffic for drift, export the results, and say when to retrain."""

from __future__ import annotations

from zenml import pipeline
from zenml_integrations.monitoring.health_hooks import report_run_failure, report_run_success
from zenml_integrations.monitoring.outcome import MetricsExport
from zenml_integrations.monitoring.traffic import MonitoringWindow

from steps.drift import drift_gate
from steps.monitoring import load_served_traffic, publish_drift

DEFAULT_WINDOW = MonitoringWindow()
DEFAULT_EXPORT = MetricsExport()


@pipeline(enable_cache=False, on_success=report_run_success, on_failure=report_run_failure)
def monitoring_pipeline(
    model_name: str,
    window: MonitoringWindow = DEFAULT_WINDOW,
    export: MetricsExport = DEFAULT_EXPORT,
    retrain_after_drifted_runs: int = 2,
) -> None:
    """Compare the served inputs with the serving version's training reference.

    The outcome says ``retrain`` once drift has lasted for the configured number
    of consecutive runs; ``run.py monitor`` then starts the training pipeline.
    """
    reference, served_inputs, feature_columns, served_window = load_served_traffic(
        model_name=model_name, window=window
    )
    drift_verdict, _ = drift_gate(
        reference=reference, current=served_inputs, feature_columns=feature_columns
    )
    publish_drift(
        drift_verdict=drift_verdict,
        served_window=served_window,
        export=export,
        retrain_after_drifted_runs=retrain_after_drifted_runs,
    )
