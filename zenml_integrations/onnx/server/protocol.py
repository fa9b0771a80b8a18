"""Open Inference Protocol (V2) over REST: JSON (and binary) bodies in, JSON (and binary) out.

The hot path parses JSON with orjson (several times faster than the stdlib
on arrays of floats) and checks only the fields' JSON types here; what the
values mean is checked behind ``DataPlane.infer_decoded``, the same for every
transport. ``records`` (a list of feature objects) is this server's
convenience beside the protocol's tensors. Every rejection is an
``InferenceRequestError``, answered with HTTP 400 ``{"error": ...}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from zenml_integrations.onnx.server.binary import BinarySection, array_from_bytes, array_to_bytes
from zenml_integrations.onnx.server.inputs import request_batch
from zenml_integrations.onnx.server.model import Batch, OnnxModel
from zenml_integrations.onnx.server.oip import (
    DecodedRequest,
    InferResult,
    RequestedOutput,
    RequestTensor,
)
from zenml_integrations.onnx.server.tensors import (
    MAX_DIMENSION,
    InferenceRequestError,
    as_input_type,
    shown,
)

if TYPE_CHECKING:
    from zenml_integrations.onnx.server.feature_lookup import EntityFeatures


class RestRequest(NamedTuple):  # a tuple: built on every request, at a fifth of a dataclass's cost
    """A decoded REST request and its transport-only wish.

    ``binary_outputs``: Triton's ``binary_data_output`` request parameter, for a
    request that names no outputs (each named output carries its own flag).
    """

    request: DecodedRequest
    binary_outputs: bool


@dataclass(frozen=True)
class InferenceRequest:
    """A JSON body as the server reads it: the model-ready batch and the fields to echo."""

    batch: Batch
    request_id: str | None
    routing_key: str | None


def parse_infer_request(
    body: bytes,
    model: OnnxModel,
    *,
    max_batch_rows: int,
    allow_nan: bool,
    entities: EntityFeatures | None = None,
) -> InferenceRequest:
    """Decode a JSON body and check it against ``model``, as the server does before routing."""
    decoded = decode_request(body, None, model, entities).request
    prepared = request_batch(
        decoded.inputs, model, max_batch_rows=max_batch_rows, allow_nan=allow_nan,
        entities=entities,
    )  # fmt: skip
    return InferenceRequest(prepared.batch, decoded.id, decoded.routing_key)


def decode_request(
    body: bytes, header_length: int | None, model: OnnxModel, entities: EntityFeatures | None
) -> RestRequest:
    """A V2 tensor request or a ``records`` request, with binary data when ``header_length`` says.

    ``model`` (the champion, or the pinned version) gives records their
    feature order; ``entities`` tells records of entity ids from feature records.
    """
    section: BinarySection | None = None
    if header_length is not None:
        section = BinarySection(memoryview(body)[header_length:])
        body = body[:header_length]
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = _lenient_json(body, binary_header=header_length is not None)
    if not isinstance(payload, dict):
        raise InferenceRequestError("request body must be a JSON object with 'inputs' or 'records'")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InferenceRequestError("'id' must be a string")
    parameters = _parameters(payload.get("parameters"), "the request")
    routing_key = parameters.get("routing_key")
    binary_outputs = parameters.get("binary_data_output") is True
    inputs: tuple[RequestTensor, ...]
    if "inputs" in payload:
        tensors = payload["inputs"]
        if not isinstance(tensors, list):
            raise InferenceRequestError(
                "'inputs' must be a list of tensors (one for all features, or one per feature)"
            )
        inputs = tuple([_tensor(tensor, index, section) for index, tensor in enumerate(tensors)])
    elif "records" in payload:
        inputs = _records(payload["records"], model, entities)
    else:
        raise InferenceRequestError(
            "request needs 'inputs' (V2 tensors) or 'records' (a list of feature objects)"
        )
    if section is not None:
        section.finish()
    outputs = _requested_outputs(payload.get("outputs"), binary_outputs)
    decoded = DecodedRequest(
        request_id, inputs, outputs, routing_key if isinstance(routing_key, str) else None
    )
    return RestRequest(decoded, binary_outputs)


def _parameters(parameters: Any, owner: str) -> dict[str, Any]:
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise InferenceRequestError(
            f"'parameters' of {owner} must be an object, got {shown(parameters)}"
        )
    return parameters


def _tensor(tensor: Any, index: int, section: BinarySection | None) -> RequestTensor:
    """One input's fields, checked for their JSON types; its data from the binary section."""
    if not isinstance(tensor, dict):
        raise InferenceRequestError(
            f"input {index} must be an object with name, datatype, shape and data; "
            f"got {shown(tensor)}"
        )
    get = tensor.get
    name, datatype, shape = get("name"), get("datatype"), get("shape")
    if not isinstance(name, str):
        raise InferenceRequestError(f"input {index}: 'name' must be a string, got {shown(name)}")
    if not isinstance(datatype, str):
        raise InferenceRequestError(
            f"input {name!r}: 'datatype' must be a string such as \"FP32\", got {shown(datatype)}"
        )
    # bool is an int subclass, and true is not a dimension
    if not isinstance(shape, list) or not all(
        type(dim) is int and 0 <= dim <= MAX_DIMENSION for dim in shape
    ):
        raise InferenceRequestError(
            f"input {name!r}: 'shape' must be a list of non-negative integers, got {shown(shape)}"
        )
    parameters = get("parameters")
    declared = {} if parameters is None else _parameters(parameters, f"input {name!r}")
    size = declared.get("binary_data_size")
    content_type = declared.get("content_type")
    content_type = content_type if isinstance(content_type, str) else None
    if size is not None:
        if section is None:
            raise InferenceRequestError(
                f"input {name!r} has binary_data_size but the request has no "
                "Inference-Header-Content-Length header; send the JSON header's length in it"
            )
        if "data" in tensor:
            raise InferenceRequestError(
                f"input {name!r} has both 'data' and binary_data_size; send one of them"
            )
        raw = section.take(name, size)
        return RequestTensor(
            name, datatype, tuple(shape), array_from_bytes(name, datatype, shape, raw),
            content_type,
        )  # fmt: skip
    data = get("data")
    if not isinstance(data, list):
        raise InferenceRequestError(
            f"input {name!r}: 'data' must be a list of values (flat, or nested as the shape), "
            f"got {shown(data)}"
        )
    return RequestTensor(name, datatype, tuple(shape), data, content_type)


