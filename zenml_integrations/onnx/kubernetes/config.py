"""Settings of the deployer's Kubernetes mode (cheap to import: the flavor uses them)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Kubernetes resource quantities: "500m", "1", "0.5", "512Mi", "1G", "1e3".
QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESOURCE_NAMES = frozenset({"cpu", "memory", "ephemeral-storage", "nvidia.com/gpu"})


class ServingTarget(StrEnum):
    """Which serving platform's resources are rendered."""

    SELDON_V1 = "seldon_v1"  # SeldonDeployment, machinelearning.seldon.io/v1 (BSL 1.1 since 1.18)
    SELDON_V2 = "seldon_v2"  # Model + Experiment, mlops.seldon.io/v1alpha1 (BSL 1.1)
    KSERVE = "kserve"  # InferenceService, serving.kserve.io/v1beta1 (Apache-2.0)


class KServeDeploymentMode(StrEnum):
    """How KServe runs an InferenceService (its ``serving.kserve.io/deploymentMode``)."""

    SERVERLESS = "Serverless"  # Knative revisions; KServe 0.15+ also calls it "Knative"
    KNATIVE = "Knative"
    RAW_DEPLOYMENT = "RawDeployment"  # a plain Deployment; KServe 0.15+ calls it "Standard"
    STANDARD = "Standard"

    @property
    def splits_traffic(self) -> bool:
        """Whether ``canaryTrafficPercent`` is honoured: only Knative routes split traffic."""
        return self in (KServeDeploymentMode.SERVERLESS, KServeDeploymentMode.KNATIVE)


class MetricsFamily(StrEnum):
    """Whose Prometheus series the canary controller reads."""

    SELDON_EXECUTOR = "seldon_executor"  # seldon_api_executor_server_requests_seconds_*
    ONNX_SERVER = "onnx_server"  # this kit's onnx_server_* (our server and wrapper)
    SELDON_V2 = "seldon_v2"  # Seldon Core v2's agent: seldon_model_infer_total{model,code}


class ContainerResources(BaseModel):
    """Requests and limits of the model container, as Kubernetes quantities."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests: dict[str, str] = Field(
        default_factory=lambda: {"cpu": "500m", "memory": "512Mi"},
        description="What the scheduler reserves per model container (cpu, memory).",
    )
    limits: dict[str, str] = Field(
        default_factory=lambda: {"memory": "1Gi"},
        description="The most a model container may use; above the memory limit it is killed.",
    )

    @field_validator("requests", "limits")
    @classmethod
    def _quantities(cls, values: dict[str, str]) -> dict[str, str]:
        for name, quantity in values.items():
            if name not in RESOURCE_NAMES:
                raise ValueError(f"unknown resource {name!r}; use one of {sorted(RESOURCE_NAMES)}")
            if not QUANTITY.match(str(quantity)):
                raise ValueError(
                    f"{name}={quantity!r} is not a Kubernetes quantity (e.g. '500m', '1', '512Mi')"
                )
        return values


class KubernetesServingConfig(BaseModel):
    """Where and how the model is served on a cluster.

    Credentials never go here: the cluster is reached through a kubeconfig
    context (or the pod's service account), and the storage initializer reads
    the model through ``storage_env_from`` / ``service_account``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: ServingTarget = Field(
        default=ServingTarget.SELDON_V1,
        description="Platform whose resources are rendered: Seldon v1, Seldon v2 or KServe.",
    )
    namespace: str = Field(default="default", description="Namespace of the serving resources.")
    image: str = Field(
        default="",
        description="Serving image (seldon-core wrapper around the ONNX model); "
        "required for seldon_v1 and kserve.",
    )
    replicas: int = Field(default=1, ge=1, le=1000, description="Pods per model version.")
    resources: ContainerResources = Field(
        default_factory=ContainerResources, description="CPU and memory of each model container."
    )
    model_store: str = Field(
        default="",
        description="Folder (s3://, gs://, az:// or a path) models are copied to, one folder per "
        "sha256; default: 'onnx-models' under the active artifact store.",
    )
    model_uri_env: str = Field(
        default="MODEL_URI", description="Variable telling the wrapper where the ONNX file is."
    )
    model_sha256_env: str = Field(
        default="MODEL_SHA256", description="Variable with the digest the wrapper must verify."
    )
    storage_env_from: str | None = Field(
        default=None,
        description="Name of the Kubernetes Secret whose keys Seldon's storage initializer gets "
        "as environment (envSecretRefName); the keys stay in the cluster.",
    )
    service_account: str | None = Field(
        default=None, description="Service account of the model pods (KServe storage access)."
    )
    kserve_deployment_mode: KServeDeploymentMode = Field(
        default=KServeDeploymentMode.SERVERLESS,
        description="KServe deployment mode, rendered as the InferenceService's "
        "serving.kserve.io/deploymentMode annotation: Serverless (or Knative) honours canary "
        "steps; Standard (or RawDeployment) ignores canaryTrafficPercent, so it serves the "
        "champion only and a rollout is refused.",
    )
    seldon_v2_server: str | None = Field(
        default=None, description="Seldon v2 Server to pin Models to; default: by requirements."
    )
    prometheus_url: str | None = Field(
        default=None, description="Prometheus base URL the canary controller queries."
    )
    pod_monitor: bool = Field(
        default=True,
        description="Apply a Prometheus Operator PodMonitor beside each deployment (its CRD must "
        "be installed); false where Prometheus scrapes pods by other means.",
    )
    metrics_family: MetricsFamily | None = Field(
        default=None,
        description="Series the canary controller reads; default: seldon_v2 for seldon_v2, "
        "onnx_server (the serving image's) otherwise.",
    )
    kubernetes_context: str | None = Field(
        default=None, description="kubeconfig context; None: in-cluster config or current context."
    )
    kubernetes_version: str = Field(
        default="1.30", pattern=r"^1\.\d+$", description="Schema version for offline validation."
    )

    @field_validator("model_uri_env", "model_sha256_env")
    @classmethod
    def _variable_name(cls, name: str) -> str:
        if not ENV_NAME.match(name):
            raise ValueError(
                f"{name!r} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"
            )
        return name

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if len(namespace) > 63 or not DNS1123_LABEL.match(namespace):
            raise ValueError(
                f"namespace {namespace!r} is not a DNS-1123 label "
                "(lowercase letters, digits and '-', at most 63 characters)"
            )
        return namespace

    @model_validator(mode="after")
    def _image_when_needed(self) -> KubernetesServingConfig:
        if self.target is not ServingTarget.SELDON_V2 and not self.image:
            raise ValueError(
                f"image is required for target {self.target.value}: the serving image built "
                "from the template's serving/Dockerfile"
            )
        return self

    @property
    def metrics(self) -> MetricsFamily:
        """The series family, resolved for the target."""
        if self.metrics_family is not None:
            return self.metrics_family
        if self.target is ServingTarget.SELDON_V2:
            return MetricsFamily.SELDON_V2
        return MetricsFamily.ONNX_SERVER
