"""Apply, read, stop and delete the rendered resources through the Kubernetes API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as kubeconfig
from kubernetes.client.exceptions import ApiException
from zenml.enums import ServiceState
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.kubernetes.config import (
    KServeDeploymentMode,
    KubernetesServingConfig,
    ServingTarget,
)
from zenml_integrations.onnx.kubernetes.manifests import (
    KSERVE_MODE_ANNOTATION,
    MANAGED_BY,
    ServingPlan,
    plan_config_map,
    plan_config_map_name,
    read_plan,
    render,
    resource_name,
)
from zenml_integrations.onnx.kubernetes.schema import validate_manifests
from zenml_integrations.onnx.kubernetes.scraping import pod_monitor


class ClusterError(OnnxError):
    """The Kubernetes API refused a call; the message has the API's reason."""


@dataclass(frozen=True)
class CustomResource:
    """Where the API serves one kind of custom resource."""

    group: str
    version: str
    plural: str


RESOURCES: dict[str, CustomResource] = {
    "SeldonDeployment": CustomResource("machinelearning.seldon.io", "v1", "seldondeployments"),
    "Model": CustomResource("mlops.seldon.io", "v1alpha1", "models"),
    "Experiment": CustomResource("mlops.seldon.io", "v1alpha1", "experiments"),
    "InferenceService": CustomResource("serving.kserve.io", "v1beta1", "inferenceservices"),
    "PodMonitor": CustomResource("monitoring.coreos.com", "v1", "podmonitors"),
}
TARGET_KINDS: dict[ServingTarget, tuple[str, ...]] = {
    ServingTarget.SELDON_V1: ("SeldonDeployment", "PodMonitor"),
    ServingTarget.SELDON_V2: ("Model", "Experiment", "PodMonitor"),
    ServingTarget.KSERVE: ("InferenceService", "PodMonitor"),
}
# The kind that holds the model's address and state, per target; it carries the
# rollout plan annotation too, except on KServe (the plan is in a ConfigMap there).
PLAN_KIND = {
    ServingTarget.SELDON_V1: "SeldonDeployment",
    ServingTarget.SELDON_V2: "Experiment",
    ServingTarget.KSERVE: "InferenceService",
}


def api_client_for(serving: KubernetesServingConfig) -> k8s.ApiClient:
    """A client for the configured context, or the pod's service account inside a cluster.

    A step pod of the Kubernetes orchestrator has no kubeconfig: there the
    context named for the machine that submitted the run is not found, and the
    pod's service account (see the RBAC in docs/kubernetes.md) is used instead.
    """
    if serving.kubernetes_context is None and (in_cluster := _in_cluster_client()) is not None:
        return in_cluster
    try:
        return kubeconfig.new_client_from_config(context=serving.kubernetes_context)
    except (kubeconfig.ConfigException, OSError) as error:
        if (in_cluster := _in_cluster_client()) is not None:
            return in_cluster
        raise ClusterError(
            f"cannot reach a cluster with kubernetes_context={serving.kubernetes_context!r}: "
            f"{error}; set the deployer's kubernetes.kubernetes_context to a context of "
            "your kubeconfig (kubectl config get-contexts)"
        ) from error


def _in_cluster_client() -> k8s.ApiClient | None:
    """The pod's service account, or None outside a cluster."""
    try:
        kubeconfig.load_incluster_config()
    except kubeconfig.ConfigException:
        return None
    return k8s.ApiClient()


