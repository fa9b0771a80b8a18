"""Deploy the registry's champion to the stack's ONNX model deployer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

from mlflow import MlflowClient
from zenml import log_metadata, step
from zenml.logger import get_logger
from zenml.utils.source_utils import get_source_root
from zenml_integrations.mlflow.registry import CHAMPION, fetch_onnx_model, record_rollout
from zenml_integrations.onnx.admin_client import AdminClient
from zenml_integrations.onnx.convert import verify_artifact
from zenml_integrations.onnx.flavor import DeployerMode
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig
from zenml_integrations.onnx.serving.config import FeatureLookupConfig, RolloutConfig

logger = get_logger(__name__)


@step(experiment_tracker=True, enable_cache=False)
def deploy_model(
    model_name: str,
    rollout: RolloutConfig,
    wait_seconds: float = 0.0,
    feature_lookup: FeatureLookupConfig | None = None,
) -> Annotated[dict[str, Any], "deployment"]:
    """Serve the registry's champion; roll it out against what is serving now.

    The ONNX file must match the checksum and input signature the registry
    recorded, or nothing changes. With no server yet, the champion is served
    directly; otherwise it becomes the challenger of a rollout that the
    server promotes or rolls back by itself. A version the server already
    rolled back is not rolled out again: the registry's ``champion`` goes
    back to the version that is serving.

    With ``feature_lookup`` the server also accepts entity ids and reads
    their features online; relative paths in it resolve against the project
    root. It is fixed when the server starts: a changed section takes effect
    after the server is deleted and deployed again.
    """
    client = MlflowClient()
    registered = fetch_onnx_model(client, model_name, CHAMPION)
    verify_artifact(registered.onnx_bytes, registered.onnx_sha256, registered.input_signature)
    deployer = cast(OnnxModelDeployer, OnnxModelDeployer.get_active_model_deployer())
    if feature_lookup is not None and deployer.config.mode is DeployerMode.KUBERNETES:
        raise ValueError(
            "feature_lookup needs the local ONNX server; the Kubernetes serving image takes "
            "feature vectors only: remove feature_lookup from the deployment config or deploy "
            "with a local-mode onnx deployer"
        )
    model_path = Path(deployer.local_path) / "models" / f"{registered.onnx_sha256}.onnx"
    model_path.parent.mkdir(parents=True, exist_ok=True)
    if not model_path.exists():
        model_path.write_bytes(registered.onnx_bytes)

    lookup = feature_lookup.anchored(Path(get_source_root())) if feature_lookup else None
    lookup_settings = {"feature_lookup": lookup.model_dump(mode="json")} if lookup else {}
    services = deployer.find_model_server(model_name=model_name)
    if not services:
        config = OnnxServerServiceConfig(
            model_name=model_name,
            model_version=registered.version,
            model_path=str(model_path),
            model_sha256=registered.onnx_sha256,
            server_settings=lookup_settings,
        )
        service = cast(
            OnnxServerService,
            deployer.deploy_model(config, service_type=OnnxServerService.SERVICE_TYPE),
        )
        outcome = "deployed"
    else:
        service = cast(OnnxServerService, services[0])
        if service.config.server_settings.get("feature_lookup") != lookup_settings.get(
            "feature_lookup"
        ):
            logger.warning(
                "Server %s was started with another feature_lookup; it keeps it until you run "
                "`zenml model-deployer models delete %s` and deploy again",
                service.uuid, service.uuid,
            )  # fmt: skip
        deployer.ensure_running(service)
        admin = AdminClient(service.endpoint.status.uri or "", deployer.admin_token(service))
        state = admin.state()
        if state["champion"] == registered.version:
            outcome = "already_serving"
        elif registered.version in _rolled_back(state):
            outcome = "rolled_back"
        else:
            admin.deploy(
                registered.version,
                str(model_path),
                registered.onnx_sha256,
                rollout.model_dump(mode="json"),
            )
            outcome = admin.wait_for_outcome(registered.version, wait_seconds)
            state = admin.state()
        if outcome in ("promoted", "rolled_back"):
            record_rollout(
                client,
                model_name=model_name,
                version=registered.version,
                outcome=outcome,
                serving_version=state["champion"],
                reason=_rolled_back(state).get(registered.version, ""),
            )
    deployment = {
        "model_name": model_name,
        "version": registered.version,
        "semver": registered.semver,
        "outcome": outcome,
        "prediction_url": service.prediction_url,
        "strategy": rollout.strategy.value,
    }
    log_metadata({"deployment": deployment})
    return deployment


def _rolled_back(state: dict[str, Any]) -> dict[str, str]:
    """Version -> reason for every rollback the server remembers."""
    rollbacks = state["rollbacks"]
    return {entry["version"]: f"{entry['metric']}: {entry['reason']}" for entry in rollbacks}
