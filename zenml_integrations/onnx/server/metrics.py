"""Prometheus metrics of the server, in its own registry.

Names follow Prometheus conventions (seconds, ``_total``); MLServer's
``model_infer_request_success``/``_failure`` counters are exported as well so
dashboards built for MLServer work unchanged. The series the canary controller
reads (requests, latency, prediction) take their names, labels and buckets from
``onnx.metric_names``, which the serving image's wrapper exports too.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from zenml_integrations.onnx import metric_names as names

# One sample per series is enough; the *_created series double the scrape size.
disable_created_metrics()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class VersionSeries:
    """The labelled children one version and variant write to on every request.

    ``Metric.labels()`` takes a lock and builds a key each call; resolving the
    children once per version keeps that off the request path.
    """

    latency: Histogram
    ok: Counter
    error: Counter
    rejected: Counter
    prediction: Histogram
    success: Counter
    failure: Counter


@dataclass(frozen=True)
class InferenceLogCounters:
    """What became of the inference log entries of one model."""

    written: Counter
    dropped: Counter  # the writer fell behind by its whole buffer
    failed: Counter  # an I/O error (folder gone, disk full) or an entry that cannot be encoded


class ServerMetrics:
    """Every series the server exports, bound to one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._series: dict[tuple[str, str, str], VersionSeries] = {}
        self._statuses: dict[tuple[str, str, str], set[str]] = {}
        self.requests = Counter(
            names.REQUESTS,
            "Inference requests by outcome (gRPC answers: the gRPC status name).",
            names.REQUEST_LABELS,
            registry=self.registry,
        )
        self.latency = Histogram(
            names.LATENCY,
            "Time from request parsed to response ready.",
            names.LATENCY_LABELS,
            buckets=names.LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.prediction = Histogram(
            names.PREDICTION,
            "Mean of the last output column per request (probability or value).",
            names.PREDICTION_LABELS,
            buckets=names.PREDICTION_BUCKETS,
            registry=self.registry,
        )
        self.mlserver_success = Counter(
            "model_infer_request_success",
            "Successful inference requests (MLServer-compatible name).",
            ("model_name", "model_version"),
            registry=self.registry,
        )
        self.mlserver_failure = Counter(
            "model_infer_request_failure",
            "Failed inference requests (MLServer-compatible name).",
            ("model_name", "model_version"),
            registry=self.registry,
        )
        self.challenger_share = Gauge(
            "onnx_server_rollout_challenger_share",
            "Share of traffic the challenger answers (0 without a rollout).",
            ("model",),
            registry=self.registry,
        )
        self.rollout_step = Gauge(
            "onnx_server_rollout_step", "Index of the rollout's current traffic step.", ("model",),
            registry=self.registry,
        )  # fmt: skip
        self.rollbacks = Counter(
            "onnx_server_rollbacks",
            "Challengers taken out of traffic, by the metric that broke.",
            ("model", "version", "metric"),
            registry=self.registry,
        )
        self.promotions = Counter(
            "onnx_server_promotions", "Challengers promoted to champion.", ("model", "version"),
            registry=self.registry,
        )  # fmt: skip
        self.server_errors = Counter(
            "onnx_server_http_server_errors",
            "Responses with a 5xx status, by status and the error behind them.",
            ("model", "status", "error"),
            registry=self.registry,
        )
        self.inference_log_entries = Counter(
            "onnx_server_inference_log_entries",
            "Inference log entries by outcome: written, dropped (the writer fell behind), "
            "failed (an I/O error or an entry that cannot be encoded).",
            ("model", "outcome"),
            registry=self.registry,
        )
        self.model_info = Info(
            "onnx_server_model", "Loaded model versions and their roles.", ("version",),
            registry=self.registry,
        )  # fmt: skip

    def inference_log_counters(self, model: str) -> InferenceLogCounters:
        """The inference log writer's counters for ``model``."""
        entries = self.inference_log_entries
        return InferenceLogCounters(
            written=entries.labels(model, "written"),
            dropped=entries.labels(model, "dropped"),
            failed=entries.labels(model, "failed"),
        )

    def series(self, model: str, version: str, variant: str) -> VersionSeries:
        """The children for one (model, version, variant), created on first use."""
        key = (model, version, variant)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = VersionSeries(
                latency=self.latency.labels(model, version, variant),
                ok=self.requests_with_status(model, version, variant, names.OK),
                error=self.requests_with_status(model, version, variant, names.ERROR),
                rejected=self.requests_with_status(model, version, variant, names.INVALID),
                prediction=self.prediction.labels(model, version),
                success=self.mlserver_success.labels(model, version),
                failure=self.mlserver_failure.labels(model, version),
            )
        return found

    def requests_with_status(self, model: str, version: str, variant: str, status: str) -> Counter:
        """The request counter of one outcome: ``ok``/``error``/``invalid`` or a gRPC status name.

        ``metric_names.status_class`` says which statuses are successes, client errors
        and server errors; the canary controller's queries use the same rule.
        """
        self._statuses.setdefault((model, version, variant), set()).add(status)
        return self.requests.labels(model, version, variant, status)

    def forget_version(self, model: str, version: str) -> None:
        """Drop an unloaded version's series (rollback and promotion counters stay).

        The cached children go too, so a label deployed again writes to live series.
        """
        for key in [key for key in self._series if key[:2] == (model, version)]:
            del self._series[key]
            self.latency.remove(*key)
        for key in [key for key in self._statuses if key[:2] == (model, version)]:
            for status in self._statuses.pop(key):
                self.requests.remove(*key, status)
        for family in (self.prediction, self.mlserver_success, self.mlserver_failure):
            family.remove(model, version)
        self.model_info.remove(version)
