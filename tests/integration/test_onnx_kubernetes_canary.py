"""The canary controller's requests: the PromQL it sends and the Kubernetes verbs and bodies.

How it decides on real series is tested against Debian's Prometheus scraping real serving
processes (``test_canary_real_prometheus.py``). Here ``fake_prometheus`` records the queries
and answers fixed figures, and ``fake_kubernetes_api`` (see its docstring) stands in for the
API server, which cannot run here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client as k8s
from zenml_integrations.onnx.kubernetes.canary import (
    CanaryController,
    CanaryError,
    PrometheusClient,
)
from zenml_integrations.onnx.kubernetes.cluster import ServingCluster
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import ModelVariant, ServingPlan
from zenml_integrations.onnx.rollout.config import RollbackPolicy, RolloutConfig
from zenml_integrations.rollout_outcome import RolloutOutcome

from tests.helpers.fake_kubernetes_api import FakeKubernetesApi, fake_kubernetes_api
from tests.helpers.fake_prometheus import FakePrometheus, Samples, fake_prometheus

V1 = ModelVariant(version="1", model_uri="s3://models/churn_model/" + "a" * 64, sha256="a" * 64)
V2 = ModelVariant(version="2", model_uri="s3://models/churn_model/" + "b" * 64, sha256="b" * 64)
POLICY = RollbackPolicy(window_seconds=60, min_requests=50)
SELDON_KEY = ("machinelearning.seldon.io", "v1", "models", "seldondeployments", "churn-model")


@dataclass
class Figures:
    """What Prometheus reports for one variant over the window."""

    requests: float = 1000
    errors: float = 5
    p99: float = 0.004
    p90: float = 0.002
    mean: float = 0.4
    buckets: tuple[tuple[str, float], ...] = (("0.3", 200), ("0.5", 900), ("+Inf", 1000))


@dataclass
class Stack:
    api: FakeKubernetesApi
    prometheus: FakePrometheus
    figures: dict[str, Figures]

    def controller(self, family: str | None = None) -> CanaryController:
        configuration = k8s.Configuration()
        configuration.host = self.api.url
        serving = KubernetesServingConfig(
            namespace="models", image="reg/onnx:1", prometheus_url=self.prometheus.url,
            metrics_family=family,
        )  # fmt: skip
        cluster = ServingCluster(serving, k8s.ApiClient(configuration))
        return CanaryController(cluster, PrometheusClient(self.prometheus.url), "churn_model")

    def answer(self, query: str) -> Samples:
        """Figures by the variant the selector names (Seldon predictor or ONNX version)."""
        found = re.search(r'predictor_name="(\w+)"|(?:version="|churn-model-)(\w+)"', query)
        assert found, query
        role = found.group(1) or {"1": "champion", "2": "challenger"}[found.group(2)]
        figures = self.figures["challenger" if role in ("canary", "shadow") else role]
        if "histogram_quantile(0.99" in query:
            return [({}, figures.p99)]
        if "histogram_quantile(0.9," in query:
            return [({}, figures.p90)]
        if '=~"error|' in query:
            return [({}, figures.errors)]
        if "by (le)" in query:
            return [({"le": le}, count) for le, count in figures.buckets]
        if "prediction_sum" in query:
            return [({}, figures.mean)]
        return [({}, figures.requests)]


@pytest.fixture
def stack() -> Iterator[Stack]:
    with fake_kubernetes_api() as api, fake_prometheus() as prometheus:
        running = Stack(api, prometheus, {"champion": Figures(), "challenger": Figures()})
        prometheus.answer = running.answer
        yield running


def deploy(stack: Stack, strategy: str = "canary") -> None:
    rollout = RolloutConfig(strategy=strategy, policy=POLICY)
    plan = ServingPlan(model_name="churn_model", champion=V1, challenger=V2, rollout=rollout)
    stack.controller().cluster.apply(plan)


def traffic(stack: Stack) -> dict[str, int | None]:
    predictors = stack.api.objects[SELDON_KEY]["spec"]["predictors"]
    return {p["name"]: p.get("traffic") for p in predictors}


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (
            "onnx_server",
            'sum(increase(onnx_server_requests_total{namespace="models",model="churn_model",'
            'version="2",status=~"ok|OK|2..|error|5..|UNKNOWN|',
        ),
        (
            "seldon_executor",
            'sum(increase(seldon_api_executor_server_requests_seconds_count{namespace="models",'
            'deployment_name="churn-model",predictor_name="canary",code=~"ok|OK|2..|error|5..|',
        ),
        (
            "seldon_v2",
            'sum(increase({__name__=~"(.+_)?seldon_model_infer_total",namespace="models",'
            'model="churn-model-2",code=~"ok|OK|2..|error|5..|UNKNOWN|',
        ),
    ],
)
def test_given_a_metrics_family_when_advanced_then_it_queries_that_familys_series(
    stack: Stack, family: str, expected: str
) -> None:
    deploy(stack)
    stack.controller(family=family).advance()
    assert any(query.startswith(expected) for query in stack.prometheus.queries), (
        stack.prometheus.queries
    )
    # One status rule: a gRPC OK is a success; server codes count in both spellings.
    errors = [query for query in stack.prometheus.queries if '=~"error|5..|' in query]
    assert errors
    found = re.search(r'(?:status|code)=~"([^"]+)"', errors[0])
    assert found, errors[0]
    pattern = set(found.group(1).split("|"))
    assert "OK" not in pattern
    assert {"INTERNAL", "Internal", "UNAVAILABLE", "Unavailable", "5.."} <= pattern
    assert all("[60s]" in query for query in stack.prometheus.queries)


def test_given_too_few_requests_when_advanced_then_it_waits_and_changes_nothing(
    stack: Stack,
) -> None:
    deploy(stack)
    stack.figures["challenger"] = Figures(requests=10, errors=0)
    before = stack.api.objects[SELDON_KEY]["metadata"]["resourceVersion"]
    assert stack.controller().advance().outcome is RolloutOutcome.WAITING
    assert stack.api.objects[SELDON_KEY]["metadata"]["resourceVersion"] == before
    assert not [verb for verb, _ in stack.api.calls()[-4:] if verb == "PUT"]


def test_given_a_shadow_when_healthy_then_one_advance_promotes(stack: Stack) -> None:
    deploy(stack, "shadow")
    assert traffic(stack) == {"champion": None, "shadow": None}
    assert stack.api.objects[SELDON_KEY]["spec"]["predictors"][1]["shadow"] is True
    assert stack.controller().advance().outcome is RolloutOutcome.PROMOTED
    assert traffic(stack) == {"champion": None}


def test_given_no_deployment_when_advanced_then_the_error_says_deploy_first(stack: Stack) -> None:
    with pytest.raises(CanaryError, match="has no deployment in namespace 'models'"):
        stack.controller().advance()
