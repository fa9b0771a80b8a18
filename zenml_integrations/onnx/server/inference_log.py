"""Inference logs written off the request path, for drift monitoring.

The request path appends one tuple to a deque (atomic, no lock, no thread
wake-up); a daemon thread wakes every ``flush_seconds``, turns what has
accumulated into JSON lines and rotates files by size. One line per request:
time, model, version, variant, request id, inputs and outputs.

The writer outlives its faults: an entry it cannot encode, a folder that is
gone or a full disk is counted as failed and reported (at most once a minute
per kind), and the next flush tries again, recreating the folder. Files hold
raw feature values, so they are readable by the owner only (0600, a folder the
writer creates is 0700), and the oldest are deleted beyond ``max_files``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
from zenml_integrations.onnx.errors import OnnxServerStartError
from zenml_integrations.onnx.server.log_throttle import LogThrottle
from zenml_integrations.onnx.server.metrics import InferenceLogCounters
from zenml_integrations.onnx.server.model import Batch

logger = logging.getLogger("zenml_integrations.onnx.server")

FILE_PATTERN = "inference-*.jsonl"
_CHUNK_ENTRIES = 10_000


class InferenceLogger:
    """A bounded in-memory buffer drained by one writer thread into rotating JSONL files."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        counters: InferenceLogCounters,
        *,
        max_files: int,
        max_pending: int = 100_000,
        flush_seconds: float = 0.25,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.max_pending = max_pending
        self.counters = counters
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise OnnxServerStartError(
                f"cannot create the inference log folder {directory}: {error.strerror}; "
                "create it or set inference_log_dir to a writable folder"
            ) from None
        self._pending: deque[tuple[Any, ...]] = deque()
        self._stop = threading.Event()
        self._flush_seconds = flush_seconds
        self._handle: IO[bytes] | None = None
        self._written = 0
        self._failing = False
        self._reports = LogThrottle(logger)
        self._thread = threading.Thread(target=self._run, name="inference-log", daemon=True)
        self._thread.start()

    def log(
        self,
        model: str,
        version: str,
        variant: str,
        request_id: str | None,
        inputs: Batch,
        outputs: list[np.ndarray],
        entity_ids: list[int | str] | None = None,
    ) -> None:
        """Buffer one record; when the writer falls far behind, count and drop it.

        ``entity_ids`` are the keys a request by entity was looked up by, one per row.
        """
        if len(self._pending) >= self.max_pending:
            self.counters.dropped.inc()
            return
        self._pending.append(
            (time.time(), model, version, variant, request_id, inputs, outputs, entity_ids)
        )

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is buffered and stop the writer."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self._flush()
        self._flush()
        self._close_file()

    def _flush(self) -> None:
        pending = self._pending
        while pending:
            lines: list[bytes] = []
            for _ in range(min(len(pending), _CHUNK_ENTRIES)):
                entry = pending.popleft()
                try:
                    lines.append(_line(entry))
                except (orjson.JSONEncodeError, TypeError, ValueError) as error:
                    self.counters.failed.inc()
                    self._reports.log("encode", logging.WARNING,
                                      "inference log entry of %s version %s not written: %s",
                                      entry[1], entry[2], error)  # fmt: skip
            if lines:
                self._write(lines)

    def _write(self, lines: list[bytes]) -> None:
        data = b"".join(lines)
        try:
            handle = self._file()
            handle.write(data)
            handle.flush()
        except OSError as error:
            self.counters.failed.inc(len(lines))
            self._close_file()  # the next flush opens a new file, recreating the folder
            self._failing = True
            self._reports.log("write", logging.ERROR,
                              "inference logs to %s failing, %d entries lost: %s; retrying "
                              "every %.2f s", self.directory, len(lines), error,
                              self._flush_seconds)  # fmt: skip
            return
        self._written += len(data)
        self.counters.written.inc(len(lines))
        if self._failing:
            self._failing = False
            logger.warning("inference logs to %s written again", self.directory)

    def _file(self) -> IO[bytes]:
        """The open log file; a new one when it is full or was deleted under the writer."""
        handle = self._handle
        if handle is not None and (
            self._written >= self.max_bytes or os.fstat(handle.fileno()).st_nlink == 0
        ):
            self._close_file()
            handle = None
        if handle is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            path = self.directory / f"inference-{stamp}-{time.monotonic_ns()}.jsonl"
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
            handle = self._handle = os.fdopen(os.open(path, flags, 0o600), "ab")
            self._written = 0
            self._enforce_retention()
        return handle

    def _enforce_retention(self) -> None:
        """Delete the oldest log files beyond ``max_files`` (names sort by creation time)."""
        for path in sorted(self.directory.glob(FILE_PATTERN))[: -self.max_files]:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as error:
                self._reports.log(
                    "retention", logging.WARNING, "cannot delete old inference log %s: %s",
                    path, error,
                )  # fmt: skip

    def _close_file(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            handle.close()
        except OSError as error:  # what was buffered is already counted as written or failed
            self._reports.log("close", logging.WARNING,
                              "closing inference log in %s: %s", self.directory, error)  # fmt: skip


def _line(entry: tuple[Any, ...]) -> bytes:
    timestamp, model, version, variant, request_id, inputs, outputs, entity_ids = entry
    record = {
        "timestamp": timestamp,
        "model": model,
        "version": version,
        "variant": variant,
        "id": request_id,
        "inputs": _columns(inputs) if isinstance(inputs, dict) else np.ascontiguousarray(inputs),
        "outputs": [np.ascontiguousarray(output) for output in outputs],
    }
    if entity_ids is not None:
        record["entity_ids"] = entity_ids
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


def _columns(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    """A per-feature batch as one list per feature (strings as text, NaN as null)."""
    return {
        name: values.ravel().tolist()
        if values.dtype == object
        else np.ascontiguousarray(values.ravel())
        for name, values in batch.items()
    }
