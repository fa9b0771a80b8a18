"""Read the ONNX server's inference logs back as tables of served inputs, per model version."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedTraffic:
    """The rows one model version answered inside the window."""

    version: str
    inputs: np.ndarray
    requests: int
    first_timestamp: float
    last_timestamp: float

    def frame(self, feature_names: list[str]) -> pd.DataFrame:
        """The served inputs as a table with the model's feature names.

        Raises:
            ValueError: when the logged rows do not have one value per feature.
        """
        if self.inputs.shape[1] != len(feature_names):
            raise ValueError(
                f"version {self.version} logged {self.inputs.shape[1]} inputs per row; "
                f"its signature names {len(feature_names)} features"
            )
        return pd.DataFrame(self.inputs, columns=feature_names)


def read_inference_logs(
    directory: Path, model_name: str, since: float, until: float | None = None
) -> dict[str, ServedTraffic]:
    """Served traffic of ``model_name`` between ``since`` and ``until`` (Unix seconds).

    Files last written before ``since`` are skipped without being opened. A
    line that cannot be parsed (a file cut off mid-write) is counted and
    skipped: monitoring must not fail on the server's own crash.
    """
    batches: dict[str, list[np.ndarray]] = {}
    requests: dict[str, int] = {}
    seen: dict[str, list[float]] = {}
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
                    version = str(record["version"])
                    rows = np.asarray(record["inputs"], dtype=np.float32)
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    skipped += 1
                    continue
                batches.setdefault(version, []).append(rows.reshape(rows.shape[0], -1))
                requests[version] = requests.get(version, 0) + 1
                bounds = seen.setdefault(version, [timestamp, timestamp])
                bounds[0], bounds[1] = min(bounds[0], timestamp), max(bounds[1], timestamp)
    if skipped:
        logger.warning("skipped %d unreadable inference log lines in %s", skipped, directory)
    return {
        version: ServedTraffic(
            version=version,
            inputs=np.concatenate(parts),
            requests=requests[version],
            first_timestamp=seen[version][0],
            last_timestamp=seen[version][1],
        )
        for version, parts in batches.items()
    }


def busiest(traffic: dict[str, ServedTraffic]) -> ServedTraffic | None:
    """The version that answered the most rows: the one whose reference applies."""
    return max(traffic.values(), key=lambda served: len(served.inputs), default=None)
