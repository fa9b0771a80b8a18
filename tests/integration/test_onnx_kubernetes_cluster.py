"""The Kubernetes client paths of the ONNX deployer against an API server on 127.0.0.1.

No cluster can run on this machine, so the API is ``tests.helpers.fake_kubernetes_api``:
a small HTTP server that speaks the custom-object REST calls and records them. These
tests check the exact verbs, paths and bodies the ``kubernetes`` client sends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import yaml
from kubernetes import client as k8s
from zenml.enums import ServiceState
from zenml_integrations.onnx.kubernetes.cluster import ClusterError, ServingCluster
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import ManifestError, ModelVariant, ServingPlan
from zenml_integrations.onnx.rollout.config import RolloutConfig

from tests.helpers.fake_kubernetes_api import FakeKubernetesApi, fake_kubernetes_api
from tests.helpers.repo import REPO_ROOT

SELDON = "/apis/machinelearning.seldon.io/v1/namespaces/models/seldondeployments"
SELDON_V2 = "/apis/mlops.seldon.io/v1alpha1/namespaces/models"
KSERVE = "/apis/serving.kserve.io/v1beta1/namespaces/models/inferenceservices"
CONFIG_MAPS = "/api/v1/namespaces/models/configmaps"
RBAC_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
API_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)/namespaces/[^/]+/(?P<plural>[^/]+)(?P<name>/[^/]+)?$"
)
POD_MONITORS = "/apis/monitoring.coreos.com/v1/namespaces/models/podmonitors"
V1 = ModelVariant(version="1", model_uri="s3://models/churn_model/" + "a" * 64, sha256="a" * 64)
V2 = ModelVariant(version="2", model_uri="s3://models/churn_model/" + "b" * 64, sha256="b" * 64)


@pytest.fixture
def api() -> Iterator[FakeKubernetesApi]:
    with fake_kubernetes_api() as running:
        yield running


def cluster_for(api: FakeKubernetesApi, target: str = "seldon_v1") -> ServingCluster:
    configuration = k8s.Configuration()
    configuration.host = api.url
    serving = KubernetesServingConfig(target=target, namespace="models", image="reg/onnx:1")
    return ServingCluster(serving, k8s.ApiClient(configuration))


def test_given_no_deployment_when_applied_twice_then_created_then_replaced_on_its_version(
    api: FakeKubernetesApi,
) -> None:
    cluster = cluster_for(api)
    assert cluster.status("churn_model") == (
        ServiceState.INACTIVE, "SeldonDeployment models/churn-model does not exist"
    )  # fmt: skip
    api.requests.clear()

    cluster.apply(ServingPlan(model_name="churn_model", champion=V1))
    assert api.calls() == [
        ("GET", f"{SELDON}/churn-model"),
        ("POST", SELDON),
        ("GET", f"{POD_MONITORS}/churn-model"),
        ("POST", POD_MONITORS),  # how Prometheus finds the pods (scraping.py)
        ("GET", SELDON),  # list by labels: nothing stale to prune
        ("GET", POD_MONITORS),
    ]
    created = api.requests[1].body
    assert created["metadata"]["name"] == "churn-model"
    assert "resourceVersion" not in created["metadata"]
    assert api.requests[4].query["labelSelector"] == [
        "app.kubernetes.io/name=churn-model,app.kubernetes.io/managed-by=zenml-mlops-kit"
    ]
    state, detail = cluster.status("churn_model")
    assert state is ServiceState.ACTIVE
    assert "churn-model-champion: 1/1 available" in detail

    api.requests.clear()
    cluster.apply(ServingPlan(model_name="churn_model", champion=V1, challenger=V2))
    assert api.calls()[:2] == [("GET", f"{SELDON}/churn-model"), ("PUT", f"{SELDON}/churn-model")]
    replaced = api.requests[1].body
    assert replaced["metadata"]["resourceVersion"] == "1"
    traffic = {p["name"]: p["traffic"] for p in replaced["spec"]["predictors"]}
    assert traffic == {"champion": 95, "canary": 5}
    assert cluster.live_plan("churn_model") == ServingPlan(
        model_name="churn_model", champion=V1, challenger=V2
    )


def test_given_no_prometheus_operator_when_pod_monitor_is_off_then_none_is_applied_or_listed(
    api: FakeKubernetesApi,
) -> None:
    configuration = k8s.Configuration()
    configuration.host = api.url
    serving = KubernetesServingConfig(
        target="seldon_v1", namespace="models", image="reg/onnx:1", pod_monitor=False
    )
    cluster = ServingCluster(serving, k8s.ApiClient(configuration))

    cluster.apply(ServingPlan(model_name="churn_model", champion=V1))
    cluster.delete("churn_model")

    assert not [path for _, path in api.calls() if path.startswith(POD_MONITORS)], api.calls()
    assert ("POST", SELDON) in api.calls()
    assert ("DELETE", f"{SELDON}/churn-model") in api.calls()


def test_given_a_deployment_when_stopped_started_and_deleted_then_replicas_and_state_follow(
    api: FakeKubernetesApi,
) -> None:
    cluster = cluster_for(api)
    plan = ServingPlan(model_name="churn_model", champion=V1)
    cluster.apply(plan)

    api.requests.clear()
    cluster.stop(plan)
    assert ("PUT", f"{SELDON}/churn-model") in api.calls()
    stored = api.objects[("machinelearning.seldon.io", "v1", "models", "seldondeployments",
                          "churn-model")]  # fmt: skip
    assert [p["replicas"] for p in stored["spec"]["predictors"]] == [0]
    assert cluster.status("churn_model") == (
        ServiceState.INACTIVE,
        "every predictor is scaled to 0",
    )

    cluster.apply(plan)
    assert cluster.status("churn_model")[0] is ServiceState.ACTIVE

    api.requests.clear()
    cluster.delete("churn_model")
    assert api.calls() == [
        ("GET", SELDON),
        ("GET", POD_MONITORS),
        ("DELETE", f"{SELDON}/churn-model"),
        ("DELETE", f"{POD_MONITORS}/churn-model"),
        ("DELETE", f"{CONFIG_MAPS}/churn-model-rollout-plan"),  # a plan kept by a stop, if any
    ]
    assert cluster.status("churn_model")[0] is ServiceState.INACTIVE
    cluster.delete("churn_model")  # deleting what is gone is not an error


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"state": "Creating"}, ServiceState.PENDING_STARTUP),
        ({"state": "Failed", "description": "image pull failed"}, ServiceState.ERROR),
        ({"state": "Available"}, ServiceState.ACTIVE),
    ],
)
def test_given_a_seldon_state_when_read_then_it_maps_to_the_zenml_state(
    api: FakeKubernetesApi, status: dict[str, str], expected: ServiceState
) -> None:
    api.status_on_create = lambda resource: status
    cluster = cluster_for(api)
    cluster.apply(ServingPlan(model_name="churn_model", champion=V1))
    state, detail = cluster.status("churn_model")
    assert state is expected
    assert detail.startswith(status["state"])


def test_given_seldon_v2_when_the_challenger_is_promoted_then_the_old_model_is_deleted(
    api: FakeKubernetesApi,
) -> None:
    cluster = cluster_for(api, "seldon_v2")
    cluster.apply(ServingPlan(model_name="churn_model", champion=V1, challenger=V2))
    posts = [path for verb, path in api.calls() if verb == "POST"]
    assert posts == [
        f"{SELDON_V2}/models", f"{SELDON_V2}/models", f"{SELDON_V2}/experiments", POD_MONITORS,
    ]  # fmt: skip
    assert cluster.status("churn_model") == (ServiceState.ACTIVE, "ready")

    api.requests.clear()
    cluster.apply(ServingPlan(model_name="churn_model", champion=V2))
    assert ("DELETE", f"{SELDON_V2}/models/churn-model-1") in api.calls()
    assert sorted(key[3:] for key in api.objects) == [
        ("experiments", "churn-model"), ("models", "churn-model-2"), ("podmonitors", "churn-model"),
    ]  # fmt: skip
    experiment = api.objects[
        ("mlops.seldon.io", "v1alpha1", "models", "experiments", "churn-model")
    ]
    assert experiment["spec"]["candidates"] == [{"name": "churn-model-2", "weight": 100}]


def test_given_kserve_not_ready_when_read_then_pending_and_a_failed_load_is_an_error(
    api: FakeKubernetesApi,
) -> None:
    api.status_on_create = lambda resource: {
        "conditions": [{"type": "Ready", "status": "False", "reason": "RevisionMissing"}]
    }
    cluster = cluster_for(api, "kserve")
    cluster.apply(ServingPlan(model_name="churn_model", champion=V1))
    assert cluster.status("churn_model") == (
        ServiceState.PENDING_STARTUP, "InferenceService churn-model: RevisionMissing"
    )  # fmt: skip
    key = ("serving.kserve.io", "v1beta1", "models", "inferenceservices", "churn-model")
    api.objects[key]["status"] = {"modelStatus": {"transitionStatus": "BlockedByFailedLoad"}}
    assert cluster.status("churn_model")[0] is ServiceState.ERROR


def test_given_a_conflicting_writer_when_replacing_then_the_api_error_is_reported(
    api: FakeKubernetesApi,
) -> None:
    cluster = cluster_for(api)
    plan = ServingPlan(model_name="churn_model", champion=V1)
    manifest = cluster.apply(plan)[0]
    stale = {**manifest, "metadata": {**manifest["metadata"], "resourceVersion": "0"}}
    with pytest.raises(ClusterError, match=r"replace SeldonDeployment models/churn-model .*409"):
        cluster._call("replace", "SeldonDeployment", "churn-model",
                      "replace_namespaced_custom_object", "churn-model", stale)  # fmt: skip


def test_given_a_plan_the_target_refuses_when_applied_then_nothing_is_sent(
    api: FakeKubernetesApi,
) -> None:
    cluster = cluster_for(api, "kserve")
    shadow = ServingPlan(model_name="churn_model", champion=V1, challenger=V2,
                         rollout=RolloutConfig(strategy="shadow"))  # fmt: skip
    with pytest.raises(ManifestError, match="no traffic mirroring"):
        cluster.apply(shadow)
    assert api.requests == []


def test_given_kserve_when_stopped_and_started_then_the_plan_served_before_comes_back(
    api: FakeKubernetesApi,
) -> None:
    cluster = cluster_for(api, "kserve")
    promoted = ServingPlan(model_name="churn_model", champion=V2)
    cluster.apply(promoted)
    # The plan lives beside the InferenceService, written once the service was accepted.
    assert [call for call in api.calls() if call[0] in ("POST", "PUT")] == [
        ("POST", KSERVE), ("POST", CONFIG_MAPS), ("POST", POD_MONITORS),
    ]  # fmt: skip
    assert cluster.live_plan("churn_model") == promoted

    api.requests.clear()
    cluster.stop(promoted)
    assert ("PUT", f"{CONFIG_MAPS}/churn-model-rollout-plan") in api.calls()
    assert ("DELETE", f"{KSERVE}/churn-model") in api.calls()
    assert cluster.status("churn_model")[0] is ServiceState.INACTIVE
    assert cluster.live_plan("churn_model") == promoted

    cluster.stop(promoted)  # stopping again replaces the kept plan
    assert api.calls()[-4:-2] == [  # then the lists of what is left to delete
        ("GET", f"{CONFIG_MAPS}/churn-model-rollout-plan"),
        ("PUT", f"{CONFIG_MAPS}/churn-model-rollout-plan"),
    ]
    plan = cluster.live_plan("churn_model")
    assert plan is not None
    cluster.apply(plan)
    predictor = api.objects[("serving.kserve.io", "v1beta1", "models", "inferenceservices",
                             "churn-model")]["spec"]["predictor"]  # fmt: skip
    assert {"name": "MODEL_SHA256", "value": V2.sha256} in predictor["containers"][0]["env"]

    cluster.delete("churn_model")
    assert ("DELETE", f"{CONFIG_MAPS}/churn-model-rollout-plan") in api.calls()
    assert api.objects == {}
    assert cluster.live_plan("churn_model") is None


def test_given_a_live_kserve_service_in_another_mode_when_applied_then_refused_before_a_write(
    api: FakeKubernetesApi,
) -> None:
    api.status_on_create = lambda resource: {"deploymentMode": "RawDeployment"}
    cluster = cluster_for(api, "kserve")
    plan = ServingPlan(model_name="churn_model", champion=V1)
    cluster.apply(plan)

    api.requests.clear()
    with pytest.raises(ClusterError) as refused:
        cluster.apply(plan.model_copy(update={"challenger": V2}))
    assert str(refused.value) == (
        "InferenceService models/churn-model runs in KServe deployment mode 'RawDeployment', "
        "the deployer renders 'Serverless', and KServe cannot change the mode of an existing "
        "InferenceService; set kubernetes.kserve_deployment_mode to 'RawDeployment' or delete "
        "the model server first"
    )
    assert api.calls() == [("GET", f"{KSERVE}/churn-model")]


def documented_role() -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) the step pods' Role in docs/kubernetes.md grants."""
    docs = (REPO_ROOT / "docs" / "kubernetes.md").read_text()
    section = docs.split("### RBAC for the step pods", 1)[1]
    block = section.split("```yaml", 1)[1].split("```", 1)[0]
    role = next(doc for doc in yaml.safe_load_all(block) if doc["kind"] == "Role")
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


@pytest.mark.parametrize("target", ["seldon_v1", "seldon_v2", "kserve"])
def test_given_every_call_the_deployer_makes_then_the_documented_role_allows_it(
    api: FakeKubernetesApi, target: str
) -> None:
    cluster = cluster_for(api, target)
    rollout = ServingPlan(model_name="churn_model", champion=V1, challenger=V2)
    cluster.apply(rollout)
    promoted = ServingPlan(model_name="churn_model", champion=V2)
    cluster.apply(promoted)  # prunes what the promotion dropped
    cluster.status("churn_model")
    cluster.prediction_url("churn_model")
    assert cluster.live_plan("churn_model") == promoted
    cluster.stop(promoted)
    cluster.apply(promoted)
    cluster.delete("churn_model")

    needed = set()
    for method, path in api.calls():
        match = API_PATH.match(path)
        assert match is not None, path
        verb = RBAC_VERBS.get(method) or ("get" if match["name"] else "list")
        needed.add((match["group"] or "", match["plural"], verb))
    assert ("", "configmaps", "delete") in needed  # the calls reached every kind of object
    assert needed <= documented_role(), sorted(needed - documented_role())
