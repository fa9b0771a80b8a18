"""Offline validation of rendered manifests, before anything reaches a cluster.

Core Kubernetes objects inside the custom resources (pod specs, containers,
resources, env, ports, object metadata) are checked against the Kubernetes
OpenAPI schemas that ``kubernetes-validate`` ships (strict: unknown fields are
errors). The custom resources' own fields are checked against the models
below, which forbid unknown fields: an API server prunes unknown fields of a
structural CRD silently, so a typo would otherwise vanish without an error.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import kubernetes_validate
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.kubernetes.config import DNS1123_LABEL, QUANTITY

KSERVE_PREDICTOR_FIELDS = frozenset(
    {
        "minReplicas",
        "maxReplicas",
        "canaryTrafficPercent",
        "labels",
        "annotations",
        "scaleTarget",
        "scaleMetric",
        "containerConcurrency",
        "timeout",
        "deploymentStrategy",
    }
)


class ManifestInvalid(OnnxError):
    """A manifest breaks the Kubernetes schema or its custom resource's fields."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dns_label(value: str, what: str) -> str:
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise ValueError(f"{what} {value!r} is not a DNS-1123 label")
    return value


class Metadata(_Strict):
    """The part of ObjectMeta the kit renders (all of it is also checked against ObjectMeta)."""

    name: str
    namespace: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("name", "namespace")
    @classmethod
    def _dns(cls, value: str | None) -> str | None:
        return None if value is None else _dns_label(value, "name")


# ---- Seldon Core v1 (machinelearning.seldon.io/v1) ------------------------------------------
class SeldonGraph(_Strict):
    """A node of a predictor's inference graph."""

    name: str
    type: Literal["MODEL", "ROUTER", "COMBINER", "TRANSFORMER", "OUTPUT_TRANSFORMER"] | None = None
    implementation: str | None = None
    modelUri: str | None = None
    envSecretRefName: str | None = None
    serviceAccountName: str | None = None
    endpoint: dict[str, Any] | None = None
    parameters: list[dict[str, str]] | None = None
    children: list[SeldonGraph] = Field(default_factory=list)


class SeldonComponentSpec(_Strict):
    """Pod template of a predictor: ``spec`` is a core PodSpec, checked by the schemas."""

    metadata: dict[str, Any] | None = None
    spec: dict[str, Any]
    replicas: int | None = Field(default=None, ge=0)
    hpaSpec: dict[str, Any] | None = None


class SeldonPredictor(_Strict):
    """One predictor: its pods, its graph, and its share of traffic."""

    name: str
    graph: SeldonGraph
    componentSpecs: list[SeldonComponentSpec] = Field(default_factory=list)
    replicas: int | None = Field(default=None, ge=0)
    traffic: int | None = Field(default=None, ge=0, le=100)
    shadow: bool | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    engineResources: dict[str, Any] | None = None

    @field_validator("name")
    @classmethod
    def _dns(cls, value: str) -> str:
        return _dns_label(value, "predictor name")

    @model_validator(mode="after")
    def _graph_has_container(self) -> SeldonPredictor:
        containers = {
            container.get("name")
            for component in self.componentSpecs
            for container in component.spec.get("containers", [])
        }
        if self.graph.implementation is None and self.graph.name not in containers:
            raise ValueError(
                f"graph node {self.graph.name!r} names no container of the predictor "
                f"(containers: {sorted(str(name) for name in containers)})"
            )
        return self


