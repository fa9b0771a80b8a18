"""Seldon Core v1/v2 and KServe manifests from the deployment config the local server uses.

The rollout state (champion, challenger, strategy, step) is written into the
rendered resources, so the cluster itself remembers where a rollout stands and
the canary controller can continue it from any process: as an annotation of the
SeldonDeployment or Experiment, and for KServe in a ConfigMap beside the
InferenceService (KServe copies an InferenceService's annotations into the
Knative revision template, so a changing annotation would start new pods on
every step). Each target renders what it can honour and refuses the rest.
Rendering is a pure function: the same plan and settings give the same bytes.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.kubernetes.config import (
    DNS1123_LABEL,
    KServeDeploymentMode,
    KubernetesServingConfig,
    ServingTarget,
)
from zenml_integrations.onnx.rollout.config import RolloutConfig, Strategy
from zenml_integrations.onnx.rollout.version import VersionLabel

ANNOTATION_PREFIX = "mlops-kit.io"
PLAN_ANNOTATION = f"{ANNOTATION_PREFIX}/rollout-plan"
KSERVE_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
MANAGED_BY = "zenml-mlops-kit"
MODEL_MOUNT = "/mnt/models"  # where Seldon's and KServe's storage initializers put the model
MODEL_FILE = "1/model.onnx"  # Triton's layout, so Seldon v2 (Triton) loads the same folder
HTTP_PORT, GRPC_PORT, METRICS_PORT = 9000, 9500, 6000


class ManifestError(OnnxError):
    """A plan cannot be rendered for the chosen target; the message says what to change."""


class ModelVariant(BaseModel):
    """One ONNX model version as the cluster fetches it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: VersionLabel  # the label rule is the Kubernetes label-value syntax
    model_uri: str = Field(min_length=1, description="Folder holding 1/model.onnx.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ServingPlan(BaseModel):
    """What should serve: the champion, an optional challenger, and the rollout's position."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str = Field(min_length=1)
    champion: ModelVariant
    challenger: ModelVariant | None = None
    rollout: RolloutConfig = Field(default_factory=RolloutConfig)
    step_index: int = Field(default=0, ge=0)
    rolled_back_reason: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ServingPlan:
        if self.step_index >= len(self.rollout.steps):
            raise ValueError(
                f"step_index {self.step_index} is past the last of the rollout's "
                f"{len(self.rollout.steps)} steps"
            )
        if self.challenger is not None and self.challenger.version == self.champion.version:
            raise ValueError(f"challenger version {self.challenger.version} is the champion's")
        return self

    @property
    def challenger_percent(self) -> int:
        """Share of live traffic the challenger answers, in percent (0 for shadow)."""
        if self.challenger is None or self.rollout.strategy is Strategy.SHADOW:
            return 0
        if self.rollout.strategy is Strategy.BLUE_GREEN:
            return 100
        return round(self.rollout.steps[self.step_index] * 100)


def resource_name(model_name: str, suffix: str = "") -> str:
    """A DNS-1123 name for the model's resources ('churn_model' -> 'churn-model').

    Raises:
        ManifestError: when the name cannot be made valid by lowercasing and
            replacing '_' and '.' with '-'.
    """
    base = model_name.lower().replace("_", "-").replace(".", "-")
    name = f"{base}-{suffix.lower().replace('_', '-').replace('.', '-')}" if suffix else base
    if len(name) > 63 or not DNS1123_LABEL.match(name):
        raise ManifestError(
            f"model name {model_name!r}{f' with {suffix!r}' if suffix else ''} gives resource "
            f"name {name!r}, which is not a DNS-1123 label (lowercase letters, digits and '-', "
            "alphanumeric at both ends, at most 63 characters); rename the model"
        )
    return name


def render(
    plan: ServingPlan, serving: KubernetesServingConfig, replicas: int | None = None
) -> list[dict[str, Any]]:
    """The resources that serve ``plan`` on ``serving.target``.

    Args:
        plan: champion, challenger and rollout position.
        serving: the deployer's Kubernetes settings.
        replicas: override of ``serving.replicas`` (0 stops a Seldon v1 deployment).

    Raises:
        ManifestError: for a strategy the target cannot express.
    """
    count = serving.replicas if replicas is None else replicas
    if serving.target is ServingTarget.SELDON_V1:
        return [_seldon_deployment(plan, serving, count)]
    if serving.target is ServingTarget.SELDON_V2:
        return _seldon_v2(plan, serving, count)
    return _inference_service(plan, serving, count)


def to_yaml(manifests: list[dict[str, Any]]) -> str:
    """Multi-document YAML with sorted keys: identical input gives identical bytes."""
    return yaml.safe_dump_all(manifests, sort_keys=True, default_flow_style=False)


def plan_config_map_name(model_name: str) -> str:
    """The ConfigMap that holds a KServe model's plan (and any target's plan while stopped)."""
    return resource_name(model_name, "rollout-plan")


def plan_config_map(plan: ServingPlan, namespace: str) -> dict[str, Any]:
    """The plan as a ConfigMap: state that must not touch a pod template."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": plan_config_map_name(plan.model_name),
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": resource_name(plan.model_name),
                "app.kubernetes.io/managed-by": MANAGED_BY,
            },
        },
        "data": {"plan": plan.model_dump_json()},
    }


