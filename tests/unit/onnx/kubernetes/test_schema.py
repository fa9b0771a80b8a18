"""Offline validation refuses broken manifests, naming the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from zenml_integrations.onnx.kubernetes.canary import bucket_std
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import ModelVariant, ServingPlan, render
from zenml_integrations.onnx.kubernetes.schema import ManifestInvalid, validate_manifest

V1 = ModelVariant(version="1", model_uri="s3://models/m/" + "a" * 64, sha256="a" * 64)
V2 = ModelVariant(version="2", model_uri="s3://models/m/" + "b" * 64, sha256="b" * 64)
PLAN = ServingPlan(model_name="churn_model", champion=V1, challenger=V2, step_index=1)
Mutation = Callable[[dict[str, Any]], None]


def rendered(target: str) -> list[dict[str, Any]]:
    serving = KubernetesServingConfig(target=target, image="reg/onnx:1", namespace="models")
    return render(PLAN, serving)


def canary_container(manifest: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = manifest["spec"]["predictors"][1]["componentSpecs"][0]["spec"][
        "containers"
    ][0]
    return container


SELDON_V1_BREAKAGES: list[tuple[Mutation, str]] = [
    (
        lambda m: m["spec"]["predictors"][1].update(traffic=30),
        r"spec\.predictors: .*traffic of the non-shadow predictors must sum to 100: "
        r"\{'champion': 75, 'canary': 30\}",
    ),
    (
        lambda m: m["spec"]["predictors"][1].update(trafic=25),
        r"spec\.predictors\[1\]\.trafic: Extra inputs are not permitted",
    ),
    (
        lambda m: m["spec"]["predictors"][0].update(traffic=101),
        r"spec\.predictors\[0\]\.traffic: Input should be less than or equal to 100",
    ),
    (
        lambda m: m["spec"]["predictors"][1]["graph"].update(name="modle"),
        r"graph node 'modle' names no container",
    ),
    (
        lambda m: canary_container(m).update(imagePullPolicyy="Always"),
        r"spec\.predictors\[1\]\.componentSpecs\[0\]\.spec\.containers\[0\]: Additional "
        r"properties are not allowed \('imagePullPolicyy' was unexpected\)",
    ),
    (
        lambda m: canary_container(m)["ports"][0].update(containerPort="9000"),
        r"containers\[0\]\.ports\[0\]\.containerPort: '9000' is not of type 'integer'",
    ),
    (
        lambda m: canary_container(m)["env"][0].pop("name"),
        r"containers\[0\]\.env\[0\]: 'name' is a required property",
    ),
    (
        lambda m: m["spec"]["predictors"][1]["componentSpecs"][0].update(metadata={"lables": {}}),
        r"componentSpecs\[0\]\.metadata: Additional properties are not allowed \('lables'",
    ),
    (
        lambda m: m["metadata"].update(name="Churn_Model"),
        r"metadata\.name: Value error, name 'Churn_Model' is not a DNS-1123 label",
    ),
    (lambda m: m.update(apiVersion="machinelearning.seldon.io/v2"), r"is not one the kit renders"),
]


@pytest.mark.parametrize(("mutate", "message"), SELDON_V1_BREAKAGES)
def test_given_a_broken_seldon_deployment_when_validated_then_the_field_is_named(
    mutate: Mutation, message: str
) -> None:
    (manifest,) = rendered("seldon_v1")
    validate_manifest(manifest)
    broken = copy.deepcopy(manifest)
    mutate(broken)
    with pytest.raises(ManifestInvalid, match=message):
        validate_manifest(broken)


def test_given_a_broken_seldon_v2_experiment_or_model_when_validated_then_refused() -> None:
    model, _, experiment = rendered("seldon_v2")
    bad_weights = copy.deepcopy(experiment)
    bad_weights["spec"]["candidates"][1]["weight"] = 20
    with pytest.raises(ManifestInvalid, match=r"Experiment 'churn-model': spec: .*sum to 100"):
        validate_manifest(bad_weights)
    typo = copy.deepcopy(experiment)
    typo["spec"]["mirorr"] = {"name": "churn-model-2", "percent": 100}
    with pytest.raises(ManifestInvalid, match=r"spec\.mirorr: Extra inputs are not permitted"):
        validate_manifest(typo)
    memory = copy.deepcopy(model)
    memory["spec"]["memory"] = "lots"
    with pytest.raises(ManifestInvalid, match=r"Model 'churn-model-1': spec\.memory: .*'lots'"):
        validate_manifest(memory)


def test_given_a_broken_inference_service_when_validated_then_refused() -> None:
    manifest, _ = rendered("kserve")
    typo = copy.deepcopy(manifest)
    typo["spec"]["predictor"]["canaryTraficPercent"] = 5
    with pytest.raises(ManifestInvalid, match=r"spec\.predictor: .*'canaryTraficPercent'"):
        validate_manifest(typo)
    percent = copy.deepcopy(manifest)
    percent["spec"]["predictor"]["canaryTrafficPercent"] = 150
    with pytest.raises(ManifestInvalid, match=r"spec\.predictor\.canaryTrafficPercent: "):
        validate_manifest(percent)
    replicas = copy.deepcopy(manifest)
    replicas["spec"]["predictor"]["minReplicas"] = 3
    with pytest.raises(ManifestInvalid, match="minReplicas 3 is above maxReplicas 1"):
        validate_manifest(replicas)


def test_given_histogram_buckets_when_summarized_then_the_spread_is_the_buckets_spread() -> None:
    # 500 observations in (0, 0.2], 500 in (0.6, 1.0]: middles 0.1 and 0.8, mean 0.45.
    buckets = [({"le": "0.2"}, 500.0), ({"le": "0.6"}, 500.0), ({"le": "1.0"}, 1000.0),
               ({"le": "+Inf"}, 1000.0)]  # fmt: skip
    assert bucket_std(buckets, 0.45) == pytest.approx(0.35)
    assert bucket_std([], 0.5) != bucket_std([], 0.5)  # NaN without observations
