"""The inference log writer survives its faults, counts every entry and keeps files private."""

from __future__ import annotations

import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from zenml_integrations.onnx.errors import OnnxServerStartError
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.metrics import ServerMetrics

ROWS = np.ones((1, 4), np.float32)
OUTPUTS = [np.zeros(1, np.int64)]


def _writer(directory: Path, **settings: float) -> tuple[InferenceLogger, Callable[[str], float]]:
    metrics = ServerMetrics()
    options = {"max_bytes": 1_000_000, "max_files": 4, "flush_seconds": 0.01} | settings
    writer = InferenceLogger(
        directory,
        int(options.pop("max_bytes")),
        metrics.inference_log_counters("churn"),
        max_files=int(options.pop("max_files")),
        **options,  # type: ignore[arg-type]
    )

    def count(outcome: str) -> float:
        value = metrics.registry.get_sample_value(
            "onnx_server_inference_log_entries_total", {"model": "churn", "outcome": outcome}
        )
        return value or 0.0

    return writer, count


def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def _log(writer: InferenceLogger, request_id: str | None = None) -> None:
    writer.log("churn", "1", "champion", request_id, ROWS, OUTPUTS)


def test_given_the_folder_is_replaced_by_a_file_then_entries_fail_counted_and_writes_resume(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs"
    writer, count = _writer(folder)
    _log(writer)
    _until(lambda: count("written") == 1)

    shutil.rmtree(folder)
    folder.write_text("not a folder")  # every open and mkdir now fails
    for _ in range(3):
        _log(writer)
    _until(lambda: count("failed") == 3)
    assert writer._thread.is_alive()
    assert not writer._pending  # failed entries leave memory: nothing grows to the cap

    folder.unlink()
    _log(writer)
    _until(lambda: count("written") == 2)
    writer.close()
    assert len(list(folder.glob("inference-*.jsonl"))) == 1


def test_given_the_folder_is_deleted_under_an_open_file_then_a_new_file_is_written(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs"
    writer, count = _writer(folder)
    _log(writer)
    _until(lambda: count("written") == 1)
    shutil.rmtree(folder)  # the open file is unlinked: writes to it would vanish

    _log(writer)
    _until(lambda: count("written") == 2)
    writer.close()
    assert len((next(folder.glob("inference-*.jsonl"))).read_bytes().splitlines()) == 1


def test_given_a_full_buffer_or_an_unencodable_entry_then_each_is_counted(tmp_path: Path) -> None:
    writer, count = _writer(tmp_path, max_pending=2, flush_seconds=3600)
    for _ in range(5):
        _log(writer)
    assert count("dropped") == 3
    writer.close()
    assert count("written") == 2

    writer, count = _writer(tmp_path)
    _log(writer, request_id="\ud800")  # a lone surrogate: no JSON line can hold it
    _log(writer, request_id="fine")
    _until(lambda: count("written") == 1 and count("failed") == 1)
    assert writer._thread.is_alive()
    writer.close()


def test_given_rotation_then_at_most_max_files_are_kept_and_only_the_owner_reads_them(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "logs"
    writer, count = _writer(folder, max_bytes=1, max_files=3)  # a new file per flush
    for written in range(1, 8):
        _log(writer)
        _until(lambda written=written: count("written") == written)  # type: ignore[misc]
    writer.close()

    files = sorted(folder.glob("inference-*.jsonl"))
    assert len(files) == 3
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in files} == {0o600}


def test_given_a_folder_that_cannot_be_created_then_start_up_stops_with_one_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OnnxServerStartError) as raised:
        _writer(tmp_path / "file" / "logs")
    message = str(raised.value)
    assert "cannot create the inference log folder" in message
    assert "inference_log_dir" in message
    assert "\n" not in message
