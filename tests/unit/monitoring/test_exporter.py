"""Drift series for Prometheus: the text file holds every series of a verdict."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from zenml_integrations.evidently.gate import ColumnDrift, DriftVerdict
from zenml_integrations.monitoring.exporter import drift_metrics, export_metrics


def _verdict(passed: bool) -> DriftVerdict:
    columns = [
        ColumnDrift(column="age", column_type="numerical", method="wasserstein", score=0.4,
                    threshold=0.1, drifted=True),
        ColumnDrift(column="tenure", column_type="numerical", method="wasserstein", score=0.01,
                    threshold=0.1, drifted=False),
    ]  # fmt: skip
    return DriftVerdict(
        passed=passed, reason="1 of 2 columns drifted: age", drift_share=0.5,
        max_drift_share=0.3, columns=columns, reference_rows=10, current_rows=10,
    )  # fmt: skip


def test_given_a_verdict_when_exported_then_the_textfile_holds_every_series(
    tmp_path: Path,
) -> None:
    registry = drift_metrics(_verdict(passed=False), "churn", "3", now=1_700_000_000.0)
    textfile = tmp_path / "metrics" / "drift.prom"

    exported = export_metrics(registry, "churn", textfile=textfile, pushgateway_url=None)
    assert exported == [str(textfile)]

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(textfile.read_text())
        for sample in family.samples
    }
    labels = (("model", "churn"), ("version", "3"))
    assert samples[("model_drift_gate_passed", labels)] == 0
    assert samples[("model_drift_share", labels)] == 0.5
    age = (("feature", "age"), ("model", "churn"), ("version", "3"))
    assert samples[("model_drift_detected", age)] == 1
    age_score = (("method", "wasserstein"), ("model", "churn"), ("version", "3"))
    assert samples[("model_drift_score", (("feature", "age"), *age_score))] == 0.4
    assert samples[("model_drift_last_run_timestamp_seconds", (("model", "churn"),))] == 1.7e9
