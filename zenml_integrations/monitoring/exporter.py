"""Drift results as Prometheus series: a text file for node_exporter, or a Pushgateway push.

A pipeline run is not scraped while it runs, so its results are written
where Prometheus can read them afterwards.
"""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile
from zenml_integrations.evidently.gate import DriftVerdict

JOB = "model_monitoring"


def drift_metrics(verdict: DriftVerdict, model: str, version: str, now: float) -> CollectorRegistry:
    """One registry with the verdict, the drifted share and every column's score."""
    registry = CollectorRegistry()
    score = Gauge(
        "model_drift_score", "Drift statistic of a feature (the method's own scale).",
        ("model", "version", "feature", "method"), registry=registry,
    )  # fmt: skip
    detected = Gauge(
        "model_drift_detected", "1 when Evidently's test found the feature drifted.",
        ("model", "version", "feature"), registry=registry,
    )  # fmt: skip
    share = Gauge(
        "model_drift_share", "Share of checked features that drifted.", ("model", "version"),
        registry=registry,
    )  # fmt: skip
    passed = Gauge(
        "model_drift_gate_passed", "1 when the drift gate passed.", ("model", "version"),
        registry=registry,
    )  # fmt: skip
    last_run = Gauge(
        "model_drift_last_run_timestamp_seconds", "When drift was last checked.", ("model",),
        registry=registry,
    )  # fmt: skip
    for column in verdict.columns:
        score.labels(model, version, column.column, column.method).set(column.score)
        detected.labels(model, version, column.column).set(1 if column.drifted else 0)
    share.labels(model, version).set(verdict.drift_share)
    passed.labels(model, version).set(1 if verdict.passed else 0)
    last_run.labels(model).set(now)
    return registry


def export_metrics(
    registry: CollectorRegistry,
    model: str,
    *,
    textfile: Path | None,
    pushgateway_url: str | None,
    job: str = JOB,
) -> list[str]:
    """Write and/or push one model's series; return where they went.

    Pushes are grouped by job and model: a push replaces its whole group, so
    one model's run (or another job's, such as quality) must not wipe these series.
    """
    return write_and_push(
        registry, {"model": model}, textfile=textfile, pushgateway_url=pushgateway_url, job=job
    )


def write_and_push(
    registry: CollectorRegistry,
    grouping_key: dict[str, str],
    *,
    textfile: Path | None,
    pushgateway_url: str | None,
    job: str,
) -> list[str]:
    """Write the registry to ``textfile`` and/or push it as ``job`` / ``grouping_key``."""
    destinations = []
    if textfile is not None:
        textfile.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(textfile), registry)
        destinations.append(str(textfile))
    if pushgateway_url:
        push_to_gateway(pushgateway_url, job=job, registry=registry, grouping_key=grouping_key)
        destinations.append(pushgateway_url)
    return destinations