class SeldonDeploymentSpec(_Strict):
    """``spec`` of a SeldonDeployment."""

    name: str | None = None
    protocol: Literal["seldon", "tensorflow", "kfserving", "v2"] | None = None
    transport: Literal["rest", "grpc"] | None = None
    replicas: int | None = Field(default=None, ge=0)
    annotations: dict[str, str] = Field(default_factory=dict)
    predictors: list[SeldonPredictor] = Field(min_length=1)

    @field_validator("predictors")
    @classmethod
    def _traffic(cls, predictors: list[SeldonPredictor]) -> list[SeldonPredictor]:
        names = [predictor.name for predictor in predictors]
        if len(set(names)) != len(names):
            raise ValueError(f"predictor names must be unique, got {names}")
        live = [predictor for predictor in predictors if not predictor.shadow]
        if not live:
            raise ValueError("every predictor is a shadow: one must answer")
        if len(live) > 1:
            split = {predictor.name: predictor.traffic or 0 for predictor in live}
            if sum(split.values()) != 100:
                raise ValueError(f"traffic of the non-shadow predictors must sum to 100: {split}")
        return predictors


class SeldonDeployment(_Strict):
    """A Seldon Core v1 deployment."""

    apiVersion: Literal["machinelearning.seldon.io/v1"]
    kind: Literal["SeldonDeployment"]
    metadata: Metadata
    spec: SeldonDeploymentSpec


# ---- Seldon Core v2 (mlops.seldon.io/v1alpha1) ----------------------------------------------
class SeldonModelSpec(_Strict):
    """``spec`` of a Seldon v2 Model."""

    storageUri: str = Field(min_length=1)
    requirements: list[str] = Field(default_factory=list)
    replicas: int | None = Field(default=None, ge=0)
    minReplicas: int | None = Field(default=None, ge=0)
    maxReplicas: int | None = Field(default=None, ge=0)
    memory: str | None = None
    server: str | None = None
    secretName: str | None = None
    artifactVersion: int | None = None

    @field_validator("memory")
    @classmethod
    def _quantity(cls, memory: str | None) -> str | None:
        if memory is not None and not QUANTITY.match(memory):
            raise ValueError(f"memory {memory!r} is not a Kubernetes quantity")
        return memory


class SeldonModel(_Strict):
    """A Seldon Core v2 Model."""

    apiVersion: Literal["mlops.seldon.io/v1alpha1"]
    kind: Literal["Model"]
    metadata: Metadata
    spec: SeldonModelSpec


class ExperimentCandidate(_Strict):
    """A model in an experiment and its weight."""

    name: str
    weight: int = Field(ge=0, le=100)


class ExperimentMirror(_Strict):
    """A model that receives copies of the experiment's requests."""

    name: str
    percent: int = Field(ge=0, le=100)


class ExperimentSpec(_Strict):
    """``spec`` of a Seldon v2 Experiment."""

    default: str | None = None
    resourceType: Literal["model", "pipeline"] | None = None
    candidates: list[ExperimentCandidate] = Field(min_length=1)
    mirror: ExperimentMirror | None = None

    @model_validator(mode="after")
    def _weights(self) -> ExperimentSpec:
        weights = {candidate.name: candidate.weight for candidate in self.candidates}
        if sum(weights.values()) != 100:
            raise ValueError(f"candidate weights must sum to 100: {weights}")
        if self.default is not None and self.default not in weights:
            raise ValueError(f"default {self.default!r} is not a candidate ({sorted(weights)})")
        if self.mirror is not None and self.mirror.name in weights:
            raise ValueError(f"mirror {self.mirror.name!r} is also a candidate")
        return self


class SeldonExperiment(_Strict):
    """A Seldon Core v2 Experiment."""

    apiVersion: Literal["mlops.seldon.io/v1alpha1"]
    kind: Literal["Experiment"]
    metadata: Metadata
    spec: ExperimentSpec


# ---- KServe (serving.kserve.io/v1beta1) ----------------------------------------------------
class KServePredictor(_Strict):
    """KServe's own predictor fields; the rest of the predictor is a core PodSpec."""

    minReplicas: int | None = Field(default=None, ge=0)
    maxReplicas: int | None = Field(default=None, ge=0)
    canaryTrafficPercent: int | None = Field(default=None, ge=0, le=100)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    scaleTarget: int | None = Field(default=None, ge=1)
    scaleMetric: Literal["cpu", "memory", "concurrency", "rps"] | None = None
    containerConcurrency: int | None = Field(default=None, ge=0)
    timeout: int | None = Field(default=None, ge=1)
    deploymentStrategy: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _replica_range(self) -> KServePredictor:
        low, high = self.minReplicas, self.maxReplicas
        if low is not None and high is not None and high and low > high:
            raise ValueError(f"minReplicas {low} is above maxReplicas {high}")
        return self


