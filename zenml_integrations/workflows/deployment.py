"""Deploy the registry's champion with the stack's ONNX deployer; record the outcome.

The registry says which version is champion and what its file must be; the
deployer serves it, or rolls it out against the version serving now. Once a
rollout is decided the registry learns of it: after a rollback ``champion``
points back at the version that serves, so the next run does not roll the
rejected version out again.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from pydantic import BaseModel, ConfigDict
from zenml_integrations.mlflow.registry import CHAMPION, fetch_onnx_model, record_rollout
from zenml_integrations.onnx.deployment import ModelVersionFile, serve_version
from zenml_integrations.onnx.export.conversion import verify_artifact
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
from zenml_integrations.onnx.rollout.config import RolloutConfig, Strategy
from zenml_integrations.onnx.server.config import FeatureLookupConfig
from zenml_integrations.rollout_outcome import RolloutOutcome


class DeploymentOutcome(BaseModel):
    """What a deployment run did: the version handed over, and which one serves now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    version: str
    semver: str
    outcome: RolloutOutcome
    serving_version: str
    reason: str = ""
    strategy: Strategy
    prediction_url: str | None


def deploy_champion(
    model_name: str,
    rollout: RolloutConfig,
    *,
    wait_seconds: float = 0.0,
    feature_lookup: FeatureLookupConfig | None = None,
    project_root: Path,
) -> DeploymentOutcome:
    """Serve the registry's champion with the active stack's ONNX deployer.

    The ONNX file must match the checksum and input signature the registry
    recorded, or nothing changes. Relative paths in ``feature_lookup`` resolve
    against ``project_root``.

    Raises:
        OnnxArtifactMismatch: when the file differs from the registry's record.
        RegistryError: when the model has no champion or lacks its tags.
    """
    from mlflow import MlflowClient  # seconds to import: only when a deployment runs

    client = MlflowClient()
    registered = fetch_onnx_model(client, model_name, CHAMPION)
    verify_artifact(registered.onnx_bytes, registered.onnx_sha256, registered.input_signature)
    deployer = cast(OnnxModelDeployer, OnnxModelDeployer.get_active_model_deployer())
    result = serve_version(
        deployer,
        ModelVersionFile(model_name, registered.version, registered.onnx_bytes,
                         registered.onnx_sha256),
        rollout,
        wait_seconds=wait_seconds,
        feature_lookup=feature_lookup.anchored(project_root) if feature_lookup else None,
    )  # fmt: skip
    if result.outcome.decided:
        record_rollout(
            client,
            model_name=model_name,
            version=registered.version,
            outcome=result.outcome,
            serving_version=result.serving_version,
            reason=result.reason,
        )
    return DeploymentOutcome(
        model_name=model_name,
        version=registered.version,
        semver=registered.semver,
        outcome=result.outcome,
        serving_version=result.serving_version,
        reason=result.reason,
        strategy=rollout.strategy,
        prediction_url=result.prediction_url,
    )
