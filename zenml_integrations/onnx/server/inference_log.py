"""Inference logs written off the request path, for drift monitoring.

The request path appends one tuple to a deque (atomic, no lock, no thread
wake-up); a daemon thread wakes every ``flush_seconds``, turns what has
accumulated into JSON lines and rotates files by size. One line per request:
time, model, version, variant, request id, inputs and outputs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson
from zenml_integrations.onnx.server.model import Batch


class InferenceLogger:
    """A bounded in-memory buffer drained by one writer thread into rotating JSONL files."""

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        max_pending: int = 100_000,
        flush_seconds: float = 0.25,
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_pending = max_pending
        self.dropped = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._pending: deque[tuple[Any, ...]] = deque()
        self._stop = threading.Event()
        self._flush_seconds = flush_seconds
        self._handle: IO[bytes] | None = None
        self._written = 0
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
    ) -> None:
        """Buffer one record; when the writer falls far behind, count and drop it."""
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        self._pending.append((time.time(), model, version, variant, request_id, inputs, outputs))

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is buffered and stop the writer."""
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self._flush()
        self._flush()
        if self._handle is not None:
            self._handle.close()

    def _flush(self) -> None:
        pending = self._pending
        chunk: list[bytes] = []
        while pending and len(chunk) < 10_000:
            chunk.append(_line(pending.popleft()))
        if not chunk:
            return
        if self._handle is None or self._written >= self.max_bytes:
            if self._handle is not None:
                self._handle.close()
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            path = self.directory / f"inference-{stamp}-{time.monotonic_ns()}.jsonl"
            self._handle = path.open("ab")
            self._written = 0
        data = b"".join(chunk)
        self._handle.write(data)
        self._handle.flush()
        self._written += len(data)
        if pending:
            self._flush()


def _line(entry: tuple[Any, ...]) -> bytes:
    timestamp, model, version, variant, request_id, inputs, outputs = entry
    record = {
        "timestamp": timestamp,
        "model": model,
        "version": version,
        "variant": variant,
        "id": request_id,
        "inputs": _columns(inputs) if isinstance(inputs, dict) else np.ascontiguousarray(inputs),
        "outputs": [np.ascontiguousarray(output) for output in outputs],
    }
    return orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


def _columns(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    """A per-feature batch as one list per feature (strings as text, NaN as null)."""
    return {
        name: values.ravel().tolist()
        if values.dtype == object
        else np.ascontiguousarray(values.ravel())
        for name, values in batch.items()
    }
