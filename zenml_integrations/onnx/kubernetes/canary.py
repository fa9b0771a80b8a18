"""Canary controller: Prometheus metrics in, the local server's rollback policy, manifests out.

One ``advance()`` is one decision: read the live rollout plan from the
cluster, measure champion and challenger over the policy's window in
Prometheus, let ``serving.policy.judge`` decide, and apply the next plan
(next traffic step, promotion, or rollback). A ZenML step or a cron job calls
it at intervals of at least the policy's ``window_seconds``, so every step is
judged on a window measured after the previous change.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.kubernetes.cluster import ServingCluster
from zenml_integrations.onnx.kubernetes.config import MetricsFamily
from zenml_integrations.onnx.kubernetes.manifests import ModelVariant, ServingPlan, resource_name
from zenml_integrations.onnx.rollout.config import Strategy
from zenml_integrations.onnx.rollout.policy import Judgement, Verdict, WindowStats, judge
from zenml_integrations.rollout_outcome import RolloutOutcome


class CanaryError(OnnxError):
    """The controller cannot decide: Prometheus or the cluster did not answer usefully."""


@dataclass(frozen=True)
class CanaryDecision:
    """The outcome, the plan now applied, and the measurements it was based on."""

    outcome: RolloutOutcome
    plan: ServingPlan
    judgement: Judgement | None = None
    champion: WindowStats | None = None
    challenger: WindowStats | None = None


class PrometheusClient:
    """Instant queries against Prometheus's HTTP API (``/api/v1/query``)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    def vector(self, query: str) -> list[tuple[dict[str, str], float]]:
        """The samples of an instant vector query: (labels, value) pairs.

        Raises:
            CanaryError: when Prometheus cannot be reached or refuses the query.
        """
        url = f"{self.base_url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
        try:
            with urllib.request.urlopen(url, timeout=self._timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:300]
            raise CanaryError(
                f"Prometheus refused {query!r}: HTTP {error.code} {detail}"
            ) from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise CanaryError(f"cannot query Prometheus at {self.base_url}: {error}") from error
        if body.get("status") != "success":
            raise CanaryError(f"Prometheus refused {query!r}: {body.get('error', body)}")
        data = body["data"]
        if data.get("resultType") != "vector":
            raise CanaryError(f"{query!r} gave a {data.get('resultType')}, not a vector")
        return [(sample["metric"], float(sample["value"][1])) for sample in data["result"]]

    def scalar(self, query: str) -> float:
        """The single value of a query (NaN when it has no sample)."""
        samples = self.vector(query)
        return samples[0][1] if samples else math.nan


@dataclass(frozen=True)
class SeriesNames:
    """PromQL for one metrics family; ``{sel}`` selects a variant, ``{w}`` is the window."""

    requests: str
    errors: str
    latency_quantile: str
    prediction_mean: str | None = None
    prediction_buckets: str | None = None


SERIES: dict[MetricsFamily, SeriesNames] = {
    MetricsFamily.SELDON_EXECUTOR: SeriesNames(
        requests="sum(increase(seldon_api_executor_server_requests_seconds_count{{{sel}}}[{w}s]))",
        errors='sum(increase(seldon_api_executor_server_requests_seconds_count{{{sel},code!~"2.."}}'
        "[{w}s]))",
        latency_quantile="histogram_quantile({q}, sum by (le) "
        "(rate(seldon_api_executor_server_requests_seconds_bucket{{{sel}}}[{w}s])))",
    ),
    MetricsFamily.ONNX_SERVER: SeriesNames(
        requests='sum(increase(onnx_server_requests_total{{{sel},status!="invalid"}}[{w}s]))',
        errors='sum(increase(onnx_server_requests_total{{{sel},status="error"}}[{w}s]))',
        latency_quantile="histogram_quantile({q}, sum by (le) "
        "(rate(onnx_server_request_latency_seconds_bucket{{{sel}}}[{w}s])))",
        prediction_mean="sum(increase(onnx_server_prediction_sum{{{sel}}}[{w}s])) / "
        "sum(increase(onnx_server_prediction_count{{{sel}}}[{w}s]))",
        prediction_buckets="sum by (le) (increase(onnx_server_prediction_bucket{{{sel}}}[{w}s]))",
    ),
}


def bucket_std(buckets: list[tuple[dict[str, str], float]], mean: float) -> float:
    """Standard deviation of a histogram's observations, each taken at its bucket's middle."""
    edges = sorted((float(labels["le"]), count) for labels, count in buckets)
    total = variance = 0.0
    lower, below = 0.0, 0.0
    for upper, cumulative in edges:
        count = cumulative - below
        middle = lower if math.isinf(upper) else (lower + upper) / 2
        variance += count * (middle - mean) ** 2
        total += count
        lower, below = (lower if math.isinf(upper) else upper), cumulative
    return math.sqrt(variance / total) if total > 0 else math.nan


