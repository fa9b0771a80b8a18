"""Deployment: serve the registry's champion, rolling it out against the current one."""

from __future__ import annotations

from zenml import pipeline
from zenml_integrations.monitoring.health_hooks import report_run_failure, report_run_success
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.server.config import FeatureLookupConfig

from steps.deployment import deploy_model

DEFAULT_ROLLOUT = RolloutConfig()


@pipeline(enable_cache=False, on_success=report_run_success, on_failure=report_run_failure)
def deployment_pipeline(
    model_name: str,
    rollout: RolloutConfig = DEFAULT_ROLLOUT,
    wait_seconds: float = 0.0,
    feature_lookup: FeatureLookupConfig | None = None,
) -> None:
    """Deploy or roll out; the server promotes or rolls back from live metrics.

    ``feature_lookup`` lets clients send entity ids instead of feature vectors.
    """
    deploy_model(
        model_name=model_name,
        rollout=rollout,
        wait_seconds=wait_seconds,
        feature_lookup=feature_lookup,
    )
