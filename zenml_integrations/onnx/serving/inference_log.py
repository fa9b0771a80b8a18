"""Inference logs written off the request path, for drift monitoring.

The request path only appends a tuple to a queue; a daemon thread turns
batches of records into JSON lines and rotates files by size. One line per
request: time, model, version, variant, request id, inputs and outputs.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

_STOP = object()


class InferenceLogger:
    """A bounded queue drained by one writer thread into rotating JSONL files."""

    def __init__(self, directory: Path, max_bytes: int, queue_size: int = 100_000) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.dropped = 0
        directory.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._drain, name="inference-log", daemon=True)
        self._thread.start()

    def log(
        self,
        model: str,
        version: str,
        variant: str,
        request_id: str | None,
        inputs: np.ndarray,
        outputs: list[np.ndarray],
    ) -> None:
        """Queue one record; when the writer falls behind, count and drop it."""
        try:
            self._queue.put_nowait(
                (time.time(), model, version, variant, request_id, inputs, outputs)
            )
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is queued and stop the writer."""
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _drain(self) -> None:
        handle = None
        written = 0
        while True:
            item = self._queue.get()
            batch = [item]
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(entry is _STOP for entry in batch)
            lines = "".join(_line(entry) for entry in batch if entry is not _STOP)
            if lines:
                if handle is None or written >= self.max_bytes:
                    if handle is not None:
                        handle.close()
                    handle = self._new_file()
                    written = 0
                handle.write(lines)
                handle.flush()
                written += len(lines)
            if stop:
                if handle is not None:
                    handle.close()
                return

    def _new_file(self) -> Any:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.directory / f"inference-{stamp}-{time.monotonic_ns()}.jsonl"
        return path.open("a", encoding="utf-8")


def _line(entry: tuple[Any, ...]) -> str:
    timestamp, model, version, variant, request_id, inputs, outputs = entry
    record = {
        "timestamp": timestamp,
        "model": model,
        "version": version,
        "variant": variant,
        "id": request_id,
        "inputs": inputs.tolist(),
        "outputs": [output.tolist() for output in outputs],
    }
    return json.dumps(record, separators=(",", ":")) + "\n"
