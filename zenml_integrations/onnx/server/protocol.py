"""Open Inference Protocol (V2) request parsing and response encoding.

The hot path parses JSON with orjson (several times faster than the stdlib
on arrays of floats) straight into a float32 array and validates it against
the model's input metadata: no per-request pydantic models. Every rejection
is an ``InferenceRequestError`` whose message says what was wrong and what
was expected; the server turns it into HTTP 400 ``{"error": ...}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from zenml_integrations.onnx.server.model import Batch, OnnxModel, batch_rows
from zenml_integrations.onnx.server.tensors import (
    INTEGER_DATATYPES,
    JSON_TYPES,
    NUMERIC_DATATYPES,
    OIP_NUMPY,
    InferenceRequestError,
    Tensor,
    as_input_type,
    check_declared,
    shown,
)
from zenml_integrations.tabular import FeatureKind, FeatureValueError, encode_values

if TYPE_CHECKING:
    from zenml_integrations.onnx.server.feature_lookup import EntityFeatures

# Up to this many values, a Python sum checks finiteness faster than numpy.
_SMALL_BATCH_VALUES = 256


@dataclass(frozen=True)
class InferenceRequest:
    """A parsed, validated request: the model-ready batch and the fields to echo."""

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
    """Decode a V2 tensor request or a ``records`` request into a model-ready batch.

    A model with one input per feature takes one tensor per feature (the
    tabular convention of MLServer and KServe clients) or records; ``null`` is
    a missing value there, which the model's own imputer fills. With
    ``entities``, a request whose input (or record key) is the entity column
    carries ids; their features are looked up and become the batch.
    """
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = _lenient_json(body)
    if not isinstance(payload, dict):
        raise InferenceRequestError("request body must be a JSON object with 'inputs' or 'records'")
    request_id = payload.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InferenceRequestError("'id' must be a string")
    parameters = payload.get("parameters") or {}
    routing_key = parameters.get("routing_key") if isinstance(parameters, dict) else None
    batch: Batch
    if entities is not None and _names_entities(payload, entities.entity_column):
        batch = entities.batch(_entity_ids(payload, entities, max_batch_rows))
    elif "inputs" in payload:
        batch = (
            _feature_tensors(payload["inputs"], model)
            if model.tabular
            else _tensor_batch(payload["inputs"], model)
        )
    elif "records" in payload:
        batch = (
            _feature_records(payload["records"], model)
            if model.tabular
            else _records_batch(payload["records"], model)
        )
    else:
        raise InferenceRequestError(
            "request needs 'inputs' (V2 tensors) or 'records' (a list of feature objects)"
        )
    rows = batch_rows(batch)
    if rows == 0:
        raise InferenceRequestError("the batch has no rows")
    if rows > max_batch_rows:
        raise InferenceRequestError(f"batch of {rows} rows exceeds the limit of {max_batch_rows}")
    if isinstance(batch, dict):
        _refuse_infinities(batch)
    elif batch.dtype.kind == "f" and not _all_finite(batch):
        _refuse_non_finite(batch, model, allow_nan)
    return InferenceRequest(
        batch, request_id, routing_key if isinstance(routing_key, str) else None
    )


def _all_finite(batch: np.ndarray) -> bool:
    """Whether no value is NaN or infinite, cheaply for the one-row requests that dominate.

    A sum is finite only if every value is (NaN and infinities propagate); for a
    few values Python's sum beats any numpy reduction's fixed cost of a few
    microseconds. A finite batch whose sum overflows falls through to the mask.
    """
    total = sum(batch.ravel().tolist()) if batch.size <= _SMALL_BATCH_VALUES else batch.sum()
    return math.isfinite(total) or bool(np.isfinite(batch).all())


def _refuse_non_finite(batch: np.ndarray, model: OnnxModel, allow_nan: bool) -> None:
    """Name the first value the model cannot take: a missing one, an infinity, or one too large.

    A number beyond the input type's range became infinity in the cast, so an
    infinity is refused even where missing values (NaN) are allowed.
    """
    refused = np.isinf(batch) if allow_nan else ~np.isfinite(batch)
    if not refused.any():
        return
    row, column = (int(index) for index in np.argwhere(refused)[0])
    where = f"at row {row}, feature '{model.feature_names[column]}'"
    if np.isinf(batch[row, column]):
        raise InferenceRequestError(
            f"value {where} is infinite or beyond the {batch.dtype} range of input "
            f"'{model.input.name}'; send a finite number that fits it"
        )
    raise InferenceRequestError(
        f"missing value (null or NaN) {where}; this model does not accept missing values"
    )


def _lenient_json(body: bytes) -> Any:
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
        raise InferenceRequestError(f"request body is not valid JSON: {error}") from None
    return payload


def _tensor_batch(inputs: Any, model: OnnxModel) -> np.ndarray:
    if not isinstance(inputs, list) or len(inputs) != 1:
        raise InferenceRequestError(
            f"'inputs' must be a list with one tensor named '{model.input.name}'"
        )
    tensor = Tensor.parse(inputs[0], 0)
    name, shape = tensor.name, tensor.shape
    if name != model.input.name:
        raise InferenceRequestError(
            f"unknown input {shown(name)}; the model's input is '{model.input.name}'"
        )
    if tensor.datatype not in OIP_NUMPY:
        raise InferenceRequestError(
            f"input '{name}' has datatype {shown(tensor.datatype)}; send FP32 (or another "
            f"numeric type: {', '.join(OIP_NUMPY)})"
        )
    if len(shape) != 2:
        raise InferenceRequestError(
            f"input '{name}' shape {shown(shape)} must be [rows, {model.n_features}]"
        )
    if shape[1] != model.n_features:
        raise InferenceRequestError(
            f"input '{name}' has {shown(shape[1])} features per row; the model expects "
            f"{model.n_features}"
        )
    values = as_input_type(
        f"input '{name}'", tensor.datatype, tensor.flat_data(), shape, model.input.dtype
    )
    return values.reshape(shape[0], shape[1])


_DATATYPES_BY_KIND: dict[FeatureKind, frozenset[str]] = {
    "numeric": NUMERIC_DATATYPES,
    "boolean": NUMERIC_DATATYPES | {"BOOL"},
    "categorical": frozenset({"BYTES"}),
    "datetime": frozenset({"BYTES"}),
}


def _feature_tensors(inputs: Any, model: OnnxModel) -> dict[str, np.ndarray]:
    """One ``[rows]`` or ``[rows, 1]`` tensor per feature, typed by the feature's kind."""
    if not isinstance(inputs, list):
        raise InferenceRequestError("'inputs' must be a list of tensors, one per feature")
    tensors = [Tensor.parse(tensor, index) for index, tensor in enumerate(inputs)]
    by_name = {tensor.name: tensor for tensor in tensors}
    if len(by_name) != len(inputs) or set(by_name) != set(model.feature_names):
        missing = sorted(set(model.feature_names) - set(by_name))
        extra = sorted(map(str, set(by_name) - set(model.feature_names)))
        raise InferenceRequestError(
            f"send one input per feature: missing {missing}, unexpected {extra}"
            + (" or repeated" if len(by_name) != len(inputs) else "")
        )
    batch: dict[str, np.ndarray] = {}
    for name, kind in model.feature_kinds.items():
        tensor = by_name[name]
        datatype = tensor.datatype
        if datatype not in _DATATYPES_BY_KIND[kind]:
            wanted = "BYTES (strings)" if kind in ("categorical", "datetime") else "FP32"
            raise InferenceRequestError(
                f"input '{name}' is a {kind} feature sent as {shown(datatype)}; send {wanted}"
            )
        if len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ([], [1]):
            raise InferenceRequestError(
                f"input '{name}' needs shape [rows] (or [rows, 1]); got shape {shown(tensor.shape)}"
            )
        data = tensor.flat_data()
        if datatype in JSON_TYPES:  # of the declared type, then encoded as the feature's kind
            check_declared(f"input '{name}'", datatype, data, tensor.shape)
        batch[name] = _encode(kind, name, data)
    if len({values.shape[0] for values in batch.values()}) > 1:
        rows = {name: values.shape[0] for name, values in batch.items()}
        raise InferenceRequestError(f"inputs hold different numbers of rows: {rows}")
    return batch