class CanaryController:
    """Steps one model's rollout on the cluster, one decision per ``advance()``."""

    def __init__(
        self, cluster: ServingCluster, prometheus: PrometheusClient, model_name: str
    ) -> None:
        self.cluster = cluster
        self.prometheus = prometheus
        self.model_name = model_name
        self.family = cluster.serving.metrics

    def _selector(self, plan: ServingPlan, role: str, variant: ModelVariant) -> str:
        if self.family is MetricsFamily.SELDON_EXECUTOR:
            return f'deployment_name="{resource_name(plan.model_name)}",predictor_name="{role}"'
        return f'model="{plan.model_name}",version="{variant.version}"'

    def window(self, plan: ServingPlan, role: str, variant: ModelVariant) -> WindowStats:
        """One variant's requests, errors, latency and outputs over the policy's window."""
        names = SERIES[self.family]
        fill = {
            "sel": self._selector(plan, role, variant),
            "w": max(1, round(plan.rollout.policy.window_seconds)),
        }
        requests = self.prometheus.scalar(names.requests.format(**fill))
        if math.isnan(requests):
            requests = 0.0
        errors = self.prometheus.scalar(names.errors.format(**fill))
        p99 = self.prometheus.scalar(names.latency_quantile.format(q=0.99, **fill))
        p90 = self.prometheus.scalar(names.latency_quantile.format(q=0.9, **fill))
        mean = std = math.nan
        if names.prediction_mean and names.prediction_buckets:
            mean = self.prometheus.scalar(names.prediction_mean.format(**fill))
            if not math.isnan(mean):
                buckets = self.prometheus.vector(names.prediction_buckets.format(**fill))
                std = bucket_std(buckets, mean)
        return WindowStats(
            requests=round(requests),
            errors=0 if math.isnan(errors) else round(errors),
            p99_latency=p99,
            p90_latency=p90,
            output_mean=mean,
            output_std=std,
        )

    def advance(self) -> CanaryDecision:
        """Judge the current step and apply the next plan, a promotion, or a rollback.

        Raises:
            CanaryError: when the model has no deployment on the cluster.
        """
        plan = self.cluster.live_plan(self.model_name)
        if plan is None:
            raise CanaryError(
                f"model {self.model_name!r} has no deployment in namespace "
                f"{self.cluster.serving.namespace!r}; deploy it first"
            )
        if plan.challenger is None:
            return CanaryDecision(RolloutOutcome.IDLE, plan)
        policy = plan.rollout.policy
        role = "shadow" if plan.rollout.strategy is Strategy.SHADOW else "canary"
        challenger = self.window(plan, role, plan.challenger)
        champion = self.window(plan, "champion", plan.champion)
        if (
            plan.challenger_percent >= 100
            and champion.requests < policy.min_requests
            and challenger.requests >= policy.min_requests
        ):
            # The champion has left traffic (blue-green, or a 100 % step): as the
            # local server does without a baseline, judge the error rate alone.
            # While the champion still has a share, a thin window only means wait.
            champion = WindowStats(
                policy.min_requests,
                0,
                challenger.p99_latency,
                challenger.p90_latency,
                math.nan,
                math.nan,
            )
        judgement = judge(champion, challenger, policy)
        if judgement.verdict is Verdict.WAIT:
            return CanaryDecision(RolloutOutcome.WAITING, plan, judgement, champion, challenger)
        if judgement.verdict is Verdict.ROLL_BACK:
            outcome = RolloutOutcome.ROLLED_BACK
            reason = f"{plan.challenger.version}: {judgement.metric}: {judgement.reason}"
            new_plan = ServingPlan(
                model_name=plan.model_name,
                champion=plan.champion,
                rollout=plan.rollout,
                rolled_back_reason=reason,
            )
        elif plan.rollout.strategy in (Strategy.SHADOW, Strategy.BLUE_GREEN) or (
            plan.step_index + 1 >= len(plan.rollout.steps)
        ):
            outcome = RolloutOutcome.PROMOTED
            new_plan = ServingPlan(
                model_name=plan.model_name, champion=plan.challenger, rollout=plan.rollout
            )
        else:
            outcome = RolloutOutcome.ADVANCED
            new_plan = plan.model_copy(update={"step_index": plan.step_index + 1})
        self.cluster.apply(new_plan)
        return CanaryDecision(outcome, new_plan, judgement, champion, challenger)