def _requested_outputs(outputs: Any, binary_default: bool) -> tuple[RequestedOutput, ...] | None:
    """The outputs a request names (``None``: all), each as raw bytes or JSON."""
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise InferenceRequestError(
            f"'outputs' must be a list of objects with a 'name', got {shown(outputs)}"
        )
    requested = []
    for index, output in enumerate(outputs):
        name = output.get("name") if isinstance(output, dict) else None
        if not isinstance(name, str):
            raise InferenceRequestError(
                f"output {index} must be an object with a string 'name', got {shown(output)}"
            )
        binary = _parameters(output.get("parameters"), f"output {name!r}").get("binary_data")
        if binary is not None and not isinstance(binary, bool):
            raise InferenceRequestError(
                f"output {name!r}: 'binary_data' must be true or false, got {shown(binary)}"
            )
        requested.append(RequestedOutput(name, binary_default if binary is None else binary))
    return tuple(requested)


def _records(
    records: Any, model: OnnxModel, entities: EntityFeatures | None
) -> tuple[RequestTensor, ...]:
    """``records`` as the tensors a client would have sent for them."""
    if entities is not None and _entity_records(records, entities.entity_column):
        column = entities.entity_column
        for index, row in enumerate(records):
            if not isinstance(row, dict) or list(row) != [column]:
                keys = sorted(row) if isinstance(row, dict) else type(row).__name__
                raise InferenceRequestError(
                    f"record {index}: an entity request's records hold only '{column}', got {keys}"
                )
        ids = [row[column] for row in records]
        datatype = "INT64" if entities.entity_type is int else "BYTES"
        return (RequestTensor(column, datatype, (len(ids),), ids),)
    expected = model.feature_names
    _check_records(records, expected)
    if model.tabular:  # typed by each feature's kind: the kind's encoder names a wrong value
        return tuple(
            RequestTensor(name, _record_datatype(kind, [row[name] for row in records]),
                          (len(records),), [row[name] for row in records])
            for name, kind in model.feature_kinds.items()
        )  # fmt: skip
    # Records carry no datatype: their numbers are read as FP64 would be.
    flat = [row[feature] for row in records for feature in expected]
    shape = [len(records), len(expected)]
    values = as_input_type("records", "FP64", flat, shape, model.input.dtype)
    return (RequestTensor(model.input.name, model.input.datatype, tuple(shape), values),)


