"""Inference logs read back per version, drift series for Prometheus, the retraining rule."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from zenml_integrations.evidently.gate import ColumnDrift, DriftVerdict
from zenml_integrations.monitoring.exporter import drift_metrics, export_metrics
from zenml_integrations.monitoring.inference_logs import busiest, read_inference_logs
from zenml_integrations.monitoring.reference import REFERENCE_FILE, write_reference
from zenml_integrations.monitoring.retraining import drift_persists
from zenml_integrations.onnx.serving.inference_log import InferenceLogger

pytestmark = pytest.mark.unit


def _log(directory: Path, entries: list[tuple[str, np.ndarray]]) -> None:
    logger = InferenceLogger(directory, max_bytes=4096, flush_seconds=0.01)
    for version, rows in entries:
        outputs = [np.zeros(len(rows), np.int64), np.full((len(rows), 2), 0.5, np.float32)]
        logger.log("churn", version, "champion", None, rows, outputs)
    logger.close()


def test_given_logged_requests_when_read_then_rows_come_back_per_version(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(3, 4)).astype(np.float32), np.ones((2, 4), np.float32)
    _log(tmp_path, [("1", first), ("2", second), ("1", first[:1])])

    traffic = read_inference_logs(tmp_path, "churn", since=time.time() - 60)

    assert sorted(traffic) == ["1", "2"]
    np.testing.assert_array_equal(traffic["1"].inputs, np.concatenate([first, first[:1]]))
    assert traffic["1"].requests == 2
    assert busiest(traffic).version == "1"  # type: ignore[union-attr]
    frame = traffic["2"].frame(["a", "b", "c", "d"])
    assert list(frame.columns) == ["a", "b", "c", "d"]
    assert len(frame) == 2


def test_given_a_cut_off_line_and_other_models_then_they_are_skipped(tmp_path: Path) -> None:
    _log(tmp_path, [("1", np.ones((1, 3), np.float32))])
    log_file = next(tmp_path.glob("*.jsonl"))
    with log_file.open("ab") as handle:
        other_model = b'{"timestamp": 1e12, "model": "other", "version": "9", "inputs": [[1]]}\n'
        handle.write(other_model)
        handle.write(b'{"timestamp": 17000, "model": "churn", "inp')  # a crash mid-write

    traffic = read_inference_logs(tmp_path, "churn", since=0)

    assert list(traffic) == ["1"]
    assert traffic["1"].requests == 1


def test_given_a_window_then_older_and_newer_requests_are_left_out(tmp_path: Path) -> None:
    _log(tmp_path, [("1", np.ones((1, 3), np.float32))])
    logged_at = time.time()
    assert read_inference_logs(tmp_path, "churn", since=logged_at + 5) == {}
    assert read_inference_logs(tmp_path, "churn", since=0, until=logged_at - 60) == {}
    assert read_inference_logs(tmp_path / "missing", "churn", since=0) == {}


def test_given_rows_of_another_width_then_the_frame_names_the_mismatch(tmp_path: Path) -> None:
    _log(tmp_path, [("1", np.ones((1, 3), np.float32))])
    traffic = read_inference_logs(tmp_path, "churn", since=0)
    with pytest.raises(ValueError, match="logged 3 inputs per row; its signature names 2"):
        traffic["1"].frame(["a", "b"])


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


@pytest.mark.parametrize(
    ("history", "runs", "retrain"),
    [
        ([False], 1, True),
        ([False], 2, False),  # one drifted window is not yet persistent drift
        ([False, False], 2, True),
        ([False, True], 2, False),
        ([True, False, False], 2, False),
    ],
)
def test_given_recent_verdicts_then_retrain_only_when_drift_persists(
    history: list[bool], runs: int, retrain: bool
) -> None:
    assert drift_persists(history, runs) is retrain


def test_given_a_big_training_frame_then_the_reference_is_a_sample_of_its_inputs(
    tmp_path: Path,
) -> None:
    train = pd.DataFrame({"a": np.arange(1000.0), "b": np.ones(1000), "target": np.zeros(1000)})
    path = write_reference(train, ["b", "a"], tmp_path, max_rows=100)
    reference = pd.read_parquet(path)
    assert path.name == REFERENCE_FILE
    assert list(reference.columns) == ["b", "a"]
    assert len(reference) == 100
    assert reference["a"].is_unique
