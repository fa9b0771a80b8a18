"""How one feature's values become model input: the same rule in training and serving.

A model trained on a table sees each feature as one column of a kind:
``numeric`` and ``boolean`` become float32 (missing as NaN, which the model's
own imputer fills), ``datetime`` becomes float32 days since 1970-01-01 UTC
(resolution about three minutes in this century: enough for dates, not for seconds),
``categorical`` becomes a string (missing as ``""``, which the model's encoder
knows as a level of its own). Training applies these rules to a pandas column,
the server to the JSON values of a request; both end in the arrays the ONNX
model was converted for, so serving reproduces training exactly.

Only numpy here: the serving core and the Seldon image import this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import numpy as np

FeatureKind = Literal["numeric", "boolean", "categorical", "datetime"]
FEATURE_KINDS: tuple[FeatureKind, ...] = get_args(FeatureKind)
MISSING_CATEGORY = ""
# Open Inference Protocol datatype of each numpy dtype an ONNX input or output has.
_OIP_DATATYPES = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32",
                  "bool": "BOOL", "object": "BYTES"}  # fmt: skip
_SECONDS_PER_DAY = 86_400.0


class FeatureValueError(ValueError):
    """A value cannot be given to the model as its feature's kind."""


def is_string_kind(kind: FeatureKind) -> bool:
    """Whether the model takes this kind as a string tensor (else float32)."""
    return kind == "categorical"


def encode_values(kind: FeatureKind, values: Sequence[Any] | np.ndarray) -> np.ndarray:
    """A ``[rows, 1]`` model input for one feature from Python or numpy values.

    ``None`` (and NaN) is a missing value for every kind.

    Raises:
        FeatureValueError: naming the first value that does not fit the kind.
    """
    if kind == "categorical":
        column = np.empty(len(values), dtype=object)
        for index, value in enumerate(values):
            column[index] = _category(value, index)
    elif kind == "datetime":
        column = np.array([_days(value, index) for index, value in enumerate(values)])
    else:
        column = _floats(kind, values)
    return column.astype(np.float32 if kind != "categorical" else object).reshape(-1, 1)


def _category(value: Any, row: int) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return MISSING_CATEGORY
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | np.integer | np.bool_):
        return str(value)
    raise FeatureValueError(f"row {row}: {value!r} is not a category (send a string or null)")


def _floats(kind: FeatureKind, values: Sequence[Any] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return values.astype(np.float64)
    for index, value in enumerate(values):
        if value is None or isinstance(value, bool | np.bool_):
            continue
        if kind == "boolean" and value not in (0, 1) and value == value:
            raise FeatureValueError(
                f"row {index}: {value!r} is not a boolean (send true, false or null)"
            )
        if not isinstance(value, int | float | np.integer | np.floating):
            raise FeatureValueError(
                f"row {index}: {value!r} is not a number (send a number or null)"
            )
    return np.array(values, dtype=np.float64)


def _days(value: Any, row: int) -> float:
    if value is None or (isinstance(value, float) and value != value):
        return float("nan")
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return float("nan")
        return float(value.astype("datetime64[us]").astype(np.int64)) / (_SECONDS_PER_DAY * 1e6)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise FeatureValueError(
                f"row {row}: {value!r} is not an ISO 8601 date or time (e.g. 2026-03-01T12:00:00Z)"
            ) from None
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.timestamp() / _SECONDS_PER_DAY
    raise FeatureValueError(f"row {row}: {value!r} is not a date (send an ISO 8601 string or null)")


def client_values(kind: FeatureKind, values: Sequence[Any] | np.ndarray) -> list[Any]:
    """The JSON values a client sends for model-input values: ``encode_values`` undone."""
    decoded: list[Any] = []
    for value in np.asarray(values, dtype=object).ravel().tolist():
        missing = (
            value is None
            or value == MISSING_CATEGORY
            or (isinstance(value, float) and value != value)
        )
        if missing:
            decoded.append(None)
        elif kind == "categorical":
            decoded.append(str(value))
        elif kind == "boolean":
            decoded.append(bool(value))
        elif kind == "datetime":
            moment = datetime.fromtimestamp(round(float(value) * _SECONDS_PER_DAY), tz=UTC)
            decoded.append(moment.isoformat())
        else:
            decoded.append(float(value))
    return decoded


def oip_datatype(dtype: np.dtype[Any]) -> str:
    """The OIP datatype name clients see for a tensor of ``dtype`` (the server and Seldon's)."""
    return _OIP_DATATYPES.get(dtype.name, dtype.name.upper())
