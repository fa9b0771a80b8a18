"""Drift and quality series pushed to a real Prometheus Pushgateway on 127.0.0.1, per model."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.monitoring.exporter import drift_metrics, export_metrics
from zenml_integrations.monitoring.outcome import MetricsExport
from zenml_integrations.monitoring.outcomes import LabelCounts, VersionLabelCounts
from zenml_integrations.monitoring.quality import QualityAssessment, VersionQuality
from zenml_integrations.monitoring.quality_export import publish_quality_outcome

from tests.helpers.onnx_server import free_port


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-pushgateway")
    assert binary, "needs Debian's prometheus-pushgateway: apt-get install prometheus-pushgateway"
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [binary, f"--web.listen-address={address}"],
        stdout=(tmp_path / "pushgateway.log").open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://{address}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "pushgateway.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _verdict(passed: bool) -> DriftVerdict:
    return DriftVerdict(
        passed=passed, reason="test", drift_share=0.0 if passed else 0.5, max_drift_share=0.3,
        columns=[], reference_rows=1, current_rows=1,
    )  # fmt: skip


def test_given_two_models_when_pushed_then_each_keeps_its_own_series(pushgateway: str) -> None:
    for model, passed in (("churn", False), ("spend", True)):
        registry = drift_metrics(_verdict(passed), model, "1", now=time.time())
        assert export_metrics(registry, model, textfile=None, pushgateway_url=pushgateway) == [
            pushgateway
        ]

    scraped = httpx.get(f"{pushgateway}/metrics", timeout=5).text
    gate = {
        sample.labels["model"]: sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "model_drift_gate_passed"
    }
    assert gate == {"churn": 0.0, "spend": 1.0}


def test_given_drift_then_quality_of_one_model_when_pushed_then_neither_replaces_the_other(
    pushgateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    drift = drift_metrics(_verdict(False), "churn", "1", now=time.time())
    export_metrics(drift, "churn", textfile=None, pushgateway_url=pushgateway)
    degraded = VersionQuality(
        version="2", labels=300, metrics={"roc_auc": 0.6}, training_metrics={"roc_auc": 0.9},
        drops={"roc_auc": 0.3}, kpis={}, below_threshold=True,
    )  # fmt: skip
    assessment = QualityAssessment(
        model_name="churn", problem_type="binary_classification", retrain_metric="roc_auc",
        max_drop=0.05, min_labels=200, versions=[degraded],
    )  # fmt: skip
    labels = VersionLabelCounts(predictions=400, matched=300, late=10, missing=90, duplicate=3)
    counts = LabelCounts(outcomes=320, versions={"2": labels}, unknown_id=7, before_window=0,
                         window_start=0.0, window_end=1.0)  # fmt: skip
    monkeypatch.setenv("QUALITY_PUSHGATEWAY", pushgateway)

    outcome = publish_quality_outcome(
        assessment, counts, MetricsExport(textfile=None, pushgateway_url_env="QUALITY_PUSHGATEWAY")
    )

    assert outcome.metrics_exported_to == [pushgateway]
    scraped = httpx.get(f"{pushgateway}/metrics", timeout=5).text
    jobs = {
        sample.name: sample.labels["job"]
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name in {"model_drift_gate_passed", "model_quality_below_threshold"}
    }
    assert jobs == {
        "model_drift_gate_passed": "model_monitoring",
        "model_quality_below_threshold": "model_quality",
    }