def _feature_records(records: Any, model: OnnxModel) -> dict[str, np.ndarray]:
    _check_records(records, model.feature_names)
    return {
        name: _encode(kind, name, [row[name] for row in records])
        for name, kind in model.feature_kinds.items()
    }


def _encode(kind: FeatureKind, name: str, values: list[Any]) -> np.ndarray:
    try:
        return encode_values(kind, values)
    except FeatureValueError as error:
        raise InferenceRequestError(f"feature '{name}' ({kind}), {error}") from None
    except OverflowError:  # a JSON integer beyond every float
        raise InferenceRequestError(
            f"feature '{name}' ({kind}) holds a number beyond the float range"
        ) from None


def _refuse_infinities(batch: dict[str, np.ndarray]) -> None:
    for name, values in batch.items():
        if values.dtype == np.float32 and np.isinf(values).any():
            row = int(np.argwhere(np.isinf(values))[0][0])
            raise InferenceRequestError(
                f"feature '{name}' is infinite at row {row}; send a number, or null when missing"
            )


def _names_entities(payload: dict[str, Any], column: str) -> bool:
    """True when the request sends ids in ``column`` rather than feature vectors."""
    inputs = payload.get("inputs")
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        return bool(inputs[0].get("name") == column)
    records = payload.get("records")
    return (
        isinstance(records, list)
        and bool(records)
        and isinstance(records[0], dict)
        and (column in records[0])
    )


