"""``ModelInferRequest`` to ``DecodedRequest`` and ``InferResult`` to ``ModelInferResponse``.

The gRPC transport checks only what its encoding defines: which contents
field a datatype uses, and that every ``raw_input_contents`` entry holds
exactly the bytes its shape and datatype need, checked before anything is
allocated (by ``binary``, which reads Triton's binary tensor data alike).
What the values mean (names, datatypes the model takes, ranges) is checked
behind ``DataPlane.infer_decoded``, as for REST. Answers always carry
``raw_output_contents``, as Triton's server sends them and every client reads.
"""

from __future__ import annotations

import math

import numpy as np
from zenml_integrations.onnx.server.binary import array_from_bytes, array_to_bytes
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
DATATYPES = ", ".join([*OIP_NUMPY, "BYTES"])


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
        response.raw_output_contents.append(array_to_bytes(output.data))
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
    if raw is not None:
        if tensor.HasField("contents"):
            raise InferenceRequestError(
                f"input {name!r} has both 'contents' and a raw_input_contents entry; send one"
            )
        array = array_from_bytes(name, datatype, shape, raw)
        return RequestTensor(name, datatype, shape, array, _content_type(tensor))
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
    count = math.prod(shape)
    if len(values) != count:
        raise InferenceRequestError(
            f"input {name!r} has {len(values)} values in {field}; shape {list(shape)} needs {count}"
        )
    if datatype == "BYTES":
        strings = np.empty(count, dtype=object)
        strings[:] = list(values)
        return RequestTensor(name, datatype, shape, strings.reshape(shape), _content_type(tensor))
    return RequestTensor(name, datatype, shape, list(values), _content_type(tensor))


def _content_type(tensor: ModelInferRequest.InferInputTensor) -> str | None:
    """The tensor's ``content_type`` parameter (MLServer's codecs set it), if any."""
    parameter = tensor.parameters.get("content_type")
    return parameter.string_param or None if parameter is not None else None