def read_plan(resource: dict[str, Any]) -> ServingPlan:
    """The plan a rendered (or live) resource was rendered from.

    Raises:
        ManifestError: when the resource was not rendered by this kit.
    """
    if resource.get("kind") == "ConfigMap" and "plan" in (resource.get("data") or {}):
        return ServingPlan.model_validate_json(resource["data"]["plan"])
    annotations = resource.get("metadata", {}).get("annotations") or {}
    if PLAN_ANNOTATION not in annotations:
        name = resource.get("metadata", {}).get("name")
        raise ManifestError(f"{resource.get('kind')} {name!r} has no {PLAN_ANNOTATION} annotation")
    return ServingPlan.model_validate_json(annotations[PLAN_ANNOTATION])


def _metadata(
    plan: ServingPlan,
    serving: KubernetesServingConfig,
    name: str,
    variant: ModelVariant | None = None,
) -> dict[str, Any]:
    shown = variant or plan.champion
    labels = {
        "app.kubernetes.io/name": resource_name(plan.model_name),
        "app.kubernetes.io/managed-by": MANAGED_BY,
        f"{ANNOTATION_PREFIX}/model-version": shown.version,
    }
    annotations = {
        f"{ANNOTATION_PREFIX}/model-name": plan.model_name,
        f"{ANNOTATION_PREFIX}/onnx-sha256": shown.sha256,
    }
    if variant is None:  # the resource that carries the whole rollout
        annotations[PLAN_ANNOTATION] = plan.model_dump_json()
    return {
        "name": name,
        "namespace": serving.namespace,
        "labels": labels,
        "annotations": annotations,
    }


def _scrape_annotations(port: int, path: str) -> dict[str, str]:
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": path,
    }


def _container(
    name: str,
    variant: ModelVariant,
    serving: KubernetesServingConfig,
    extra_env: list[dict[str, str]],
    ports: list[dict[str, Any]],
) -> dict[str, Any]:
    """The generic model container: our image, told where the model is and its digest."""
    env = [
        *extra_env,
        {"name": serving.model_uri_env, "value": f"{MODEL_MOUNT}/{MODEL_FILE}"},
        {"name": serving.model_sha256_env, "value": variant.sha256},
        {"name": "MODEL_VERSION", "value": variant.version},
    ]
    resources = serving.resources
    return {
        "name": name,
        "image": serving.image,
        "env": env,
        "ports": ports,
        "resources": {
            key: dict(value)
            for key, value in (("requests", resources.requests), ("limits", resources.limits))
            if value
        },
    }


