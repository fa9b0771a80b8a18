"""Inference logs read back per version, per window and per model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from zenml_integrations.monitoring.inference_logs import busiest, read_inference_logs
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.metrics import ServerMetrics


def _writer(directory: Path) -> InferenceLogger:
    counters = ServerMetrics().inference_log_counters("churn")
    return InferenceLogger(directory, 4096, counters, max_files=8, flush_seconds=0.01)


def _log(directory: Path, entries: list[tuple[str, np.ndarray]]) -> None:
    logger = _writer(directory)
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
    np.testing.assert_array_equal(
        traffic["1"].inputs.to_numpy(), np.concatenate([first, first[:1]])
    )
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


def test_given_per_feature_requests_when_read_then_strings_and_gaps_come_back(
    tmp_path: Path,
) -> None:
    batch = {
        "amount": np.asarray([[1.5], [np.nan]], np.float32),
        "grade": np.asarray([["A"], [""]], dtype=object),
    }
    logger = _writer(tmp_path)
    logger.log("churn", "3", "champion", "r-1", batch, [np.zeros(2, np.int64)])
    logger.close()

    frame = read_inference_logs(tmp_path, "churn", since=0)["3"].frame(["grade", "amount"])

    assert frame["grade"].tolist() == ["A", ""]
    assert frame["amount"].iloc[0] == 1.5
    assert np.isnan(frame["amount"].iloc[1])
    with pytest.raises(ValueError, match="logged the features"):
        read_inference_logs(tmp_path, "churn", since=0)["3"].frame(["grade"])