class InferenceServiceSpec(_Strict):
    """``spec`` of an InferenceService (predictor only: the kit renders no transformer)."""

    predictor: dict[str, Any]


class InferenceService(_Strict):
    """A KServe InferenceService."""

    apiVersion: Literal["serving.kserve.io/v1beta1"]
    kind: Literal["InferenceService"]
    metadata: Metadata
    spec: InferenceServiceSpec


# ---- Prometheus Operator (monitoring.coreos.com/v1), the fields of its CRD the kit renders ---
RELABEL_ACTIONS = ("replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
                   "lowercase", "uppercase", "keepequal", "dropequal")  # fmt: skip
SCRAPE_DURATION = (
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)


class RelabelConfig(_Strict):
    """One relabelling rule; the CRD takes each action in lower and Camel case."""

    action: str = "replace"
    sourceLabels: list[str] = Field(default_factory=list)
    separator: str | None = None
    targetLabel: str | None = None
    regex: str | None = None
    modulus: int | None = None
    replacement: str | None = None

    @field_validator("action")
    @classmethod
    def _action(cls, action: str) -> str:
        if action.lower() not in RELABEL_ACTIONS:
            raise ValueError(f"action {action!r} is not one of {list(RELABEL_ACTIONS)}")
        return action

    @field_validator("sourceLabels")
    @classmethod
    def _label_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
                raise ValueError(f"{name!r} is not a Prometheus label name")
        return names

    @model_validator(mode="after")
    def _target(self) -> RelabelConfig:
        needs_target = ("replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal")
        if self.action.lower() in needs_target and not self.targetLabel:
            raise ValueError(f"action {self.action!r} needs targetLabel")
        return self


