"""``ModelInferRequest`` to ``DecodedRequest`` and ``InferResult`` to ``ModelInferResponse``.

The gRPC transport checks only what its encoding defines: which contents
field a datatype uses, and that every ``raw_input_contents`` entry holds
exactly the bytes its shape and datatype need, checked before anything is
allocated. What the values mean (names, datatypes the model takes, ranges) is
checked behind ``DataPlane.infer_decoded``, as for REST. Answers always carry
``raw_output_contents``, as Triton's server sends them and every client reads.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
from zenml_integrations.onnx.server.oip import (
    DecodedRequest,
    InferResult,
    RequestedOutput,
    RequestTensor,
)
from zenml_integrations.onnx.server.proto.grpc_predict_v2_pb2 import (
    ModelInferRequest,
    ModelInferResponse,
)
from zenml_integrations.onnx.server.tensors import OIP_NUMPY, InferenceRequestError, shown

# The ``InferTensorContents`` field each datatype's values travel in (FP16 has none: raw only).
CONTENTS_FIELD: dict[str, str] = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
    "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
    "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}  # fmt: skip
# Little-endian numpy types of the raw layout.
RAW_DTYPES: dict[str, np.dtype[Any]] = {
    datatype: np.dtype(scalar).newbyteorder("<") for datatype, scalar in OIP_NUMPY.items()
}
DATATYPES = ", ".join([*OIP_NUMPY, "BYTES"])
_LENGTH = struct.Struct("<I")


def decode_infer_request(message: ModelInferRequest) -> DecodedRequest:
    """The transport-free request ``message`` carries.

    Raises:
        InferenceRequestError: a tensor whose contents do not fit its datatype and shape.
    """
    raw = message.raw_input_contents
    if raw and len(raw) != len(message.inputs):
        raise InferenceRequestError(
            f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs; "
            "send one entry per input, in the order of 'inputs'"
        )
    inputs = tuple(
        _tensor(tensor, raw[index] if raw else None) for index, tensor in enumerate(message.inputs)
    )
    outputs = (
        tuple(RequestedOutput(output.name, binary=True) for output in message.outputs)
        if message.outputs
        else None
    )
    routing = message.parameters.get("routing_key")
    routing_key = routing.string_param if routing is not None else None
    return DecodedRequest(message.id or None, inputs, outputs, routing_key or None)


def encode_infer_response(result: InferResult) -> bytes:
    """The serialized ``ModelInferResponse`` for ``result``, every output as raw bytes."""
    response = ModelInferResponse(
        model_name=result.model_name, model_version=result.model_version, id=result.id
    )
    for output in result.outputs:
        tensor = response.outputs.add()
        tensor.name = output.name
        tensor.datatype = output.datatype
        tensor.shape.extend(output.shape)
        response.raw_output_contents.append(_raw_bytes(output.datatype, output.data))
    return response.SerializeToString()  # type: ignore[no-any-return]


def _tensor(tensor: ModelInferRequest.InferInputTensor, raw: bytes | None) -> RequestTensor:
    name, datatype = tensor.name, tensor.datatype
    if datatype not in CONTENTS_FIELD and datatype != "FP16":
        raise InferenceRequestError(
            f"input {name!r}: datatype {shown(datatype)} is not an OIP datatype; use one of "
            f"{DATATYPES}"
        )
    shape = tuple(tensor.shape)
    if any(dim < 0 for dim in shape):
        raise InferenceRequestError(
            f"input {name!r}: shape {list(shape)} has a negative dimension; send the "
            "tensor's actual shape"
        )
    count = math.prod(shape)
    if raw is not None:
        if tensor.HasField("contents"):
            raise InferenceRequestError(
                f"input {name!r} has both 'contents' and a raw_input_contents entry; send one"
            )
        data = _from_raw(name, datatype, shape, count, raw)
        return RequestTensor(name, datatype, shape, data)
    contents = tensor.contents
    field = CONTENTS_FIELD.get(datatype)
    if field is None:
        raise InferenceRequestError(
            f"input {name!r}: {datatype} values travel only in raw_input_contents"
        )
    sent = [described.name for described, _ in contents.ListFields()]
    if sent not in ([], [field]):
        raise InferenceRequestError(
            f"input {name!r} is {datatype} but its contents fill {', '.join(sent)}; "
            f"{datatype} values go in {field}"
        )
    values = getattr(contents, field)
    if len(values) != count:
        raise InferenceRequestError(
            f"input {name!r} has {len(values)} values in {field}; shape {list(shape)} needs {count}"
        )
    if datatype == "BYTES":
        strings = np.empty(count, dtype=object)
        strings[:] = list(values)
        return RequestTensor(name, datatype, shape, strings.reshape(shape))
    return RequestTensor(name, datatype, shape, list(values))


def _from_raw(
    name: str, datatype: str, shape: tuple[int, ...], count: int, raw: bytes
) -> np.ndarray:
    """The elements of one raw entry, a view of it for numbers (no copy, no allocation)."""
    if datatype == "BYTES":
        return _bytes_elements(name, shape, count, raw)
    dtype = RAW_DTYPES[datatype]
    expected = count * dtype.itemsize
    if len(raw) != expected:
        raise InferenceRequestError(
            f"input {name!r}: raw_input_contents entry has {len(raw)} bytes; {datatype} shape "
            f"{list(shape)} needs {count} x {dtype.itemsize} = {expected}"
        )
    if datatype == "BOOL":
        octets = np.frombuffer(raw, dtype=np.uint8)
        if count and int(octets.max()) > 1:
            raise InferenceRequestError(
                f"input {name!r}: BOOL raw bytes must be 0 or 1, got {int(octets.max())}"
            )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _bytes_elements(name: str, shape: tuple[int, ...], count: int, raw: bytes) -> np.ndarray:
    """BYTES elements: each a 4-byte little-endian length, then that many bytes."""
    if count > len(raw) // _LENGTH.size:  # every element needs its 4-byte length at least
        raise InferenceRequestError(
            f"input {name!r}: raw_input_contents entry has {len(raw)} bytes, too few for the "
            f"{count} BYTES elements of shape {list(shape)} (4 length bytes each)"
        )
    elements = np.empty(count, dtype=object)
    offset = 0
    for index in range(count):
        if offset + _LENGTH.size > len(raw):
            raise InferenceRequestError(
                f"input {name!r}: raw_input_contents ends inside element {index}'s length; "
                f"shape {list(shape)} needs {count} elements"
            )
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += _LENGTH.size
        if offset + length > len(raw):
            raise InferenceRequestError(
                f"input {name!r}: BYTES element {index} says {length} bytes, but only "
                f"{len(raw) - offset} remain in its raw_input_contents entry"
            )
        elements[index] = raw[offset : offset + length]
        offset += length
    if offset != len(raw):
        raise InferenceRequestError(
            f"input {name!r}: {len(raw) - offset} bytes follow the {count} BYTES elements of "
            f"shape {list(shape)}; the entry must hold exactly those elements"
        )
    return elements.reshape(shape)


def _raw_bytes(datatype: str, data: np.ndarray) -> bytes:
    if datatype != "BYTES":
        return np.ascontiguousarray(data, dtype=RAW_DTYPES[datatype]).tobytes()
    parts: list[bytes] = []
    for element in data.reshape(-1):
        encoded = element if isinstance(element, bytes) else str(element).encode()
        parts += (_LENGTH.pack(len(encoded)), encoded)
    return b"".join(parts)
