"""Rendering of Seldon Core v1/v2 and KServe manifests from the rollout config."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import (
    KSERVE_MODE_ANNOTATION,
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
# What a target cannot honour, and the words of its refusal.
REFUSED = {
    ("seldon_v1", "ab"): "splits traffic between predictors per request at random",
    ("kserve", "ab"): "no sticky routing",
    ("kserve", "shadow"): "no traffic mirroring",
    ("kserve", "blue_green"): "the old version is not kept warm",
}


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
        ("shadow", {"champion": None, "shadow": "shadow"}),
        ("blue_green", {"champion": 0, "canary": 100}),
    ],
    ids=["canary", "shadow", "blue_green"],
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
    assert {"name": "MODEL_NAME", "value": "churn_model"} in container["env"]
    # The operator's prometheus.io annotations (its executor's /prometheus) are not overridden.
    assert "metadata" not in canary["componentSpecs"][0]


def test_given_blue_green_when_rendered_for_seldon_then_the_champion_stays_warm() -> None:
    (deployment,) = render(plan("blue_green"), serving("seldon_v1", replicas=2))
    champion = deployment["spec"]["predictors"][0]
    assert (champion["name"], champion["traffic"], champion["replicas"]) == ("champion", 0, 2)
    models = render(plan("blue_green"), serving("seldon_v2", replicas=2))
    assert [(m["metadata"]["name"], m["spec"]["replicas"]) for m in models[:2]] == [
        ("churn-model-1", 2), ("churn-model-2", 2),
    ]  # fmt: skip
    assert models[2]["spec"]["candidates"] == [{"name": "churn-model-2", "weight": 100}]


@pytest.mark.parametrize(("target", "strategy"), sorted(REFUSED))
def test_given_a_strategy_the_target_cannot_honour_when_rendered_then_refused_saying_why(
    target: str, strategy: str
) -> None:
    with pytest.raises(ManifestError, match=REFUSED[target, strategy]) as refused:
        render(plan(strategy), serving(target))
    message = str(refused.value)
    assert f"strategy {strategy!r} cannot be rendered for target {target!r}" in message
    assert "\n" not in message
    assert "use target seldon_v" in message  # where the strategy works instead


@pytest.mark.parametrize(
    ("strategy", "candidates", "mirror"),
    [
        ("canary", [("churn-model-1", 75), ("churn-model-2", 25)], None),
        # A/B: the same weighted candidates; Seldon's x-seldon-route session makes it sticky.
        ("ab", [("churn-model-1", 75), ("churn-model-2", 25)], None),
        ("shadow", [("churn-model-1", 100)], {"name": "churn-model-2", "percent": 100}),
        ("blue_green", [("churn-model-2", 100)], None),
    ],
    ids=STRATEGIES,
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


def test_given_a_canary_when_rendered_for_kserve_then_the_newest_version_gets_its_percent() -> None:
    service, kept = render(plan("canary"), serving("kserve", service_account="model-reader"))
    predictor = service["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 25
    container = predictor["containers"][0]
    assert container["name"] == "kserve-container"
    assert {"name": "STORAGE_URI", "value": V2.model_uri} in container["env"]
    assert predictor["serviceAccountName"] == "model-reader"
    assert service["metadata"]["annotations"][KSERVE_MODE_ANNOTATION] == "Serverless"
    assert (kept["kind"], kept["metadata"]["name"]) == ("ConfigMap", "churn-model-rollout-plan")
    assert read_plan(kept) == plan("canary")


def test_given_kserve_canary_steps_and_promotion_when_rendered_then_only_the_percent_changes() -> (
    None
):
    # KServe copies the InferenceService's labels and annotations into the Knative revision
    # template: anything else that changed between steps would start new pods.
    promoted = ServingPlan(model_name="churn_model", champion=V2, rollout=RolloutConfig())
    services = [render(plan("canary", step), serving("kserve"))[0] for step in range(4)]
    services.append(render(promoted, serving("kserve"))[0])
    percents = [s["spec"]["predictor"].pop("canaryTrafficPercent", None) for s in services]
    assert percents == [5, 25, 50, None, None]
    assert all(service == services[0] for service in services)
    text = to_yaml(services[:1])
    assert PLAN_ANNOTATION not in text
    assert '"step_index"' not in text
    assert services[0]["metadata"]["labels"]["mlops-kit.io/model-version"] == "2"


@pytest.mark.parametrize("mode", ["Standard", "RawDeployment"])
def test_given_kserve_in_standard_mode_when_a_canary_is_rendered_then_refused_but_one_serves(
    mode: str,
) -> None:
    standard = serving("kserve", kserve_deployment_mode=mode)
    with pytest.raises(ManifestError) as refused:
        render(plan("canary"), standard)
    assert str(refused.value) == (
        f"strategy 'canary' cannot be rendered for target 'kserve' in deployment mode {mode!r}: "
        "only Knative (Serverless mode) honours canaryTrafficPercent, a raw Deployment would "
        "send 100 % to the new version at once; set the deployer's "
        "kubernetes.kserve_deployment_mode to Serverless (needs Knative Serving in the cluster) "
        "or use target seldon_v1 or seldon_v2"
    )
    service, _ = render(plan(challenger=False, step=0), standard)
    assert service["metadata"]["annotations"][KSERVE_MODE_ANNOTATION] == mode
    assert "canaryTrafficPercent" not in service["spec"]["predictor"]


@pytest.mark.parametrize(
    ("target", "strategy"),
    [
        (target, strategy)
        for target in ("seldon_v1", "seldon_v2", "kserve")
        for strategy in STRATEGIES
        if (target, strategy) not in REFUSED
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
    kserve, _ = render(plan(challenger=False, step=0), serving("kserve"))
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
    (manifest,) = render(plan("canary", 2), serving("seldon_v1"))
    assert PLAN_ANNOTATION in manifest["metadata"]["annotations"]
    assert read_plan(manifest) == plan("canary", 2)
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


def test_given_the_docs_table_of_targets_and_strategies_then_every_test_it_names_is_here() -> None:
    docs = (REPO_ROOT / "docs" / "kubernetes.md").read_text()
    table = docs[docs.index("### What each target does") : docs.index("## Offline validation")]
    named = re.findall(r"`(\.\.\.)?(_?[a-z0-9_]+)(?:\[([^\]]+)\])?`", table)
    tests = [name for name in globals() if name.startswith("test_given_")]
    checked = 0
    for abbreviated, name, parameter in named:
        if not abbreviated and not name.startswith("test_given_"):
            continue  # a field or header name, not a test
        matches = [test for test in tests if test == name or (abbreviated and test.endswith(name))]
        assert len(matches) == 1, f"docs/kubernetes.md names {name!r}: not one test here"
        if parameter:
            assert parameter.split("-")[-1] in STRATEGIES, parameter
        checked += 1
    assert checked >= 13  # one or more per row