# ---- Seldon Core v1 ------------------------------------------------------------------------
def _seldon_predictor(
    plan: ServingPlan,
    serving: KubernetesServingConfig,
    role: str,
    variant: ModelVariant,
    replicas: int,
) -> dict[str, Any]:
    ports = [
        {"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"},
        {"name": "grpc", "containerPort": GRPC_PORT, "protocol": "TCP"},
        {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
    ]
    graph: dict[str, Any] = {
        "name": "model",
        "type": "MODEL",
        "modelUri": variant.model_uri,
        "children": [],
    }
    if serving.storage_env_from:
        graph["envSecretRefName"] = serving.storage_env_from
    model_name = [{"name": "MODEL_NAME", "value": plan.model_name}]  # the series' model label
    pod_spec: dict[str, Any] = {
        "containers": [_container("model", variant, serving, model_name, ports)]
    }
    if serving.service_account:
        pod_spec["serviceAccountName"] = serving.service_account
    return {
        "name": role,
        "replicas": replicas,
        "labels": {
            f"{ANNOTATION_PREFIX}/model-version": variant.version,
            f"{ANNOTATION_PREFIX}/variant": role,
        },
        # No prometheus.io annotations: the operator's own point at its executor's /prometheus;
        # our image's /metrics is scraped through the PodMonitor (kubernetes/scraping.py).
        "componentSpecs": [{"spec": pod_spec}],
        "graph": graph,
    }


def _seldon_deployment(
    plan: ServingPlan, serving: KubernetesServingConfig, replicas: int
) -> dict[str, Any]:
    """SeldonDeployment: a champion predictor, and a canary (traffic) or shadow predictor.

    Blue-green keeps the champion predictor at its replicas with 0 % traffic:
    warm, and back in one apply on a rollback.
    """
    if plan.challenger is not None and plan.rollout.strategy is Strategy.AB:
        raise _refused(
            plan,
            serving,
            "a SeldonDeployment splits traffic between predictors per request at random "
            "(Istio or Ambassador weights), so a client would switch versions between requests",
            "use target seldon_v2 (its Experiment keeps a client on one version through the "
            "x-seldon-route header) or strategy canary",
        )
    champion = _seldon_predictor(plan, serving, "champion", plan.champion, replicas)
    predictors = [champion]
    if plan.challenger is not None:
        if plan.rollout.strategy is Strategy.SHADOW:
            shadow = _seldon_predictor(plan, serving, "shadow", plan.challenger, replicas)
            shadow["shadow"] = True
            predictors.append(shadow)
        else:
            canary = _seldon_predictor(plan, serving, "canary", plan.challenger, replicas)
            canary["traffic"] = plan.challenger_percent
            champion["traffic"] = 100 - plan.challenger_percent
            predictors.append(canary)
    name = resource_name(plan.model_name)
    return {
        "apiVersion": "machinelearning.seldon.io/v1",
        "kind": "SeldonDeployment",
        "metadata": _metadata(plan, serving, name),
        "spec": {"name": name, "protocol": "seldon", "predictors": predictors},
    }


# ---- Seldon Core v2 ------------------------------------------------------------------------
def _seldon_v2_model(
    plan: ServingPlan, serving: KubernetesServingConfig, variant: ModelVariant, replicas: int
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "storageUri": variant.model_uri,
        "requirements": ["onnx"],
        "replicas": replicas,
    }
    if "memory" in serving.resources.requests:
        spec["memory"] = serving.resources.requests["memory"]
    if serving.seldon_v2_server:
        spec["server"] = serving.seldon_v2_server
    name = resource_name(plan.model_name, variant.version)
    return {
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Model",
        "metadata": _metadata(plan, serving, name, variant),
        "spec": spec,
    }


def _seldon_v2(
    plan: ServingPlan, serving: KubernetesServingConfig, replicas: int
) -> list[dict[str, Any]]:
    """One Model per version, and an Experiment that is the model's stable address.

    Clients call ``<name>.experiment``; its candidates' weights carry the
    canary and A/B split and its mirror the shadow, so promotion changes no
    client. A/B is sticky through Seldon's own sessions: each response names
    the candidate in its ``x-seldon-route`` header, and a client that sends
    it back stays on that version. Blue-green keeps the champion's Model
    loaded (out of the candidates) until the promotion deletes it.
    """
    champion_name = resource_name(plan.model_name, plan.champion.version)
    resources = [_seldon_v2_model(plan, serving, plan.champion, replicas)]
    candidates = [{"name": champion_name, "weight": 100 - plan.challenger_percent}]
    spec: dict[str, Any] = {"candidates": candidates}
    if plan.challenger is not None:
        resources.append(_seldon_v2_model(plan, serving, plan.challenger, replicas))
        challenger_name = resource_name(plan.model_name, plan.challenger.version)
        if plan.rollout.strategy is Strategy.SHADOW:
            spec["mirror"] = {"name": challenger_name, "percent": 100}
        elif plan.challenger_percent == 100:
            candidates[0] = {"name": challenger_name, "weight": 100}
        else:
            candidates.append({"name": challenger_name, "weight": plan.challenger_percent})
    resources.append(
        {
            "apiVersion": "mlops.seldon.io/v1alpha1",
            "kind": "Experiment",
            "metadata": _metadata(plan, serving, resource_name(plan.model_name)),
            "spec": spec,
        }
    )
    return resources


# ---- KServe --------------------------------------------------------------------------------
def _inference_service(
    plan: ServingPlan, serving: KubernetesServingConfig, replicas: int
) -> list[dict[str, Any]]:
    """InferenceService and the ConfigMap with the plan.

    KServe keeps the last fully rolled-out revision as the champion: the
    predictor always describes the newest version, and ``canaryTrafficPercent``
    sends that share to it and the rest to the previous ready revision. Only
    Knative (Serverless mode) honours that field, and KServe copies the
    InferenceService's labels and annotations into the revision template, so
    the metadata here names the newest version only: two steps of a rollout
    differ in ``canaryTrafficPercent`` alone and start no new revision.
    """
    mode = serving.kserve_deployment_mode
    if plan.challenger is not None:
        _kserve_refusals(plan, serving, mode)
    newest = plan.challenger or plan.champion
    ports = [{"containerPort": HTTP_PORT, "protocol": "TCP"}]
    # KServe's webhook downloads STORAGE_URI into /mnt/models for a container of this name.
    container = _container(
        "kserve-container",
        newest,
        serving,
        [
            {"name": "STORAGE_URI", "value": newest.model_uri},
            {"name": "MODEL_NAME", "value": plan.model_name},  # the series' model label
        ],
        ports,
    )
    predictor: dict[str, Any] = {
        "minReplicas": replicas,
        "maxReplicas": max(replicas, 1),
        "labels": {f"{ANNOTATION_PREFIX}/model-version": newest.version},
        "annotations": _scrape_annotations(METRICS_PORT, "/metrics"),
        "containers": [container],
    }
    if plan.challenger is not None and plan.challenger_percent < 100:
        predictor["canaryTrafficPercent"] = plan.challenger_percent
    if serving.service_account:
        predictor["serviceAccountName"] = serving.service_account
    # Metadata of one version (no plan): it is copied into the revision template.
    metadata = _metadata(plan, serving, resource_name(plan.model_name), newest)
    metadata["annotations"][KSERVE_MODE_ANNOTATION] = mode.value
    inference_service = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata,
        "spec": {"predictor": predictor},
    }
    # The InferenceService first: the plan is recorded once the cluster took it.
    return [inference_service, plan_config_map(plan, serving.namespace)]


