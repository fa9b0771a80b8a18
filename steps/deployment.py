"""Deploy the registry's champion to the stack's ONNX model deployer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, cast

from mlflow import MlflowClient
from zenml import log_metadata, step
from zenml.logger import get_logger
from zenml.utils.source_utils import get_source_root
from zenml_integrations.mlflow.registry import (
    CHAMPION,
    RegisteredModelFile,
    fetch_onnx_model,
    record_rollout,
)
from zenml_integrations.onnx.admin_client import AdminClient
from zenml_integrations.onnx.export.conversion import verify_artifact
from zenml_integrations.onnx.flavor import DeployerMode
from zenml_integrations.onnx.kubernetes.service import KubernetesOnnxService
from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.server.config import FeatureLookupConfig
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig

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
    model_path = Path(deployer.runtime_path) / "models" / f"{registered.onnx_sha256}.onnx"
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
        if isinstance(service, KubernetesOnnxService):
            outcome, serving_version, reason = _roll_out_on_kubernetes(
                deployer, service, registered, model_path, rollout, wait_seconds
            )
        else:
            outcome, serving_version, reason = _roll_out_locally(
                deployer, service, registered, model_path, rollout, wait_seconds
            )
        if outcome in ("promoted", "rolled_back"):
            record_rollout(
                client,
                model_name=model_name,
                version=registered.version,
                outcome=outcome,
                serving_version=serving_version,
                reason=reason,
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


def _roll_out_locally(
    deployer: OnnxModelDeployer,
    service: OnnxServerService,
    registered: RegisteredModelFile,
    model_path: Path,
    rollout: RolloutConfig,
    wait_seconds: float,
) -> tuple[str, str, str]:
    """Hand the version to the server's admin API; its own policy decides."""
    admin = AdminClient(service.endpoint.status.uri or "", deployer.admin_token(service))
    state = admin.state()
    if state["champion"] == registered.version:
        return "already_serving", registered.version, ""
    if registered.version in _rolled_back(state):
        return "rolled_back", state["champion"], _rolled_back(state)[registered.version]
    admin.deploy(
        registered.version, str(model_path), registered.onnx_sha256,
        rollout.model_dump(mode="json"),
    )  # fmt: skip
    outcome = admin.wait_for_outcome(registered.version, wait_seconds)
    state = admin.state()
    return outcome, state["champion"], _rolled_back(state).get(registered.version, "")


def _roll_out_on_kubernetes(
    deployer: OnnxModelDeployer,
    service: KubernetesOnnxService,
    registered: RegisteredModelFile,
    model_path: Path,
    rollout: RolloutConfig,
    wait_seconds: float,
) -> tuple[str, str, str]:
    """Apply the rollout's first step to the cluster; step it from Prometheus while waiting.

    Without waiting, the canary controller's cron entry point
    (``python -m zenml_integrations.onnx.kubernetes MODEL``) takes the next steps.
    """
    plan = service.current_plan()
    if plan.champion.version == registered.version:
        return "already_serving", registered.version, ""
    rolled_back = plan.rolled_back_reason or ""
    if plan.challenger is None and rolled_back.startswith(f"{registered.version}:"):
        return "rolled_back", plan.champion.version, rolled_back
    if plan.challenger is None or plan.challenger.version != registered.version:
        plan = deployer.roll_out(
            service, registered.version, str(model_path), registered.onnx_sha256, rollout
        )
    if wait_seconds <= 0:
        return "in_progress", plan.champion.version, ""
    from zenml_integrations.onnx.kubernetes.canary import CanaryOutcome  # the kubernetes extra

    controller = deployer.canary_controller(registered.name)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        time.sleep(min(plan.rollout.policy.window_seconds, max(deadline - time.monotonic(), 0)))
        decision = controller.advance()
        if decision.outcome is CanaryOutcome.PROMOTED:
            return "promoted", registered.version, ""
        if decision.outcome is CanaryOutcome.ROLLED_BACK:
            after = decision.plan
            return "rolled_back", after.champion.version, after.rolled_back_reason or ""
    return "in_progress", plan.champion.version, ""


def _rolled_back(state: dict[str, Any]) -> dict[str, str]:
    """Version -> reason for every rollback the server remembers."""
    rollbacks = state["rollbacks"]
    return {entry["version"]: f"{entry['metric']}: {entry['reason']}" for entry in rollbacks}
