"""A model served on Kubernetes, as a ZenML deployment service.

ZenML keeps the service record; the cluster keeps the truth. Status, the
prediction URL and the rollout plan are read from the live resources, so
``zenml model-deployer models list`` and ``find_model_server`` show what the
cluster serves now, including steps the canary controller took since.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from pydantic import Field
from zenml.enums import ServiceState
from zenml.models.v2.misc.service import ServiceType
from zenml.services import ServiceConfig
from zenml.services.service import BaseDeploymentService
from zenml.services.service_status import ServiceStatus
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig, ServingTarget
from zenml_integrations.onnx.kubernetes.manifests import ServingPlan, resource_name

if TYPE_CHECKING:
    from zenml_integrations.onnx.kubernetes.cluster import ServingCluster

KUBERNETES_SERVICE_TYPE = ServiceType(
    name="onnx-kubernetes",
    type="model-serving",
    flavor="onnx",
    description="ONNX model on Kubernetes (Seldon Core v1/v2 or KServe)",
)
# Labels the platforms put on the model's pods, to find them for logs.
POD_SELECTORS = {
    ServingTarget.SELDON_V1: "seldon-deployment-id={name}",
    ServingTarget.SELDON_V2: "seldon-model={name}",
    ServingTarget.KSERVE: "serving.kserve.io/inferenceservice={name}",
}


class KubernetesOnnxServiceConfig(ServiceConfig):
    """The plan first deployed and the cluster settings it was deployed with."""

    plan: ServingPlan
    serving: KubernetesServingConfig = Field(description="Copied from the deployer at deploy time.")
    deployer_id: str | None = Field(default=None, description="The deployer that deployed it.")


class KubernetesOnnxService(BaseDeploymentService):
    """Applies, reads, stops and deletes the model's resources on the cluster."""

    SERVICE_TYPE = KUBERNETES_SERVICE_TYPE
    config: KubernetesOnnxServiceConfig
    status: ServiceStatus = Field(default_factory=ServiceStatus)

    def cluster(self) -> ServingCluster:
        """A client for the model's namespace (imports the ``kubernetes`` extra)."""
        from zenml_integrations.onnx.kubernetes.cluster import ServingCluster, api_client_for

        return ServingCluster(self.config.serving, api_client_for(self.config.serving))

    def current_plan(self) -> ServingPlan:
        """The live plan (it moves with the rollout), else the one first deployed."""
        return self.cluster().live_plan(self.config.plan.model_name) or self.config.plan

    def check_status(self) -> tuple[ServiceState, str]:
        """The resources' readiness as a ZenML service state."""
        return self.cluster().status(self.config.plan.model_name)

    def provision(self) -> None:
        """Apply the live plan again (a restart keeps the rollout), or the first plan."""
        self.cluster().apply(self.current_plan())

    def deprovision(self, force: bool = False) -> None:
        """Stop serving: Seldon v1 scales to 0, other targets delete their resources."""
        self.cluster().stop(self.current_plan())

    def delete_resources(self) -> None:
        """Remove every resource of the model from the cluster."""
        self.cluster().delete(self.config.plan.model_name)

    def get_logs(self, follow: bool = False, tail: int | None = None) -> Generator[str, bool, None]:
        """Log lines of the model's pods (the newest ``tail`` lines of each)."""
        from kubernetes import client as k8s
        from zenml_integrations.onnx.kubernetes.cluster import api_client_for

        serving = self.config.serving
        core = k8s.CoreV1Api(api_client_for(serving))
        name = resource_name(self.config.plan.model_name)
        selector = POD_SELECTORS[serving.target].format(name=name)
        pods = core.list_namespaced_pod(serving.namespace, label_selector=selector).items
        for pod in pods:
            text = core.read_namespaced_pod_log(
                pod.metadata.name, serving.namespace, tail_lines=tail, follow=follow
            )
            for line in str(text).splitlines():
                yield f"{pod.metadata.name}: {line}"

    @property
    def prediction_url(self) -> str | None:
        """Where clients send requests, as the cluster reports it."""
        return self.cluster().prediction_url(self.config.plan.model_name)

    @property
    def healthcheck_url(self) -> str | None:
        """Kubernetes probes the pods; there is no single health URL to report."""
        return None
