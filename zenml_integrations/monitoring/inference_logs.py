"""Read the ONNX server's inference logs back as tables of served inputs, per model version."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import orjson
import pandas as pd
from zenml_integrations.monitoring.errors import InferenceLogMismatch

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ServedTraffic:
    """The rows one model version answered inside the window."""

    version: str
    inputs: pd.DataFrame  # columns by position (one-matrix models) or by feature name
    requests: int
    first_timestamp: float
    last_timestamp: float

    def frame(self, feature_names: list[str]) -> pd.DataFrame:
        """The served inputs as a table with the model's feature names.

        Raises:
            InferenceLogMismatch: when the logged rows do not have one value per feature.
        """
        logged: list[object] = list(self.inputs.columns)
        if logged != list(range(len(logged))):
            if set(logged) != set(feature_names):
                raise InferenceLogMismatch(
                    f"version {self.version} logged the features {sorted(map(str, logged))}; its "
                    f"signature names {sorted(feature_names)}; check that the log folder holds "
                    "this model's inference logs"
                )
            return self.inputs[feature_names].reset_index(drop=True)
        if len(logged) != len(feature_names):
            raise InferenceLogMismatch(
                f"version {self.version} logged {len(logged)} inputs per row; "
                f"its signature names {len(feature_names)} features; check that the log folder "
                "holds this model's inference logs"
            )
        return self.inputs.set_axis(feature_names, axis=1).reset_index(drop=True)


def read_inference_logs(
    directory: Path, model_name: str, since: float, until: float | None = None
) -> dict[str, ServedTraffic]:
    """Served traffic of ``model_name`` between ``since`` and ``until`` (Unix seconds)."""
    batches: dict[str, list[pd.DataFrame]] = {}
    requests: dict[str, int] = {}
    seen: dict[str, list[float]] = {}
    for version, timestamp, rows in logged_requests(
        directory, model_name, since, until, lambda record: _rows(record["inputs"])
    ):
        batches.setdefault(version, []).append(rows)
        requests[version] = requests.get(version, 0) + 1
        bounds = seen.setdefault(version, [timestamp, timestamp])
        bounds[0], bounds[1] = min(bounds[0], timestamp), max(bounds[1], timestamp)
    return {
        version: ServedTraffic(
            version=version,
            inputs=pd.concat(parts, ignore_index=True),
            requests=requests[version],
            first_timestamp=seen[version][0],
            last_timestamp=seen[version][1],
        )
        for version, parts in batches.items()
    }


def logged_requests(
    directory: Path,
    model_name: str,
    since: float,
    until: float | None,
    parse: Callable[[dict[str, Any]], T],
) -> Iterator[tuple[str, float, T]]:
    """Each logged request of ``model_name`` in the window: its version, time and ``parse(record)``.

    Files last written before ``since`` are skipped without being opened. A
    line that cannot be parsed (a file cut off mid-write) is counted and
    skipped: monitoring must not fail on the server's own crash.
    """
    skipped = 0
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        if path.stat().st_mtime < since:
            continue
        with path.open("rb") as handle:
            for line in handle:
                try:
                    record = orjson.loads(line)
                    timestamp = float(record["timestamp"])
                    if record["model"] != model_name or timestamp < since:
                        continue
                    if until is not None and timestamp > until:
                        continue
                    parsed = (str(record["version"]), timestamp, parse(record))
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    skipped += 1
                    continue
                yield parsed
    if skipped:
        logger.warning("skipped %d unreadable inference log lines in %s", skipped, directory)


def _rows(inputs: object) -> pd.DataFrame:
    """One logged request's inputs: a float matrix, or one list per feature (strings kept)."""
    if isinstance(inputs, dict):
        return pd.DataFrame(
            {
                name: values
                if any(isinstance(value, str) for value in values)
                else np.asarray(values, dtype=np.float32)
                for name, values in inputs.items()
            }
        )
    matrix = np.asarray(inputs, dtype=np.float32)
    return pd.DataFrame(matrix.reshape(matrix.shape[0], -1))


def busiest(traffic: dict[str, ServedTraffic]) -> ServedTraffic | None:
    """The version that answered the most rows: the one whose reference applies."""
    return max(traffic.values(), key=lambda served: len(served.inputs), default=None)
