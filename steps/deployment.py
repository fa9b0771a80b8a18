"""Deploy the registry's champion to the stack's ONNX model deployer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from zenml import log_metadata, step
from zenml.utils.source_utils import get_source_root
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.server.config import FeatureLookupConfig
from zenml_integrations.workflows.deployment import DeploymentOutcome, deploy_champion


@step(experiment_tracker=True, enable_cache=False)
def deploy_model(
    model_name: str,
    rollout: RolloutConfig,
    wait_seconds: float = 0.0,
    feature_lookup: FeatureLookupConfig | None = None,
) -> Annotated[DeploymentOutcome, "deployment"]:
    """Serve the registry's champion; roll it out against what is serving now.

    The server (or, on Kubernetes, the canary controller) promotes or rolls the
    new version back from live metrics; ``wait_seconds`` waits for its verdict.
    With ``feature_lookup`` the server also accepts entity ids; relative paths in
    it resolve against the project root.
    """
    deployment = deploy_champion(
        model_name,
        rollout,
        wait_seconds=wait_seconds,
        feature_lookup=feature_lookup,
        project_root=Path(get_source_root()),
    )
    log_metadata({"deployment": deployment.model_dump(mode="json")})
    return deployment
