"""``OnnxModelDeployer``: ONNX servers as local daemons, managed through ZenML.

ZenML records every deployed service in its store, so ``zenml model-deployer
models list/describe/delete`` and ``find_model_server`` see servers started by
any process; ``ensure_running`` restarts one whose daemon died.

In Kubernetes mode the same calls go to the cluster instead: the model file
is published to the model store, and deploy, find (status), stop and delete
apply, read, scale down and remove the Seldon Core or KServe resources.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast
from uuid import UUID

from zenml.config.global_config import GlobalConfiguration
from zenml.model_deployers import BaseModelDeployer
from zenml.models.v2.misc.service import ServiceType
from zenml.services import BaseService, ServiceConfig
from zenml.services.service import BaseDeploymentService
from zenml_integrations.catalog import kit_requirement
from zenml_integrations.onnx.errors import OnnxDeployerError
from zenml_integrations.onnx.flavor import (
    DeployerMode,
    OnnxModelDeployerConfig,
    OnnxModelDeployerFlavor,
)
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import ModelVariant, ServingPlan
from zenml_integrations.onnx.kubernetes.service import (
    KubernetesOnnxService,
    KubernetesOnnxServiceConfig,
)
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig

if TYPE_CHECKING:
    from zenml_integrations.onnx.kubernetes.canary import CanaryController

START_TIMEOUT_SECONDS = 60


def _ensure_token_file(model_dir: str) -> str:
    """A random admin token, readable only by this user, created once per model."""
    path = os.path.join(model_dir, "admin-token")
    if not os.path.isfile(path):
        os.makedirs(model_dir, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path


class OnnxModelDeployer(BaseModelDeployer):
    """Serves ONNX models as local daemons, or on Kubernetes through Seldon Core or KServe."""

    NAME: ClassVar[str] = "ONNX"
    FLAVOR: ClassVar[type[OnnxModelDeployerFlavor]] = OnnxModelDeployerFlavor

    @property
    def config(self) -> OnnxModelDeployerConfig:
        """The deployer's configuration."""
        return cast(OnnxModelDeployerConfig, self._config)

    @property
    def requirements(self) -> set[str]:
        """Remote images need this package (ZenML only knows its own integrations)."""
        extras = "onnx,kubernetes" if self.config.mode is DeployerMode.KUBERNETES else "onnx"
        return {*super().requirements, kit_requirement(extras)}

    @property
    def local_path(self) -> str | None:
        """The local servers' folder; None in Kubernetes mode.

        ZenML treats a component with a local path as local, and a remote
        orchestrator refuses a stack holding one: in Kubernetes mode nothing
        serves from this machine.
        """
        if self.config.mode is DeployerMode.KUBERNETES:
            return None
        return self.runtime_path

    @property
    def runtime_path(self) -> str:
        """Folder for model files, and the local servers' PID files and inference logs."""
        return os.path.join(GlobalConfiguration().local_stores_path, str(self.id))

    @property
    def models_path(self) -> str:
        """The one folder this deployer's servers load model files from."""
        return os.path.join(self.runtime_path, "models")

    def store_model_file(self, path: Path, sha256: str) -> Path:
        """``path`` copied into ``models_path`` as ``<sha256>.onnx`` (once), for a server to load.

        A server refuses model files outside its model folder; a version deployed or
        rolled out from anywhere else is served from this copy.
        """
        stored = Path(self.models_path) / f"{sha256}.onnx"
        if not stored.exists():
            stored.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, stored)
        return stored

    @staticmethod
    def get_model_server_info(service_instance: BaseService) -> dict[str, str | None]:
        """What ``zenml model-deployer models describe`` prints.

        The server promotes and rolls back by itself; the version it serves
        now comes from its state file, not from the config it was started with.
        """
        from zenml_integrations.onnx.server.state import load_state

        if isinstance(service_instance, KubernetesOnnxService):
            return _kubernetes_server_info(service_instance)
        service = cast(OnnxServerService, service_instance)
        state_file = service.config.server_settings.get("state_file")
        state = load_state(Path(state_file), service.config.model_sha256) if state_file else None
        champion = state.champion if state else None
        return {
            "PREDICTION_URL": service.prediction_url,
            "GRPC_URL": service.grpc_url,
            "HEALTH_CHECK_URL": service.healthcheck_url,
            "MODEL_NAME": service.config.model_name,
            "MODEL_VERSION": champion.version if champion else service.config.model_version,
            "MODEL_SHA256": champion.sha256 if champion else service.config.model_sha256,
            "DEPLOYED_VERSION": service.config.model_version,
            "SERVICE_PATH": service.status.runtime_path,
            "DAEMON_PID": str(service.status.pid),
        }

    def deploy_model(
        self,
        config: ServiceConfig,
        service_type: ServiceType,
        replace: bool = False,
        continuous_deployment_mode: bool = False,
        timeout: int = START_TIMEOUT_SECONDS,
    ) -> BaseService:
        """Complete the service config from the deployer's settings, then deploy.

        ZenML stores the config before ``perform_deploy_model`` runs and never
        updates it, so everything a restarted server needs is filled in here.
        In Kubernetes mode the model file is published first and the service
        becomes a cluster deployment of the same model.
        """
        if not isinstance(config, OnnxServerServiceConfig):
            raise OnnxDeployerError(
                f"the onnx deployer serves OnnxServerServiceConfig, got {type(config).__name__}"
            )
        if self.config.mode is DeployerMode.KUBERNETES:
            return super().deploy_model(
                self._kubernetes_service_config(config),
                KubernetesOnnxService.SERVICE_TYPE,
                replace,
                continuous_deployment_mode,
                timeout,
            )
        model_dir = os.path.join(self.runtime_path, config.model_name)
        config.model_path = str(self.store_model_file(Path(config.model_path), config.model_sha256))
        config.deployer_id = str(self.id)
        config.root_runtime_path = self.runtime_path
        config.host = self.config.host
        config.port = self.config.port if self.config.port is not None else _free_port(config.host)
        if self.config.grpc:
            config.grpc_port = self.config.grpc_port or _free_port(config.host, besides=config.port)
        config.server_settings = {
            "admin_token_env": self.config.admin_token_env,
            "admin_token_file": _ensure_token_file(model_dir),
            "intra_op_threads": self.config.intra_op_threads,
            "max_batch_rows": self.config.max_batch_rows,
            "model_dir": self.models_path,
            "state_file": os.path.join(model_dir, "serving-state.json"),
            **(
                {"inference_log_dir": os.path.join(model_dir, "inference-logs")}
                if self.config.inference_logging
                else {}
            ),
            **config.server_settings,
        }
        return super().deploy_model(
            config, service_type, replace, continuous_deployment_mode, timeout
        )

    def find_model_server(
        self,
        config: dict[str, Any] | None = None,
        running: bool | None = None,
        service_uuid: UUID | None = None,
        pipeline_name: str | None = None,
        pipeline_step_name: str | None = None,
        service_name: str | None = None,
        model_name: str | None = None,
        model_version: str | None = None,
        service_type: ServiceType | None = None,
        type: str | None = None,
        flavor: str | None = None,
        pipeline_run_id: str | None = None,
    ) -> list[BaseService]:
        """ZenML's search, narrowed to this deployer's own servers (of ``model_name``).

        ZenML lists the services of every deployer in the store, and narrows by
        model only when a ZenML model of that name exists (ours live in the
        MLflow registry): a second ``onnx`` deployer would otherwise take the
        first one's server for its own and roll out on it.
        """
        services = super().find_model_server(
            config=config,
            running=running,
            service_uuid=service_uuid,
            pipeline_name=pipeline_name,
            pipeline_step_name=pipeline_step_name,
            service_name=service_name,
            model_name=model_name,
            model_version=model_version,
            service_type=service_type,
            type=type,
            flavor=flavor,
            pipeline_run_id=pipeline_run_id,
        )
        return [
            service
            for service in services
            if self.owns(service)
            and (not model_name or getattr(service.config, "model_name", None) == model_name)
        ]

    def owns(self, service: BaseService) -> bool:
        """Whether this deployer component started ``service``.

        Servers deployed before services recorded their deployer are matched by
        what identified the deployer then: the local runtime folder (named by
        the deployer's id) or the cluster settings copied from it.
        """
        config = service.config
        recorded = getattr(config, "deployer_id", None)
        if recorded is not None:
            return bool(recorded == str(self.id))
        if isinstance(config, OnnxServerServiceConfig):
            return config.root_runtime_path == self.runtime_path
        if isinstance(config, KubernetesOnnxServiceConfig):
            return config.serving == self.config.kubernetes
        return False

    def perform_deploy_model(
        self, id: UUID, config: ServiceConfig, timeout: int = START_TIMEOUT_SECONDS
    ) -> BaseService:
        """Start a server daemon, or apply the cluster resources, for ``config``."""
        if isinstance(config, KubernetesOnnxServiceConfig):
            cluster_service = KubernetesOnnxService(uuid=id, config=config)
            cluster_service.start(timeout=timeout)
            return cluster_service
        if not isinstance(config, OnnxServerServiceConfig):
            raise OnnxDeployerError(
                f"the onnx deployer serves OnnxServerServiceConfig, got {type(config).__name__}"
            )
        service = OnnxServerService(uuid=id, config=config)
        service.start(timeout=timeout)
        return service

    @staticmethod
    def admin_token(service: BaseService) -> str:
        """The token a client sends to this server's admin API.

        Raises:
            OnnxDeployerError: when the server was deployed without a token file, or
                runs on Kubernetes, where rollouts go through the manifests.
        """
        if isinstance(service, KubernetesOnnxService):
            raise OnnxDeployerError(
                f"service {service.uuid} runs on Kubernetes and has no admin API: roll a version "
                "out with OnnxModelDeployer.roll_out() and step it with "
                "canary_controller(model_name).advance()"
            )
        settings = cast(OnnxServerService, service).config.server_settings
        token_env = settings.get("admin_token_env", "")
        if os.environ.get(token_env):
            return os.environ[token_env]
        token_file = settings.get("admin_token_file")
        if not token_file or not os.path.isfile(token_file):
            raise OnnxDeployerError(f"server {service.uuid} has no admin token file; redeploy it")
        with open(token_file, encoding="utf-8") as handle:
            return handle.read().strip()

    def ensure_running(
        self, service: BaseDeploymentService, timeout: int = START_TIMEOUT_SECONDS
    ) -> bool:
        """Restart a server whose daemon is gone; True when it had to be restarted."""
        service.update_status()
        if service.is_running:
            return False
        service.start(timeout=timeout)
        return True

    def perform_stop_model(
        self, service: BaseService, timeout: int = START_TIMEOUT_SECONDS, force: bool = False
    ) -> BaseService:
        """Stop the daemon; the model stays registered and can be started again."""
        service.stop(timeout=timeout, force=force)
        return service

    def perform_start_model(
        self, service: BaseService, timeout: int = START_TIMEOUT_SECONDS
    ) -> BaseService:
        """Start a stopped server."""
        service.start(timeout=timeout)
        return service

    def perform_delete_model(
        self, service: BaseService, timeout: int = START_TIMEOUT_SECONDS, force: bool = False
    ) -> None:
        """Stop the daemon and remove its runtime files, or delete the cluster resources."""
        if isinstance(service, KubernetesOnnxService):
            service.delete_resources()
            return
        service.stop(timeout=timeout, force=force)
        runtime_path = cast(OnnxServerService, service).status.runtime_path
        if runtime_path:
            shutil.rmtree(runtime_path, ignore_errors=True)

    # ---- Kubernetes mode ---------------------------------------------------------------------
    @property
    def kubernetes(self) -> KubernetesServingConfig:
        """The cluster settings.

        Raises:
            OnnxDeployerError: in local mode.
        """
        if self.config.kubernetes is None or self.config.mode is not DeployerMode.KUBERNETES:
            raise OnnxDeployerError(
                f"model deployer {self.name!r} runs in {self.config.mode.value} mode; set "
                "mode: kubernetes and a kubernetes block to serve on a cluster"
            )
        return self.config.kubernetes

    def _kubernetes_service_config(
        self, config: OnnxServerServiceConfig
    ) -> KubernetesOnnxServiceConfig:
        """The cluster deployment of a model the deployment step describes by its local file."""
        from zenml_integrations.onnx.kubernetes.model_store import publish_model

        serving = self.kubernetes
        uri = publish_model(serving, config.model_name, config.model_path, config.model_sha256)
        champion = ModelVariant(version=config.model_version, model_uri=uri,
                                sha256=config.model_sha256)  # fmt: skip
        return KubernetesOnnxServiceConfig(
            deployer_id=str(self.id),
            model_name=config.model_name,
            model_version=config.model_version,
            pipeline_name=config.pipeline_name,
            pipeline_step_name=config.pipeline_step_name,
            plan=ServingPlan(model_name=config.model_name, champion=champion),
            serving=serving,
        )

    def roll_out(
        self,
        service: KubernetesOnnxService,
        version: str,
        model_path: str,
        sha256: str,
        rollout: RolloutConfig,
    ) -> ServingPlan:
        """Start rolling ``version`` out against the champion the cluster serves now.

        The first traffic step is applied at once; ``canary_controller().advance()``
        takes the next ones.
        """
        from zenml_integrations.onnx.kubernetes.model_store import publish_model

        current = service.current_plan()
        uri = publish_model(self.kubernetes, current.model_name, model_path, sha256)
        plan = ServingPlan(
            model_name=current.model_name,
            champion=current.champion,
            challenger=ModelVariant(version=version, model_uri=uri, sha256=sha256),
            rollout=rollout,
        )
        service.cluster().apply(plan)
        return plan

    def canary_controller(self, model_name: str) -> CanaryController:
        """The controller that steps ``model_name``'s rollout from Prometheus metrics.

        Raises:
            OnnxDeployerError: when no ``prometheus_url`` is configured.
        """
        from zenml_integrations.onnx.kubernetes.canary import CanaryController, PrometheusClient
        from zenml_integrations.onnx.kubernetes.cluster import ServingCluster, api_client_for

        serving = self.kubernetes
        if not serving.prometheus_url:
            raise OnnxDeployerError(
                f"model deployer {self.name!r} has no kubernetes.prometheus_url; the canary "
                "controller reads the variants' metrics from Prometheus"
            )
        cluster = ServingCluster(serving, api_client_for(serving))
        return CanaryController(cluster, PrometheusClient(serving.prometheus_url), model_name)


