"""The canary controller: Prometheus's query API and the Kubernetes API, both on 127.0.0.1.

No cluster or Prometheus runs here: ``fake_prometheus`` answers ``/api/v1/query`` with the
JSON Prometheus returns, from per-variant figures the test sets, and ``fake_kubernetes_api``
(see its docstring) stands in for the API server. The decisions come from the local
server's own ``serving.policy.judge``.
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
        found = re.search(r'predictor_name="(\w+)"|version="(\w+)"', query)
        assert found, query
        role = found.group(1) or {"1": "champion", "2": "challenger"}[found.group(2)]
        figures = self.figures["challenger" if role in ("canary", "shadow") else role]
        if "histogram_quantile(0.99" in query:
            return [({}, figures.p99)]
        if "histogram_quantile(0.9," in query:
            return [({}, figures.p90)]
        if "code!~" in query or 'status="error"' in query:
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


def test_given_a_healthy_canary_when_advanced_then_it_steps_5_25_50_100_and_is_promoted(
    stack: Stack,
) -> None:
    deploy(stack)
    controller = stack.controller()
    seen = [traffic(stack)]
    for expected in ["advanced", "advanced", "advanced", "promoted"]:
        decision = controller.advance()
        assert decision.outcome == expected, decision.judgement
        seen.append(traffic(stack))
    assert seen == [
        {"champion": 95, "canary": 5},
        {"champion": 75, "canary": 25},
        {"champion": 50, "canary": 50},
        {"champion": 0, "canary": 100},
        {"champion": None},
    ]
    promoted = stack.api.objects[SELDON_KEY]
    assert promoted["metadata"]["labels"]["mlops-kit.io/model-version"] == "2"
    assert controller.advance().outcome is RolloutOutcome.IDLE
    # The Seldon executor's series, selected per predictor over the policy's window.
    assert (
        'sum(increase(seldon_api_executor_server_requests_seconds_count{deployment_name="churn-model",'
        'predictor_name="canary"}[60s]))'
    ) in stack.prometheus.queries


def test_given_a_canary_with_more_errors_when_advanced_then_it_is_rolled_back_with_the_reason(
    stack: Stack,
) -> None:
    deploy(stack)
    stack.figures["challenger"] = Figures(errors=80)
    decision = stack.controller().advance()
    assert decision.outcome is RolloutOutcome.ROLLED_BACK
    assert decision.judgement is not None
    assert decision.judgement.metric == "error_rate"
    assert traffic(stack) == {"champion": None}
    live = stack.controller().cluster.live_plan("churn_model")
    assert live is not None
    assert live.challenger is None
    assert live.champion == V1
    assert live.rolled_back_reason is not None
    assert live.rolled_back_reason.startswith("2: error_rate: error rate 8.0% vs champion 0.5%")


def test_given_a_slow_canary_when_advanced_then_the_latency_rule_of_the_local_policy_rolls_back(
    stack: Stack,
) -> None:
    deploy(stack)
    stack.figures["challenger"] = Figures(p99=0.050, p90=0.030)
    decision = stack.controller().advance()
    assert decision.outcome is RolloutOutcome.ROLLED_BACK
    assert decision.judgement is not None
    assert decision.judgement.metric == "latency_p99"


def test_given_too_few_requests_when_advanced_then_it_waits_and_changes_nothing(
    stack: Stack,
) -> None:
    deploy(stack)
    stack.figures["challenger"] = Figures(requests=10, errors=0)
    before = stack.api.objects[SELDON_KEY]["metadata"]["resourceVersion"]
    assert stack.controller().advance().outcome is RolloutOutcome.WAITING
    assert stack.api.objects[SELDON_KEY]["metadata"]["resourceVersion"] == before
    assert not [verb for verb, _ in stack.api.calls()[-4:] if verb == "PUT"]


def test_given_onnx_server_series_when_outputs_shift_then_the_output_rule_rolls_back(
    stack: Stack,
) -> None:
    deploy(stack)
    stack.figures["challenger"] = Figures(mean=0.9, buckets=(("0.5", 0), ("1.0", 1000)))
    decision = stack.controller(family="onnx_server").advance()
    assert decision.outcome is RolloutOutcome.ROLLED_BACK
    assert decision.judgement is not None
    assert decision.judgement.metric == "output_shift"
    assert decision.champion is not None
    assert decision.champion.output_mean == pytest.approx(0.4)
    assert 0.05 < decision.champion.output_std < 0.2
    assert any('onnx_server_requests_total{model="churn_model",version="2"' in query
               for query in stack.prometheus.queries)  # fmt: skip


def test_given_a_shadow_when_healthy_then_one_advance_promotes(stack: Stack) -> None:
    deploy(stack, "shadow")
    assert traffic(stack) == {"champion": None, "shadow": None}
    assert stack.api.objects[SELDON_KEY]["spec"]["predictors"][1]["shadow"] is True
    assert stack.controller().advance().outcome is RolloutOutcome.PROMOTED
    assert traffic(stack) == {"champion": None}


def test_given_no_deployment_when_advanced_then_the_error_says_deploy_first(stack: Stack) -> None:
    with pytest.raises(CanaryError, match="has no deployment in namespace 'models'"):
        stack.controller().advance()