def _kserve_refusals(
    plan: ServingPlan, serving: KubernetesServingConfig, mode: KServeDeploymentMode
) -> None:
    """Refuse what an InferenceService would silently do otherwise."""
    strategy = plan.rollout.strategy
    elsewhere = "use target seldon_v1 or seldon_v2"
    if strategy is Strategy.SHADOW:
        raise _refused(
            plan,
            serving,
            "an InferenceService has no traffic mirroring",
            f"{elsewhere}, or strategy canary",
        )
    if strategy is Strategy.AB:
        raise _refused(
            plan,
            serving,
            "Knative splits an InferenceService's traffic per request at random, with no "
            "sticky routing, so a client would switch versions between requests",
            "use target seldon_v2 (sticky Experiment sessions) or strategy canary",
        )
    if strategy is Strategy.BLUE_GREEN:
        raise _refused(
            plan,
            serving,
            "with all traffic on the new revision Knative routes nothing to the previous "
            "one and scales it to zero, so the old version is not kept warm",
            f"{elsewhere} (both keep the champion running), or strategy canary",
        )
    if not mode.splits_traffic:
        raise ManifestError(
            f"strategy {strategy.value!r} cannot be rendered for target 'kserve' in "
            f"deployment mode {mode.value!r}: only Knative (Serverless mode) honours "
            "canaryTrafficPercent, a raw Deployment would send 100 % to the new version at "
            "once; set the deployer's kubernetes.kserve_deployment_mode to Serverless (needs "
            "Knative Serving in the cluster) or use target seldon_v1 or seldon_v2"
        )


def _refused(
    plan: ServingPlan, serving: KubernetesServingConfig, why: str, instead: str
) -> ManifestError:
    return ManifestError(
        f"strategy {plan.rollout.strategy.value!r} cannot be rendered for target "
        f"{serving.target.value!r}: {why}; {instead}"
    )
