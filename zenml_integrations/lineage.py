"""Content hashes that tie a model version to the exact data it saw."""

from __future__ import annotations

import hashlib

import pandas as pd


def frame_sha256(frame: pd.DataFrame) -> str:
    """A stable SHA-256 of a frame's columns, dtypes and values (index ignored)."""
    digest = hashlib.sha256()
    digest.update(repr([(str(name), str(dtype)) for name, dtype in frame.dtypes.items()]).encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()


def bytes_sha256(payload: bytes) -> str:
    """SHA-256 of a serialized artifact such as an ONNX model."""
    return hashlib.sha256(payload).hexdigest()
