"""Rendering of Seldon Core v1/v2 and KServe manifests from the rollout config."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import (
    PLAN_ANNOTATION,
    ManifestError,
    ModelVariant,
    ServingPlan,
    read_plan,
    render,
    resource_name,
    to_yaml,
)
from zenml_integrations.onnx.kubernetes.schema import validate_manifests
from zenml_integrations.onnx.rollout.config import RolloutConfig

from tests.helpers.repo import REPO_ROOT

V1 = ModelVariant(version="1", model_uri="s3://models/churn_model/" + "a" * 64, sha256="a" * 64)
V2 = ModelVariant(version="2", model_uri="s3://models/churn_model/" + "b" * 64, sha256="b" * 64)
STRATEGIES = ["canary", "ab", "shadow", "blue_green"]


def plan(strategy: str = "canary", step: int = 1, challenger: bool = True) -> ServingPlan:
    return ServingPlan(model_name="churn_model", champion=V1, challenger=V2 if challenger else None,
                       rollout=RolloutConfig(strategy=strategy), step_index=step)  # fmt: skip


def serving(target: str, **settings: Any) -> KubernetesServingConfig:
    return KubernetesServingConfig(target=target, image="registry.example/onnx-seldon:1",
                                   namespace="models", **settings)  # fmt: skip


def seldon_split(manifest: dict[str, Any]) -> dict[str, Any]:
    return {p["name"]: p.get("traffic", "shadow" if p.get("shadow") else None)
            for p in manifest["spec"]["predictors"]}  # fmt: skip


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("canary", {"champion": 75, "canary": 25}),
        ("ab", {"champion": 75, "canary": 25}),
        ("shadow", {"champion": None, "shadow": "shadow"}),
        ("blue_green", {"champion": 0, "canary": 100}),
    ],
)
def test_given_a_strategy_when_rendered_for_seldon_v1_then_predictors_split_the_traffic(
    strategy: str, expected: dict[str, Any]
) -> None:
    (manifest,) = render(plan(strategy), serving("seldon_v1"))
    assert manifest["apiVersion"] == "machinelearning.seldon.io/v1"
    assert seldon_split(manifest) == expected
    canary = manifest["spec"]["predictors"][1]
    container = canary["componentSpecs"][0]["spec"]["containers"][0]
    assert container["image"] == "registry.example/onnx-seldon:1"
    assert {"name": "MODEL_SHA256", "value": "b" * 64} in container["env"]
    assert {"name": "MODEL_URI", "value": "/mnt/models/1/model.onnx"} in container["env"]
    assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [
        ("http", 9000), ("grpc", 9500), ("metrics", 6000),
    ]  # fmt: skip
    assert canary["graph"] == {"name": "model", "type": "MODEL", "modelUri": V2.model_uri,
                               "children": []}  # fmt: skip
    assert "implementation" not in canary["graph"]
    pod_annotations = canary["componentSpecs"][0]["metadata"]["annotations"]
    assert pod_annotations["prometheus.io/scrape"] == "true"


@pytest.mark.parametrize(
    ("strategy", "candidates", "mirror"),
    [
        ("canary", [("churn-model-1", 75), ("churn-model-2", 25)], None),
        ("ab", [("churn-model-1", 75), ("churn-model-2", 25)], None),
        ("shadow", [("churn-model-1", 100)], {"name": "churn-model-2", "percent": 100}),
        ("blue_green", [("churn-model-2", 100)], None),
    ],
)
def test_given_a_strategy_when_rendered_for_seldon_v2_then_the_experiment_weights_it(
    strategy: str, candidates: list[tuple[str, int]], mirror: dict[str, Any] | None
) -> None:
    models = render(plan(strategy), serving("seldon_v2", seldon_v2_server="triton"))
    assert [m["kind"] for m in models] == ["Model", "Model", "Experiment"]
    assert models[1]["spec"] == {"storageUri": V2.model_uri, "requirements": ["onnx"],
                                 "replicas": 1, "memory": "512Mi", "server": "triton"}  # fmt: skip
    experiment = models[2]
    assert [(c["name"], c["weight"]) for c in experiment["spec"]["candidates"]] == candidates
    assert experiment["spec"].get("mirror") == mirror
    assert read_plan(experiment) == plan(strategy)


@pytest.mark.parametrize(
    ("strategy", "percent"), [("canary", 25), ("ab", 25), ("blue_green", None)]
)
def test_given_a_strategy_when_rendered_for_kserve_then_the_newest_version_gets_its_percent(
    strategy: str, percent: int | None
) -> None:
    (manifest,) = render(plan(strategy), serving("kserve", service_account="model-reader"))
    predictor = manifest["spec"]["predictor"]
    assert predictor.get("canaryTrafficPercent") == percent
    container = predictor["containers"][0]
    assert container["name"] == "kserve-container"
    assert {"name": "STORAGE_URI", "value": V2.model_uri} in container["env"]
    assert predictor["serviceAccountName"] == "model-reader"


def test_given_shadow_when_rendered_for_kserve_then_it_is_refused_with_the_alternatives() -> None:
    with pytest.raises(ManifestError, match="use target seldon_v1 or seldon_v2"):
        render(plan("shadow"), serving("kserve"))


@pytest.mark.parametrize(
    ("target", "strategy"),
    [
        (target, strategy)
        for target in ("seldon_v1", "seldon_v2", "kserve")
        for strategy in STRATEGIES
        if (target, strategy) != ("kserve", "shadow")  # refused: see the test above
    ],
)
def test_given_every_target_and_strategy_when_rendered_then_the_schemas_accept_it(
    target: str, strategy: str
) -> None:
    for step in range(4):
        validate_manifests(render(plan(strategy, step), serving(target)))
    validate_manifests(render(plan(challenger=False, step=0), serving(target)))


def test_given_no_challenger_when_rendered_then_the_champion_serves_alone() -> None:
    (manifest,) = render(plan(challenger=False, step=0), serving("seldon_v1"))
    assert seldon_split(manifest) == {"champion": None}
    (kserve,) = render(plan(challenger=False, step=0), serving("kserve"))
    assert "canaryTrafficPercent" not in kserve["spec"]["predictor"]


def test_given_the_same_config_when_rendered_in_two_processes_then_the_bytes_are_identical() -> (
    None
):
    code = (
        "from tests.unit.onnx.kubernetes.test_manifests import plan, serving, render, to_yaml\n"
        "import sys\n"
        "sys.stdout.write(''.join(to_yaml(render(plan(s), serving('seldon_v1'))) "
        "for s in ('canary', 'shadow')))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, cwd=REPO_ROOT)  # fmt: skip
    here = "".join(to_yaml(render(plan(s), serving("seldon_v1"))) for s in ("canary", "shadow"))
    assert other.stdout == here
    assert yaml.safe_load_all(here)


def test_given_a_rendered_resource_when_its_plan_is_read_then_it_round_trips() -> None:
    (manifest,) = render(plan("ab", 2), serving("seldon_v1"))
    assert PLAN_ANNOTATION in manifest["metadata"]["annotations"]
    assert read_plan(manifest) == plan("ab", 2)
    del manifest["metadata"]["annotations"][PLAN_ANNOTATION]
    with pytest.raises(ManifestError, match=r"has no mlops-kit\.io/rollout-plan annotation"):
        read_plan(manifest)


def test_given_model_names_when_made_resource_names_then_sanitized_or_refused() -> None:
    assert resource_name("Churn_Model.v2") == "churn-model-v2"
    assert resource_name("churn_model", "2") == "churn-model-2"
    with pytest.raises(ManifestError, match=r"'churn model!' .* not a DNS-1123 label"):
        resource_name("churn model!")
    with pytest.raises(ManifestError, match="at most 63 characters"):
        resource_name("m" * 64)


def test_given_bad_plans_when_built_then_refused_with_the_field_named() -> None:
    with pytest.raises(ValidationError, match="step_index 4 is past"):
        plan(step=4)
    with pytest.raises(ValidationError, match="challenger version 1 is the champion's"):
        ServingPlan(model_name="m", champion=V1, challenger=V1)
    with pytest.raises(ValidationError, match="sha256"):
        ModelVariant(version="1", model_uri="s3://x", sha256="not-hex")
    with pytest.raises(ValidationError, match=r"version label '1 beta' is not allowed"):
        ModelVariant(version="1 beta", model_uri="s3://x", sha256="a" * 64)
    with pytest.raises(ValidationError, match=r"version label '2\\r\\nX: y' is not allowed"):
        ModelVariant(version="2\r\nX: y", model_uri="s3://x", sha256="a" * 64)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"namespace": "Models"}, "namespace 'Models' is not a DNS-1123 label"),
        ({"image": ""}, "image is required for target seldon_v1"),
        ({"resources": {"requests": {"cpu": "half"}}}, "cpu='half' is not a Kubernetes quantity"),
        ({"resources": {"limits": {"gpu": "1"}}}, "unknown resource 'gpu'"),
        ({"model_uri_env": "MODEL URI"}, "is not an environment variable name"),
        ({"replicaz": 2}, "replicaz"),
    ],
)
def test_given_bad_serving_settings_when_validated_then_refused_with_the_field_named(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        KubernetesServingConfig.model_validate({"image": "reg/onnx:1", **settings})
