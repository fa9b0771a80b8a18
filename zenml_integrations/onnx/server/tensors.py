"""The values of an Open Inference Protocol tensor, checked against its declared datatype.

Every field and value a client sends is checked before numpy sees it: a
field of the wrong JSON type, data nested unlike its shape, a value that
does not fit the declared datatype, or a datatype the model's input cannot
take without loss is an ``InferenceRequestError`` naming the input and the
value, which the server answers with HTTP 400.
"""

from __future__ import annotations

import math
import warnings
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from zenml_integrations.onnx.server.oip import RequestTensor

# The numeric OIP datatypes and the numpy type that holds each exactly.
OIP_NUMPY: dict[str, type[np.generic]] = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
    "INT64": np.int64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
}  # fmt: skip
FLOAT_DATATYPES = frozenset({"FP16", "FP32", "FP64"})
INTEGER_DATATYPES = frozenset(OIP_NUMPY) - FLOAT_DATATYPES - {"BOOL"}
NUMERIC_DATATYPES = FLOAT_DATATYPES | INTEGER_DATATYPES
# The JSON values each datatype takes; null is a missing value wherever the model accepts one.
NULL: type = type(None)
JSON_TYPES: dict[str, frozenset[type]] = {
    **dict.fromkeys(FLOAT_DATATYPES, frozenset({int, float, NULL})),
    **dict.fromkeys(INTEGER_DATATYPES, frozenset({int, NULL})),
    "BOOL": frozenset({bool, NULL}),
    "BYTES": frozenset({str, NULL}),
}
JSON_WORDS = {"BOOL": "true or false", "FP16": "a number", "FP32": "a number", "FP64": "a number",
               "BYTES": "a string"}  # fmt: skip
MAX_DIMENSION = 2**63 - 1
SHOWN_CHARACTERS = 60
# A JSON number beyond float32 becomes infinity in the cast; the finiteness check
# that follows names the value, so numpy's warning would only repeat it on stderr.
warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning, module=__name__)


class InferenceRequestError(ValueError):
    """A client sent a request the model cannot answer (HTTP ``status``: 400 unless overridden)."""

    status = 400


def shown(value: Any) -> str:
    """A client's value in a message, cut short: a message must stay one readable line."""
    text = repr(value)
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[:SHOWN_CHARACTERS]}... ({len(text)} characters)"


def flat_values(tensor: RequestTensor) -> list[Any]:
    """JSON ``data`` in row-major order; nested data must nest exactly as the shape says."""
    data, shape = tensor.data, list(tensor.shape)
    if not isinstance(data, list):
        raise TypeError(f"input {tensor.name!r} carries an array, not JSON values")
    level, nested = data, bool(data) and type(data[0]) is list
    for depth in range(1, len(shape)) if nested else ():
        if len(level) != math.prod(shape[:depth]) or not all(type(item) is list for item in level):
            break
        level = list(chain.from_iterable(level))
    if len(level) == math.prod(shape):
        return level
    if nested:
        raise InferenceRequestError(
            f"input {tensor.name!r}: nested 'data' does not nest as shape "
            f"{shown(shape)}; send it flat (row-major) or nested exactly as the shape"
        )
    raise InferenceRequestError(
        f"input {tensor.name!r} has {len(level)} values; shape {shown(shape)} "
        f"needs {shown(math.prod(shape))}"
    )


def check_declared(where: str, datatype: str, flat: list[Any], shape: list[int]) -> None:
    """Refuse a value that is not of the declared datatype (1000.5 or 1000 as INT8, true as FP32).

    null is a missing value there, judged where the values are used.
    """
    json_types = JSON_TYPES[datatype]
    if not set(map(type, flat)) <= json_types:
        index, value = next(
            (index, value) for index, value in enumerate(flat) if type(value) not in json_types
        )
        if isinstance(value, list):
            raise InferenceRequestError(f"{where}: data is nested deeper than shape {shown(shape)}")
        wanted = JSON_WORDS.get(datatype, "an integer")
        raise InferenceRequestError(
            f"{where} is {datatype}; value {shown(value)} at position {index} is not {wanted}; "
            f"send {wanted} (null for a missing value)"
        )
    if datatype in INTEGER_DATATYPES:
        _check_integer_range(where, datatype, flat, np.iinfo(OIP_NUMPY[datatype]))


def as_input_type(
    where: str, datatype: str, flat: list[Any], shape: list[int], target: np.dtype[Any]
) -> np.ndarray:
    """JSON values sent as ``datatype``, checked against it, in the model's input type.

    A datatype the input type cannot take without loss is refused (floats into
    an integer input, numbers into a boolean one); numeric values into a float
    input are rounded as a float model sees them.
    """
    check_declared(where, datatype, flat, shape)
    _check_cast(where, datatype, target, has_null=None in flat)
    if target.kind in "iu":
        _check_integer_range(where, datatype, flat, np.iinfo(target))
    try:
        values = np.asarray(flat, dtype=target)
    except OverflowError:  # a JSON integer beyond every float
        big = max((value for value in flat if value is not None), key=abs)
        raise InferenceRequestError(
            f"{where}: value {shown(big)} is beyond the model's {target} range"
        ) from None
    if datatype == "FP16" and bool((np.abs(values) > np.finfo(np.float16).max).any()):
        raise InferenceRequestError(f"{where}: a value is beyond the FP16 range; send FP32")
    return values


def array_as_input_type(
    where: str, datatype: str, values: np.ndarray, target: np.dtype[Any]
) -> np.ndarray:
    """Raw values (already of ``datatype``: binary data, gRPC contents) in the model's input type.

    The same rules as for JSON values: only casts without loss.
    """
    _check_cast(where, datatype, target, has_null=False)
    if target.kind in "iu" and datatype in INTEGER_DATATYPES and values.size:
        extremes = [int(values.min()), int(values.max())]
        _check_integer_range(where, datatype, extremes, np.iinfo(target))
    return values.astype(target, copy=False)


def _check_cast(where: str, datatype: str, target: np.dtype[Any], *, has_null: bool) -> None:
    if target.kind in "iu" and (datatype in FLOAT_DATATYPES or has_null):
        raise InferenceRequestError(
            f"{where}: the model's input takes {target} values; {datatype} data (or null) "
            "cannot be cast to it without loss; send integers as INT64"
        )
    if target.kind == "b" and datatype != "BOOL":
        raise InferenceRequestError(
            f"{where}: the model's input takes booleans; {datatype} cannot be cast to it "
            "without loss; send BOOL"
        )


def _check_integer_range(where: str, datatype: str, flat: list[Any], limits: np.iinfo[Any]) -> None:
    integers = [value for value in flat if value is not None]
    for value in (min(integers, default=0), max(integers, default=0)):
        if not limits.min <= value <= limits.max:
            raise InferenceRequestError(
                f"{where}: {datatype} value {shown(value)} does not fit "
                f"{limits.dtype} [{limits.min}, {limits.max}]"
            )
