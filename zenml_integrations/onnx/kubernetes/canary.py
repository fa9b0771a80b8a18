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

from zenml_integrations.onnx import metric_names
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
    reason: str = ""  # why the decision is inconclusive


@dataclass(frozen=True)
class Measured:
    """A variant's window, and whether Prometheus had any series for it at all."""

    stats: WindowStats
    has_series: bool


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
    """Whose series one family is: a request counter with a status label, and histograms.

    The status label's values are classed by ``metric_names``' one rule (success, client
    error, server error) on every family: HTTP codes, our ``ok``/``error``/``invalid``, and
    gRPC code names in Python's and Go's spelling (``OK`` is a success).
    """

    counter: str
    status_label: str
    latency_histogram: str | None = None  # None: the family has no per-version latency
    prediction_histogram: str | None = None
    counter_prefixed: bool = False  # some exporters prefix the name ('<namespace>_<counter>')


SERIES: dict[MetricsFamily, SeriesNames] = {
    # Our serving image (Seldon v1, KServe) and the local server: onnx/metric_names.py.
    MetricsFamily.ONNX_SERVER: SeriesNames(
        counter=metric_names.REQUESTS,
        status_label="status",
        latency_histogram=metric_names.LATENCY,
        prediction_histogram=metric_names.PREDICTION,
    ),
    # Seldon Core v1's executor (the operator's /prometheus endpoint).
    MetricsFamily.SELDON_EXECUTOR: SeriesNames(
        counter="seldon_api_executor_server_requests_seconds_count",
        status_label="code",
        latency_histogram="seldon_api_executor_server_requests_seconds",
    ),
    # Seldon Core v2's agent beside Triton/MLServer: its latency histogram has no model label.
    # Newer agents prefix their series with the Kubernetes namespace (seldon_mesh_seldon_...).
    MetricsFamily.SELDON_V2: SeriesNames(
        counter="seldon_model_infer_total", status_label="code", counter_prefixed=True
    ),
}


@dataclass(frozen=True)
class WindowQueries:
    """The PromQL that measures one variant over one window."""

    requests: str
    errors: str
    latency: str | None  # the buckets' rates, by le: histogram_quantile's second argument
    prediction_mean: str | None
    prediction_buckets: str | None

    @classmethod
    def build(cls, names: SeriesNames, selector: str, window: int) -> WindowQueries:
        """Queries for the series ``selector`` picks over the last ``window`` seconds."""
        span = f"[{window}s]"

        def counted(pattern: str) -> str:
            matcher = f'{selector},{names.status_label}=~"{pattern}"'
            if names.counter_prefixed:
                return f'sum(increase({{__name__=~"(.+_)?{names.counter}",{matcher}}}{span}))'
            return f"sum(increase({names.counter}{{{matcher}}}{span}))"

        latency = prediction_mean = prediction_buckets = None
        if names.latency_histogram:
            latency = f"sum by (le) (rate({names.latency_histogram}_bucket{{{selector}}}{span}))"
        if names.prediction_histogram:
            series = names.prediction_histogram
            prediction_mean = (
                f"sum(increase({series}_sum{{{selector}}}{span})) / "
                f"sum(increase({series}_count{{{selector}}}{span}))"
            )
            prediction_buckets = f"sum by (le) (increase({series}_bucket{{{selector}}}{span}))"
        return cls(
            requests=counted(metric_names.JUDGED_PATTERN),
            errors=counted(metric_names.SERVER_ERROR_PATTERN),
            latency=latency,
            prediction_mean=prediction_mean,
            prediction_buckets=prediction_buckets,
        )


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
        """Labels that pick one variant's series; ``namespace`` comes from the PodMonitor."""
        namespace = f'namespace="{self.cluster.serving.namespace}"'
        if self.family is MetricsFamily.SELDON_EXECUTOR:
            return (
                f'{namespace},deployment_name="{resource_name(plan.model_name)}",'
                f'predictor_name="{role}"'
            )
        if self.family is MetricsFamily.SELDON_V2:  # the agent's label is the Model's name
            return f'{namespace},model="{resource_name(plan.model_name, variant.version)}"'
        return f'{namespace},model="{plan.model_name}",version="{variant.version}"'

    def window(self, plan: ServingPlan, role: str, variant: ModelVariant) -> Measured:
        """One variant's requests, errors, latency and outputs over the policy's window.

        Requests count answers and server errors; a client's bad request is left out. No
        sample at all means Prometheus has no series for the variant (``has_series``).
        """
        queries = WindowQueries.build(
            SERIES[self.family],
            self._selector(plan, role, variant),
            max(1, round(plan.rollout.policy.window_seconds)),
        )
        requests = self.prometheus.scalar(queries.requests)
        errors = self.prometheus.scalar(queries.errors)
        p99 = p90 = mean = std = math.nan
        if queries.latency:
            p99 = self.prometheus.scalar(f"histogram_quantile(0.99, {queries.latency})")
            p90 = self.prometheus.scalar(f"histogram_quantile(0.9, {queries.latency})")
        if queries.prediction_mean and queries.prediction_buckets:
            mean = self.prometheus.scalar(queries.prediction_mean)
            if not math.isnan(mean):
                std = bucket_std(self.prometheus.vector(queries.prediction_buckets), mean)
        stats = WindowStats(
            requests=0 if math.isnan(requests) else round(requests),
            errors=0 if math.isnan(errors) else round(errors),
            p99_latency=p99,
            p90_latency=p90,
            output_mean=mean,
            output_std=std,
        )
        return Measured(stats, has_series=not math.isnan(requests))

    def _missing_data(self, plan: ServingPlan, measured: dict[str, Measured]) -> str:
        """Why there is nothing to judge ('' when there is): no series, or no traffic."""
        window = round(plan.rollout.policy.window_seconds)
        needed = ["challenger"] if plan.challenger_percent >= 100 else ["challenger", "champion"]
        for role in needed:
            if not measured[role].has_series:
                return (
                    f"Prometheus has no {SERIES[self.family].counter} series for the {role} "
                    f"in the last {window} s: check that the deployment's PodMonitor is applied "
                    "and that Prometheus selects it"
                )
            if measured[role].stats.requests == 0:
                return f"the {role} answered no requests in the last {window} s"
        return ""

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
        measured = {
            "challenger": self.window(plan, role, plan.challenger),
            "champion": self.window(plan, "champion", plan.champion),
        }
        challenger, champion = measured["challenger"].stats, measured["champion"].stats
        missing = self._missing_data(plan, measured)
        if missing:  # no data is never read as zero errors: nothing is promoted on it
            return CanaryDecision(
                RolloutOutcome.INCONCLUSIVE, plan, None, champion, challenger, missing
            )
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