def _entity_ids(
    payload: dict[str, Any], entities: EntityFeatures, max_batch_rows: int
) -> list[int | str]:
    """The ids of an entity request, checked against the store's key type."""
    column, expected = entities.entity_column, entities.entity_type
    if "inputs" in payload:
        inputs = payload["inputs"]
        if len(inputs) != 1:
            raise InferenceRequestError(
                f"an entity request has one input, '{column}'; got {len(inputs)} inputs"
            )
        tensor = Tensor.parse(inputs[0], 0)
        datatype = tensor.datatype
        allowed = INTEGER_DATATYPES if expected is int else frozenset({"BYTES"})
        if datatype not in allowed:
            wanted = "INT64" if expected is int else "BYTES"
            raise InferenceRequestError(
                f"input '{column}' has datatype {shown(datatype)}; entity ids are sent as {wanted}"
            )
        ids, shape = tensor.data, tensor.shape
        if shape not in ([len(ids)], [len(ids), 1]):
            raise InferenceRequestError(
                f"input '{column}' needs 'data' as a list of ids and shape [rows] (or "
                f"[rows, 1]) matching it; got shape {shape!r}"
            )
    else:
        records = payload["records"]
        for index, row in enumerate(records):
            if not isinstance(row, dict) or list(row) != [column]:
                keys = sorted(row) if isinstance(row, dict) else type(row).__name__
                raise InferenceRequestError(
                    f"record {index}: an entity request's records hold only '{column}', got {keys}"
                )
        ids = [row[column] for row in records]
    if not ids:
        raise InferenceRequestError("the batch has no rows")
    if len(ids) > max_batch_rows:
        raise InferenceRequestError(
            f"batch of {len(ids)} rows exceeds the limit of {max_batch_rows}"
        )
    for index, entity_id in enumerate(ids):
        # bool is an int subclass, and true is never a customer id.
        if type(entity_id) is not expected or (
            isinstance(entity_id, int) and not -(2**63) <= entity_id < 2**63
        ):
            raise InferenceRequestError(
                f"{column} at row {index} is {entity_id!r}; ids of this store are "
                f"{'64-bit integers' if expected is int else 'strings'}"
            )
    return ids


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


def _records_batch(records: Any, model: OnnxModel) -> np.ndarray:
    expected = model.feature_names
    _check_records(records, expected)
    # Records carry no datatype: their numbers are read as FP64 would be.
    flat = [row[feature] for row in records for feature in expected]
    shape = [len(records), len(expected)]
    values = as_input_type("records", "FP64", flat, shape, model.input.dtype)
    return values.reshape(len(records), len(expected))


def encode_infer_response(
    model: OnnxModel, outputs: list[np.ndarray], request_id: str | None
) -> bytes:
    """The V2 response: every output tensor, flattened, with its shape."""
    tensors = [
        {
            "name": spec.name,
            "datatype": spec.datatype,
            "shape": list(value.shape),
            "data": np.ascontiguousarray(value).ravel(),
        }
        for spec, value in zip(model.outputs, outputs, strict=True)
    ]
    response: dict[str, Any] = {
        "model_name": model.name,
        "model_version": model.version,
        "outputs": tensors,
    }
    if request_id is not None:
        response["id"] = request_id
    return orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