def _kubernetes_server_info(service: KubernetesOnnxService) -> dict[str, str | None]:
    """What ``zenml model-deployer models describe`` prints for a cluster deployment."""
    plan = service.current_plan()
    serving = service.config.serving
    return {
        "PREDICTION_URL": service.prediction_url,
        "TARGET": serving.target.value,
        "NAMESPACE": serving.namespace,
        "MODEL_NAME": plan.model_name,
        "MODEL_VERSION": plan.champion.version,
        "MODEL_SHA256": plan.champion.sha256,
        "MODEL_URI": plan.champion.model_uri,
        "CHALLENGER_VERSION": plan.challenger.version if plan.challenger else None,
        "CHALLENGER_PERCENT": str(plan.challenger_percent) if plan.challenger else None,
        "STRATEGY": plan.rollout.strategy.value if plan.challenger else None,
        "LAST_ROLLBACK": plan.rolled_back_reason,
    }


def _free_port(host: str, besides: int | None = None) -> int:
    """A port the OS reports free on ``host`` now (and not ``besides``, already taken).

    ZenML would otherwise give the daemon the first free port from 8000 when it
    starts: two servers deployed at once (two models, two CI jobs) would both
    pick it, and the second would fail to bind.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port = int(probe.getsockname()[1])
    return port if port != besides else _free_port(host, besides)