class PodMetricsEndpoint(_Strict):
    """Where and how often one port of the selected pods is scraped."""

    port: str | None = None
    portNumber: int | None = Field(default=None, ge=1, le=65535)
    path: str | None = None
    interval: str | None = Field(default=None, pattern=SCRAPE_DURATION)
    scheme: Literal["http", "https", "HTTP", "HTTPS"] | None = None
    relabelings: list[RelabelConfig] = Field(default_factory=list)
    metricRelabelings: list[RelabelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _a_port(self) -> PodMetricsEndpoint:
        if self.port is None and self.portNumber is None:
            raise ValueError("name the pod's port (port) or its number (portNumber)")
        return self


class LabelSelector(_Strict):
    """The part of a LabelSelector the kit renders."""

    matchLabels: dict[str, str] = Field(min_length=1)


class NamespaceSelector(_Strict):
    """Which namespaces the pods are discovered in."""

    any: bool | None = None
    matchNames: list[str] = Field(default_factory=list)


class PodMonitorSpec(_Strict):
    """Pods by label, in named namespaces, scraped at the listed endpoints."""

    selector: LabelSelector
    namespaceSelector: NamespaceSelector | None = None
    podMetricsEndpoints: list[PodMetricsEndpoint] = Field(min_length=1)


class PodMonitor(_Strict):
    """A Prometheus Operator PodMonitor."""

    apiVersion: Literal["monitoring.coreos.com/v1"]
    kind: Literal["PodMonitor"]
    metadata: Metadata
    spec: PodMonitorSpec


CUSTOM_RESOURCES: dict[tuple[str, str], type[BaseModel]] = {
    ("monitoring.coreos.com/v1", "PodMonitor"): PodMonitor,
    ("machinelearning.seldon.io/v1", "SeldonDeployment"): SeldonDeployment,
    ("mlops.seldon.io/v1alpha1", "Model"): SeldonModel,
    ("mlops.seldon.io/v1alpha1", "Experiment"): SeldonExperiment,
    ("serving.kserve.io/v1beta1", "InferenceService"): InferenceService,
}

# Core objects rendered beside the custom resources (KServe's plan), checked by the schemas alone.
CORE_RESOURCES = frozenset({("v1", "ConfigMap")})


def _path(location: tuple[int | str, ...] | list[int | str]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _core_check(
    what: str,
    metadata_at: str,
    metadata: dict[str, Any],
    spec_at: str,
    pod_spec: dict[str, Any] | None,
    kubernetes_version: str,
) -> None:
    """Check object metadata (and a pod spec) by validating the Pod they would make.

    ``metadata_at`` and ``spec_at`` say where the two parts sit in the custom
    resource, so the error names the field as the user wrote it.
    """
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": pod_spec if pod_spec is not None else {"containers": [{"name": "x"}]},
    }
    try:
        kubernetes_validate.validate(pod, kubernetes_version, strict=True)
    except kubernetes_validate.ValidationError as error:
        section, *rest = list(error.absolute_path) or ["spec"]
        field = _path([metadata_at if section == "metadata" else spec_at, *rest])
        raise ManifestInvalid(f"{what}: {field}: {error.message}") from None


def validate_manifest(resource: dict[str, Any], kubernetes_version: str = "1.30") -> None:
    """Refuse a manifest whose fields, split or embedded Kubernetes objects are wrong.

    Raises:
        ManifestInvalid: naming the resource and the offending field.
    """
    key = (resource.get("apiVersion", ""), resource.get("kind", ""))
    name = (resource.get("metadata") or {}).get("name")
    what = f"{key[1] or 'resource'} {name!r}"
    if key in CORE_RESOURCES:
        try:
            kubernetes_validate.validate(resource, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            field = _path(list(error.absolute_path)) or "(top level)"
            raise ManifestInvalid(f"{what}: {field}: {error.message}") from None
        return
    model = CUSTOM_RESOURCES.get(key)
    if model is None:
        raise ManifestInvalid(
            f"{what}: apiVersion/kind {key} is not one the kit renders "
            f"({sorted(f'{api} {kind}' for api, kind in [*CUSTOM_RESOURCES, *CORE_RESOURCES])})"
        )
    try:
        model.model_validate(resource)
    except ValidationError as error:
        first = error.errors()[0]
        raise ManifestInvalid(f"{what}: {_path(first['loc'])}: {first['msg']}") from None
    _core_check(what, "metadata", resource["metadata"], "spec", None, kubernetes_version)
    spec = resource["spec"]
    if key[1] == "SeldonDeployment":
        for p, predictor in enumerate(spec["predictors"]):
            for c, component in enumerate(predictor.get("componentSpecs", [])):
                at = f"spec.predictors[{p}].componentSpecs[{c}]"
                meta = {"name": "x", **(component.get("metadata") or {})}
                _core_check(
                    what,
                    f"{at}.metadata",
                    meta,
                    f"{at}.spec",
                    component["spec"],
                    kubernetes_version,
                )
    elif key[1] == "InferenceService":
        predictor = spec["predictor"]
        own = {k: v for k, v in predictor.items() if k in KSERVE_PREDICTOR_FIELDS}
        try:
            KServePredictor.model_validate(own)
        except ValidationError as error:
            first = error.errors()[0]
            raise ManifestInvalid(
                f"{what}: spec.predictor.{_path(first['loc'])}: {first['msg']}"
            ) from None
        pod_spec = {k: v for k, v in predictor.items() if k not in KSERVE_PREDICTOR_FIELDS}
        _core_check(
            what, "spec.predictor", {"name": "x"}, "spec.predictor", pod_spec, kubernetes_version
        )


def validate_manifests(resources: list[dict[str, Any]], kubernetes_version: str = "1.30") -> None:
    """Validate every manifest; the first problem is raised."""
    for resource in resources:
        validate_manifest(resource, kubernetes_version)