def _record_datatype(kind: str, values: list[Any]) -> str:
    if kind in ("categorical", "datetime"):
        return "BYTES"
    if kind == "boolean" and all(value is None or isinstance(value, bool) for value in values):
        return "BOOL"
    return "FP64"


def _entity_records(records: Any, column: str) -> bool:
    """True when ``records`` send ids in ``column`` rather than features."""
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], dict)
        and (column in records[0])
    )


def encode_response(result: InferResult, all_binary: bool) -> tuple[bytes, int | None]:
    """The V2 response body, and the JSON header's length when outputs follow as raw bytes.

    ``all_binary``: every output as raw bytes (``binary_data_output`` with no outputs named).
    """
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for output in result.outputs:
        tensor: dict[str, Any] = {
            "name": output.name,
            "datatype": output.datatype,
            "shape": list(output.shape),
        }
        if output.binary or all_binary:
            blob = array_to_bytes(output.data)
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        elif output.data.dtype == object:  # strings: orjson serializes numeric arrays only
            tensor["data"] = [_text(value) for value in output.data.ravel().tolist()]
        else:
            tensor["data"] = output.data.ravel()
        tensors.append(tensor)
    response = {
        "model_name": result.model_name,
        "model_version": result.model_version,
        "id": result.id,
        "outputs": tensors,
    }
    header = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), len(header)


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _lenient_json(body: bytes, *, binary_header: bool) -> Any:
    """Strict JSON failed: accept NaN/Infinity tokens so the NaN check can name the feature.

    The stdlib parser also reads what orjson refuses for good reasons: nesting
    beyond 1,024 levels (refused here before it exhausts the stack), integers
    beyond 64 bits (checked against the declared datatype later) and lone UTF-16
    surrogates, which no JSON answer or log line could carry.
    """
    try:
        payload = json.loads(body)
        json.dumps(payload, ensure_ascii=False).encode()
    except RecursionError:
        raise InferenceRequestError(
            "request body is nested too deeply; a V2 request needs a few levels"
        ) from None
    except UnicodeEncodeError:
        raise InferenceRequestError(
            "request body holds a lone UTF-16 surrogate escape (\\udXXX); send valid Unicode text"
        ) from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        hint = (
            ""
            if binary_header
            else "; a body with binary tensor data needs the Inference-Header-Content-Length "
            "header (the length of its JSON part)"
        )
        raise InferenceRequestError(f"request body is not valid JSON: {error}{hint}") from None
    return payload


def _check_records(records: Any, expected: tuple[str, ...]) -> None:
    if not isinstance(records, list) or not all(isinstance(row, dict) for row in records):
        raise InferenceRequestError("'records' must be a list of objects mapping feature to value")
    for index, row in enumerate(records):
        if len(row) != len(expected) or any(feature not in row for feature in expected):
            missing = sorted(set(expected) - set(row))
            extra = sorted(set(row) - set(expected))
            raise InferenceRequestError(
                f"record {index}: missing features {missing}, unexpected features {extra}"
                " (send null for a missing value)"
            )
