"""The ``onnx`` model deployer flavor: configuration only, cheap to import."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import Field, model_validator
from zenml.model_deployers.base_model_deployer import (
    BaseModelDeployerConfig,
    BaseModelDeployerFlavor,
)
from zenml_integrations.flavor_docs import flavor_page_url
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig

if TYPE_CHECKING:
    from zenml_integrations.onnx.model_deployer import OnnxModelDeployer

ONNX_MODEL_DEPLOYER_FLAVOR = "onnx"


class DeployerMode(StrEnum):
    """Where the deployer serves models."""

    LOCAL = "local"  # server daemons on this machine
    KUBERNETES = "kubernetes"  # Seldon Core v1/v2 or KServe resources on a cluster


class OnnxModelDeployerConfig(BaseModelDeployerConfig):
    """Where and how the ONNX servers run: local daemons, or resources on a cluster."""

    mode: DeployerMode = Field(
        default=DeployerMode.LOCAL, description="local daemons, or Kubernetes resources."
    )
    kubernetes: KubernetesServingConfig | None = Field(
        default=None, description="Cluster, target and image; required when mode is kubernetes."
    )
    host: str = Field(
        default="127.0.0.1", description="Interface the servers bind; loopback unless set."
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Fixed port; default: a free port per server."
    )
    grpc: bool = Field(
        default=True, description="Serve OIP over gRPC as well (local mode), on its own port."
    )
    grpc_port: int | None = Field(
        default=None, ge=1, le=65535, description="Fixed gRPC port; default: a free one per server."
    )
    admin_token_env: str = Field(
        default="ONNX_SERVER_ADMIN_TOKEN",
        description="Environment variable holding the admin API token for the servers.",
    )
    intra_op_threads: int = Field(
        default=1, ge=1, description="onnxruntime threads per call (it ignores CPU pinning)."
    )
    max_batch_rows: int = Field(
        default=4096, ge=1, description="Most rows one request may carry; more get HTTP 400."
    )
    inference_logging: bool = Field(
        default=True, description="Write inference logs next to each server's runtime files."
    )

    @model_validator(mode="after")
    def _kubernetes_settings(self) -> OnnxModelDeployerConfig:
        if self.mode is DeployerMode.KUBERNETES and self.kubernetes is None:
            raise ValueError(
                "mode 'kubernetes' needs a 'kubernetes' block (target, namespace, image, ...)"
            )
        if self.grpc_port is not None and self.grpc_port == self.port:
            raise ValueError(f"grpc_port {self.grpc_port} is also the REST port; give gRPC its own")
        return self

    @property
    def is_local(self) -> bool:
        """In local mode the servers run as daemons on this machine."""
        return self.mode is DeployerMode.LOCAL


class OnnxModelDeployerFlavor(BaseModelDeployerFlavor):
    """Serve ONNX models with rollouts and automatic rollback."""

    @property
    def name(self) -> str:
        """The flavor name used in stack recipes."""
        return ONNX_MODEL_DEPLOYER_FLAVOR

    @property
    def config_class(self) -> type[OnnxModelDeployerConfig]:
        """The configuration class."""
        return OnnxModelDeployerConfig

    @property
    def implementation_class(self) -> type[OnnxModelDeployer]:
        """The deployer, imported only when a stack uses it."""
        from zenml_integrations.onnx.model_deployer import OnnxModelDeployer

        return OnnxModelDeployer

    @property
    def docs_url(self) -> str | None:
        """This flavor's page under the distribution's Documentation URL."""
        return flavor_page_url(self.name)
