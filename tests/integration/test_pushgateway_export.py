"""Drift series pushed to a real Prometheus Pushgateway on 127.0.0.1, grouped per model."""

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