class ServingCluster:
    """The model's serving resources in one namespace of one cluster."""

    def __init__(self, serving: KubernetesServingConfig, api_client: k8s.ApiClient) -> None:
        self.serving = serving
        self._api = k8s.CustomObjectsApi(api_client)
        self._core = k8s.CoreV1Api(api_client)

    # ---- generic calls -------------------------------------------------------------------
    def _call(
        self, action: str, kind: str, name: str, method: str, *args: Any, **kwargs: Any
    ) -> Any:
        where = RESOURCES[kind]
        try:
            return getattr(self._api, method)(
                where.group, where.version, self.serving.namespace, where.plural, *args, **kwargs
            )
        except ApiException as error:
            if error.status == 404 and action in ("get", "delete"):
                return None
            raise _call_failed(f"{action} {kind} {self.serving.namespace}/{name}", error) from error

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        """The live resource, or None when it does not exist."""
        found: dict[str, Any] | None = self._call(
            "get", kind, name, "get_namespaced_custom_object", name
        )
        return found

    def apply_resource(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create the resource, or replace the live one (optimistic on its resourceVersion)."""
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        if kind == "ConfigMap":
            return self._apply_config_map(manifest)
        live = self.get(kind, name)
        if kind == "InferenceService" and live is not None:
            _same_kserve_mode(live, manifest)
        if live is None:
            created: dict[str, Any] = self._call(
                "create", kind, name, "create_namespaced_custom_object", manifest
            )
            return created
        body = {
            **manifest,
            "metadata": {
                **manifest["metadata"],
                "resourceVersion": live["metadata"]["resourceVersion"],
            },
        }
        replaced: dict[str, Any] = self._call(
            "replace", kind, name, "replace_namespaced_custom_object", name, body
        )
        return replaced

    def delete_resource(self, kind: str, name: str) -> None:
        """Delete one resource; a missing one is already deleted."""
        self._call("delete", kind, name, "delete_namespaced_custom_object", name)

    def _managed(self, model_name: str) -> list[tuple[str, str]]:
        """(kind, name) of every resource this kit created for the model, for the target."""
        selector = (
            f"app.kubernetes.io/name={resource_name(model_name)},"
            f"app.kubernetes.io/managed-by={MANAGED_BY}"
        )
        found = []
        for kind in self._kinds():
            listing = self._call(
                "list", kind, selector, "list_namespaced_custom_object", label_selector=selector
            )
            found += [(kind, item["metadata"]["name"]) for item in listing.get("items", [])]
        return found

    # ---- what the deployer and the canary controller do ----------------------------------
    def apply(self, plan: ServingPlan, replicas: int | None = None) -> list[dict[str, Any]]:
        """Render, validate offline, then create or replace; prune what the plan dropped.

        Raises:
            ManifestError, ManifestInvalid: before any call, for a bad plan.
            ClusterError: when the API refuses a call.
        """
        manifests = render(plan, self.serving, replicas)
        if self.serving.pod_monitor:
            manifests.append(pod_monitor(plan, self.serving))
        validate_manifests(manifests, self.serving.kubernetes_version)
        applied = [self.apply_resource(manifest) for manifest in manifests]
        wanted = {(m["kind"], m["metadata"]["name"]) for m in manifests}
        # Experiments go before the Models they reference.
        stale = sorted(
            set(self._managed(plan.model_name)) - wanted, key=lambda item: item[0] != "Experiment"
        )
        for kind, name in stale:
            self.delete_resource(kind, name)
        return applied

    def live_plan(self, model_name: str) -> ServingPlan | None:
        """The plan the live resources were rendered from (the rollout's state).

        KServe's plan is always in its ConfigMap. While a Seldon v2 model is
        stopped its resources are gone; the plan kept at stop time is returned
        then, so a start serves what was served before (promotions included).
        """
        if self.serving.target is not ServingTarget.KSERVE:
            live = self.get(PLAN_KIND[self.serving.target], resource_name(model_name))
            if live is not None:
                return read_plan(live)
        kept = self._config_maps("read", model_name)
        return ServingPlan.model_validate_json(kept.data["plan"]) if kept is not None else None

    def stop(self, plan: ServingPlan) -> None:
        """Seldon v1 scales every predictor to 0; other targets keep the plan and delete."""
        if self.serving.target is ServingTarget.SELDON_V1:
            self.apply(plan, replicas=0)
            return
        self._apply_config_map(plan_config_map(plan, self.serving.namespace))
        self._delete_resources(plan.model_name)

    def _kinds(self) -> tuple[str, ...]:
        """The kinds this deployer creates on its target (a PodMonitor only when configured)."""
        kinds = TARGET_KINDS[self.serving.target]
        return kinds if self.serving.pod_monitor else tuple(k for k in kinds if k != "PodMonitor")

    def _apply_config_map(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Create or replace the ConfigMap that holds a plan."""
        model_name = read_plan(manifest).model_name
        action = "create" if self._config_maps("read", model_name) is None else "replace"
        written = self._config_maps(action, model_name, manifest)
        as_dict: dict[str, Any] = self._core.api_client.sanitize_for_serialization(written)
        return as_dict

    def delete(self, model_name: str) -> None:
        """Delete every resource of the model, and a plan kept by ``stop``."""
        self._delete_resources(model_name)
        self._config_maps("delete", model_name)

    def _delete_resources(self, model_name: str) -> None:
        for kind, name in sorted(
            self._managed(model_name), key=lambda item: item[0] != "Experiment"
        ):
            self.delete_resource(kind, name)

    def _config_maps(self, action: str, model_name: str, body: dict[str, Any] | None = None) -> Any:
        """Read, create, replace or delete the ConfigMap that keeps a stopped model's plan."""
        name, namespace = plan_config_map_name(model_name), self.serving.namespace
        arguments = {
            "read": (name, namespace),
            "create": (namespace, body),
            "replace": (name, namespace, body),
            "delete": (name, namespace),
        }[action]
        try:
            return getattr(self._core, f"{action}_namespaced_config_map")(*arguments)
        except ApiException as error:
            if error.status == 404 and action in ("read", "delete"):
                return None
            raise _call_failed(f"{action} ConfigMap {namespace}/{name}", error) from error

    def status(self, model_name: str) -> tuple[ServiceState, str]:
        """ZenML's view of the model's resources: state and a one-line reason."""
        kind = PLAN_KIND[self.serving.target]
        name = resource_name(model_name)
        live = self.get(kind, name)
        if live is None:
            return ServiceState.INACTIVE, f"{kind} {self.serving.namespace}/{name} does not exist"
        if self.serving.target is ServingTarget.SELDON_V1:
            return _seldon_v1_state(live)
        resources = [live]
        if self.serving.target is ServingTarget.SELDON_V2:
            plan = read_plan(live)
            for variant in filter(None, (plan.champion, plan.challenger)):
                model = self.get("Model", resource_name(model_name, variant.version))
                if model is None:
                    return (
                        ServiceState.PENDING_STARTUP,
                        f"Model for version {variant.version} missing",
                    )
                resources.append(model)
        return _conditions_state(resources)

    def prediction_url(self, model_name: str) -> str | None:
        """Where clients send requests, from the resource's status where the target reports it."""
        name = resource_name(model_name)
        if self.serving.target is ServingTarget.SELDON_V2:
            # Seldon v2 routes by the Seldon-Model header: '<name>.experiment'.
            return f"http://seldon-mesh.{self.serving.namespace}/v2/models/{name}.experiment/infer"
        live = self.get(PLAN_KIND[self.serving.target], name)
        status = (live or {}).get("status") or {}
        if self.serving.target is ServingTarget.SELDON_V1:
            url = (status.get("address") or {}).get("url")
            return str(url) if url else None
        url = status.get("url")
        return f"{url}/api/v1.0/predictions" if url else None


def _seldon_v1_state(live: dict[str, Any]) -> tuple[ServiceState, str]:
    predictors = live["spec"]["predictors"]
    if all(predictor.get("replicas", 1) == 0 for predictor in predictors):
        return ServiceState.INACTIVE, "every predictor is scaled to 0"
    status = live.get("status") or {}
    state = status.get("state", "")
    counts = ", ".join(
        f"{deployment}: {info.get('availableReplicas', 0)}/{info.get('replicas', 0)} available"
        for deployment, info in sorted((status.get("deploymentStatus") or {}).items())
    )
    detail = f"{state or 'no status yet'}{f' ({counts})' if counts else ''}"
    if state == "Available":
        return ServiceState.ACTIVE, detail
    if state == "Failed":
        return ServiceState.ERROR, f"{detail}: {status.get('description', '')}".rstrip(": ")
    return ServiceState.PENDING_STARTUP, detail


def _conditions_state(resources: list[dict[str, Any]]) -> tuple[ServiceState, str]:
    """Ready conditions of KServe and Seldon v2 resources: all ready, one failed, or waiting."""
    waiting = []
    for resource in resources:
        what = f"{resource['kind']} {resource['metadata']['name']}"
        conditions = (resource.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), None)
        if ready is not None and ready.get("status") == "True":
            continue
        reason = (ready or {}).get("reason", "") + " " + (ready or {}).get("message", "")
        transition = ((resource.get("status") or {}).get("modelStatus") or {}).get(
            "transitionStatus"
        )
        if "Fail" in reason or transition in ("BlockedByFailedLoad", "InvalidSpec"):
            return ServiceState.ERROR, f"{what}: {reason.strip() or transition}"
        waiting.append(f"{what}: {reason.strip() or 'not ready yet'}")
    if waiting:
        return ServiceState.PENDING_STARTUP, "; ".join(waiting)
    return ServiceState.ACTIVE, "ready"


def _same_kserve_mode(live: dict[str, Any], manifest: dict[str, Any]) -> None:
    """Refuse to change a live InferenceService's deployment mode: KServe keeps the first one.

    Raises:
        ClusterError: naming both modes and what to change.
    """
    recorded = (live.get("status") or {}).get("deploymentMode") or (
        live["metadata"].get("annotations") or {}
    ).get(KSERVE_MODE_ANNOTATION)
    wanted = manifest["metadata"]["annotations"][KSERVE_MODE_ANNOTATION]
    if recorded and _kserve_mode(recorded) != _kserve_mode(wanted):
        name = f"{manifest['metadata']['namespace']}/{manifest['metadata']['name']}"
        raise ClusterError(
            f"InferenceService {name} runs in KServe deployment mode {recorded!r}, the deployer "
            f"renders {wanted!r}, and KServe cannot change the mode of an existing "
            f"InferenceService; set kubernetes.kserve_deployment_mode to {recorded!r} or "
            "delete the model server first"
        )


def _kserve_mode(value: str) -> str:
    """A mode under its current KServe name (Serverless is Knative, RawDeployment is Standard)."""
    legacy = {
        KServeDeploymentMode.SERVERLESS.value: KServeDeploymentMode.KNATIVE.value,
        KServeDeploymentMode.RAW_DEPLOYMENT.value: KServeDeploymentMode.STANDARD.value,
    }
    return legacy.get(value, value)


def _call_failed(call: str, error: ApiException) -> ClusterError:
    """The API's refusal, with its status and the start of its body."""
    return ClusterError(
        f"{call} failed: HTTP {error.status} {error.reason}: {(error.body or '').strip()[:500]}"
    )
