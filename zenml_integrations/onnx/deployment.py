"""Serve a verified model version with an ONNX deployer: start a server, or roll it out.

The first version of a model gets a server of its own. Every later version
becomes the challenger of a rollout against the version serving now, and the
server (locally) or the canary controller (on Kubernetes) promotes or rolls
it back from live metrics. A version that live traffic already rejected is
never rolled out again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from zenml.logger import get_logger
from zenml.services.service import BaseDeploymentService
from zenml_integrations.onnx.admin_client import AdminClient, rollback_reasons
from zenml_integrations.onnx.errors import OnnxDeployerError
from zenml_integrations.onnx.flavor import DeployerMode
from zenml_integrations.onnx.kubernetes.service import KubernetesOnnxService
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.rollout.version import validate_version_label
from zenml_integrations.onnx.server.config import FeatureLookupConfig
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig
from zenml_integrations.rollout_outcome import RolloutOutcome

if TYPE_CHECKING:
    from zenml_integrations.onnx.model_deployer import OnnxModelDeployer

logger = get_logger(__name__)


@dataclass(frozen=True)
class ModelVersionFile:
    """A model version whose ONNX bytes were checked against the registry.

    Raises:
        InvalidVersionLabel: when ``version`` breaks the version-label rule.
    """

    model_name: str
    version: str
    onnx_bytes: bytes
    sha256: str

    def __post_init__(self) -> None:
        validate_version_label(self.version)


@dataclass(frozen=True)
class RolloutResult:
    """What the deployer did with a version, and which version serves afterwards."""

    outcome: RolloutOutcome
    serving_version: str
    prediction_url: str | None
    reason: str = ""


def serve_version(
    deployer: OnnxModelDeployer,
    model: ModelVersionFile,
    rollout: RolloutConfig,
    *,
    wait_seconds: float = 0.0,
    feature_lookup: FeatureLookupConfig | None = None,
) -> RolloutResult:
    """Serve ``model``: on a new server, or as the challenger of a rollout.

    ``feature_lookup`` (absolute ``base_dir``) is fixed when a server starts:
    a changed one takes effect after the server is deleted and deployed again.

    Raises:
        OnnxDeployerError: when ``feature_lookup`` is asked of a Kubernetes deployer.
    """
    if feature_lookup is not None and deployer.config.mode is DeployerMode.KUBERNETES:
        raise OnnxDeployerError(
            "feature_lookup needs the local ONNX server; the Kubernetes serving image takes "
            "feature vectors only: remove feature_lookup from the deployment config or deploy "
            "with a local-mode onnx deployer"
        )
    model_path = _stored_model_file(deployer, model)
    lookup_settings = (
        {"feature_lookup": feature_lookup.model_dump(mode="json")} if feature_lookup else {}
    )
    services = deployer.find_model_server(model_name=model.model_name)
    if not services:
        config = OnnxServerServiceConfig(
            model_name=model.model_name,
            model_version=model.version,
            model_path=str(model_path),
            model_sha256=model.sha256,
            server_settings=lookup_settings,
        )
        started = deployer.deploy_model(config, service_type=OnnxServerService.SERVICE_TYPE)
        url = cast(BaseDeploymentService, started).prediction_url
        return RolloutResult(RolloutOutcome.DEPLOYED, model.version, url)
    service = cast(BaseDeploymentService, services[0])
    if isinstance(service, OnnxServerService) and service.config.server_settings.get(
        "feature_lookup"
    ) != lookup_settings.get("feature_lookup"):
        logger.warning(
            "Server %s was started with another feature_lookup; it keeps it until you run "
            "`zenml model-deployer models delete %s` and deploy again",
            service.uuid, service.uuid,
        )  # fmt: skip
    deployer.ensure_running(service)
    if isinstance(service, KubernetesOnnxService):
        return _roll_out_on_kubernetes(deployer, service, model, model_path, rollout, wait_seconds)
    return _roll_out_locally(
        deployer, cast(OnnxServerService, service), model, model_path, rollout, wait_seconds
    )


def _stored_model_file(deployer: OnnxModelDeployer, model: ModelVersionFile) -> Path:
    """The model's bytes in the deployer's runtime folder, named by checksum (written once)."""
    path = Path(deployer.runtime_path) / "models" / f"{model.sha256}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(model.onnx_bytes)
    return path


def _roll_out_locally(
    deployer: OnnxModelDeployer,
    service: OnnxServerService,
    model: ModelVersionFile,
    model_path: Path,
    rollout: RolloutConfig,
    wait_seconds: float,
) -> RolloutResult:
    """Hand the version to the server's admin API; its own policy decides."""
    url = service.prediction_url
    admin = AdminClient(service.endpoint.status.uri or "", deployer.admin_token(service))
    state = admin.state()
    if state["champion"] == model.version:
        return RolloutResult(RolloutOutcome.ALREADY_SERVING, model.version, url)
    rejected = rollback_reasons(state)
    if model.version in rejected:
        return RolloutResult(
            RolloutOutcome.ROLLED_BACK, state["champion"], url, rejected[model.version]
        )
    admin.deploy(model.version, str(model_path), model.sha256, rollout.model_dump(mode="json"))
    outcome = admin.wait_for_outcome(model.version, wait_seconds)
    state = admin.state()
    reason = rollback_reasons(state).get(model.version, "")
    return RolloutResult(outcome, state["champion"], url, reason)


def _roll_out_on_kubernetes(
    deployer: OnnxModelDeployer,
    service: KubernetesOnnxService,
    model: ModelVersionFile,
    model_path: Path,
    rollout: RolloutConfig,
    wait_seconds: float,
) -> RolloutResult:
    """Apply the rollout's first step to the cluster; step it from Prometheus while waiting.

    Without waiting, the canary controller's cron entry point
    (``python -m zenml_integrations.onnx.kubernetes MODEL``) takes the next steps.
    """
    url = service.prediction_url
    plan = service.current_plan()
    if plan.champion.version == model.version:
        return RolloutResult(RolloutOutcome.ALREADY_SERVING, model.version, url)
    rejected = plan.rolled_back_reason or ""
    if plan.challenger is None and rejected.startswith(f"{model.version}:"):
        return RolloutResult(RolloutOutcome.ROLLED_BACK, plan.champion.version, url, rejected)
    if plan.challenger is None or plan.challenger.version != model.version:
        plan = deployer.roll_out(service, model.version, str(model_path), model.sha256, rollout)
    if wait_seconds <= 0:
        return RolloutResult(RolloutOutcome.IN_PROGRESS, plan.champion.version, url)
    controller = deployer.canary_controller(model.model_name)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        time.sleep(min(plan.rollout.policy.window_seconds, max(deadline - time.monotonic(), 0)))
        decision = controller.advance()
        if decision.outcome.decided:
            after = decision.plan
            reason = "" if decision.outcome is RolloutOutcome.PROMOTED else after.rolled_back_reason
            return RolloutResult(decision.outcome, after.champion.version, url, reason or "")
    return RolloutResult(RolloutOutcome.IN_PROGRESS, plan.champion.version, url)
