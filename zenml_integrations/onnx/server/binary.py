"""Tensors as raw bytes: Triton's binary tensor data extension, also gRPC's raw contents.

A binary REST body is a JSON header of ``Inference-Header-Content-Length``
bytes followed by the tensors' bytes, in the order of the inputs that carry
``parameters.binary_data_size``. Elements are little-endian, row-major; a
BYTES element is a 4-byte little-endian length and that many bytes. Every
size, offset and length is checked against the bytes actually received
before anything is allocated: a client's numbers never size a buffer.
"""

from __future__ import annotations

import math
import struct
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from zenml_integrations.onnx.server.tensors import OIP_NUMPY, InferenceRequestError, shown

HEADER_LENGTH = b"inference-header-content-length"
_LENGTH = struct.Struct("<I")
_MAX_LENGTH_DIGITS = 19  # no body is longer; int() of thousands of digits raises
_LITTLE_ENDIAN = sys.byteorder == "little"


def header_length(value: bytes, body_size: int) -> int:
    """The JSON header's length (``Inference-Header-Content-Length``), checked against the body."""
    if not value.isdigit() or len(value) > _MAX_LENGTH_DIGITS:
        raise InferenceRequestError(
            f"Inference-Header-Content-Length is {shown(value.decode('latin-1'))}; send the "
            "JSON header's length in bytes"
        )
    length = int(value)
    if length > body_size:
        raise InferenceRequestError(
            f"Inference-Header-Content-Length {length} exceeds the body of {body_size} bytes; "
            "send the length of the JSON header that starts the body"
        )
    return length


class BinarySection:
    """The bytes after the JSON header, handed out input by input."""

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._offset = 0

    def take(self, name: str, size: Any) -> memoryview:
        """The next ``size`` bytes, for input ``name`` (its ``binary_data_size``)."""
        if type(size) is not int or size < 0:
            raise InferenceRequestError(
                f"input {name!r}: 'binary_data_size' must be a non-negative integer, got "
                f"{shown(size)}"
            )
        left = len(self._data) - self._offset
        if size > left:
            raise InferenceRequestError(
                f"input {name!r}: binary_data_size {size} exceeds the {left} bytes of binary "
                "data left in the body; the sizes must add up to the bytes after the JSON header"
            )
        chunk = self._data[self._offset : self._offset + size]
        self._offset += size
        return chunk

    def finish(self) -> None:
        """Refuse bytes that no input claimed: the sizes would not add up to the body."""
        left = len(self._data) - self._offset
        if left:
            raise InferenceRequestError(
                f"{left} bytes of binary data follow the last input's; the inputs' "
                "binary_data_size values must add up to the bytes after the JSON header"
            )


def array_from_bytes(
    name: str, datatype: str, shape: Sequence[int], raw: memoryview | bytes
) -> np.ndarray:
    """A tensor's raw bytes as an array of ``datatype`` (BYTES: an object array of ``bytes``).

    Numeric data is a view of ``raw`` where it is aligned for its type.
    """
    count = math.prod(shape)
    if datatype == "BYTES":
        return _bytes_elements(name, shape, count, raw)
    scalar = OIP_NUMPY.get(datatype)
    if scalar is None:
        raise InferenceRequestError(
            f"input {name!r} has datatype {shown(datatype)}; binary data takes "
            f"{', '.join(OIP_NUMPY)} or BYTES"
        )
    dtype = np.dtype(scalar).newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise InferenceRequestError(
            f"input {name!r} holds {len(raw)} bytes; {datatype} shape {list(shape)} needs "
            f"{count} x {dtype.itemsize} = {count * dtype.itemsize}"
        )
    if datatype == "BOOL" and raw and max(raw) > 1:
        raise InferenceRequestError(f"input {name!r} is BOOL; its bytes must be 0 or 1")
    values = np.frombuffer(raw, dtype=dtype)
    if not _LITTLE_ENDIAN:
        values = values.astype(scalar)
    elif not values.flags.aligned:  # the JSON header's length decides the offset
        values = values.copy()  # aligned, numpy's and onnxruntime's fast paths apply
    return values.reshape(tuple(shape))


def _bytes_elements(
    name: str, shape: Sequence[int], count: int, raw: memoryview | bytes
) -> np.ndarray:
    if count * _LENGTH.size > len(raw):
        raise InferenceRequestError(
            f"input {name!r}: BYTES shape {list(shape)} needs {count} elements of at least "
            f"4 bytes each; the input holds {len(raw)} bytes"
        )
    elements = np.empty(count, dtype=object)
    offset = 0
    for index in range(count):
        if offset + _LENGTH.size > len(raw):
            raise InferenceRequestError(
                f"input {name!r}: element {index} of {count} starts beyond its {len(raw)} bytes"
            )
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += _LENGTH.size
        if offset + length > len(raw):
            raise InferenceRequestError(
                f"input {name!r}: element {index} claims {length} bytes; only "
                f"{len(raw) - offset} are left"
            )
        elements[index] = bytes(raw[offset : offset + length])
        offset += length
    if offset != len(raw):
        raise InferenceRequestError(
            f"input {name!r}: {len(raw) - offset} bytes follow its {count} BYTES elements"
        )
    return elements.reshape(tuple(shape))


def array_to_bytes(values: np.ndarray) -> bytes:
    """An output's raw bytes: little-endian, row-major (BYTES: length-prefixed UTF-8)."""
    if values.dtype == object:
        parts: list[bytes] = []
        for value in values.ravel().tolist():
            data = value if isinstance(value, bytes) else str(value).encode()
            parts += (_LENGTH.pack(len(data)), data)
        return b"".join(parts)
    return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()
