"""From the tensors a client sent to the batch a model version takes, whatever the transport.

Three shapes of request reach a model: one tensor holding every feature
(``[rows, features]``), one tensor per feature named as in the model's
feature list, in any order (MLServer's ``pd`` codec and any client that names
columns), or, with a feature store, one tensor of entity ids. Values arrive
as JSON lists or as typed arrays (binary data, gRPC raw contents); both are
checked against their declared datatype and cast to the model's input only
where no value is lost. Every refusal is an ``InferenceRequestError`` naming
the input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from zenml_integrations.onnx.server.model import Batch, OnnxModel, batch_rows
from zenml_integrations.onnx.server.tensors import (
    INTEGER_DATATYPES,
    NUMERIC_DATATYPES,
    OIP_NUMPY,
    InferenceRequestError,
    array_as_input_type,
    as_input_type,
    check_declared,
    flat_values,
    shown,
)
from zenml_integrations.tabular import FeatureKind, FeatureValueError, encode_values

if TYPE_CHECKING:
    from zenml_integrations.onnx.server.feature_lookup import EntityFeatures
    from zenml_integrations.onnx.server.oip import RequestTensor

# Up to this many values, a Python sum checks finiteness faster than numpy.
_SMALL_BATCH_VALUES = 256

# MLServer's content type for a pandas column of Python objects: each element JSON-encoded.
PD_JSON = "pd_json"
_WANTED_BY_KIND: dict[FeatureKind, str] = {
    "numeric": "FP32 (or another number type)",
    "boolean": "BOOL",
    "categorical": "BYTES (strings)",
    "datetime": "BYTES (ISO 8601 strings)",
}
_DATATYPES_BY_KIND: dict[FeatureKind, frozenset[str]] = {
    "numeric": NUMERIC_DATATYPES,
    "boolean": NUMERIC_DATATYPES | {"BOOL"},
    "categorical": frozenset({"BYTES"}),
    "datetime": frozenset({"BYTES"}),
}


@dataclass(frozen=True, slots=True)
class ModelBatch:
    """A model-ready batch, and the entity ids it was looked up by (``None``: sent as values).

    The ids go to the inference log, where delayed outcomes keyed by entity find them.
    """

    batch: Batch
    entity_ids: list[int | str] | None = None


def request_batch(
    inputs: tuple[RequestTensor, ...],
    model: OnnxModel,
    *,
    max_batch_rows: int,
    allow_nan: bool,
    entities: EntityFeatures | None = None,
) -> ModelBatch:
    """The model-ready batch for ``inputs``, checked against ``model``'s inputs and the limits."""
    batch: Batch
    ids: list[int | str] | None = None
    if entities is not None and inputs and inputs[0].name == entities.entity_column:
        ids = _entity_ids(inputs, entities, max_batch_rows)
        batch = entities.batch(ids)
    elif len(inputs) == 1 and inputs[0].name == model.input.name and not model.tabular:
        batch = _whole_tensor(inputs, model)  # the common request, first
    elif model.tabular:
        batch = _feature_tensors(inputs, model)
    elif any(tensor.name == model.input.name for tensor in inputs) or not inputs:
        batch = _whole_tensor(inputs, model)
    elif all(tensor.name in model.feature_kinds for tensor in inputs):
        batch = _stacked_features(inputs, model)
    else:
        unknown = next(tensor.name for tensor in inputs if tensor.name not in model.feature_kinds)
        raise InferenceRequestError(
            f"unknown input {shown(unknown)}; the model's input is '{model.input.name}'"
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
    return ModelBatch(batch, ids)


def values_count(inputs: tuple[RequestTensor, ...]) -> int:
    """How many JSON values the inputs hold (what turning them into arrays costs)."""
    count = 0
    for tensor in inputs:
        if isinstance(tensor.data, list):
            count += math.prod(tensor.shape)
    return count


def _whole_tensor(inputs: tuple[RequestTensor, ...], model: OnnxModel) -> np.ndarray:
    if len(inputs) != 1:
        raise InferenceRequestError(
            f"'inputs' must be a list with one tensor named '{model.input.name}'"
        )
    tensor = inputs[0]
    name, shape = tensor.name, list(tensor.shape)
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
    values = _typed(f"input '{name}'", tensor, model.input.dtype)
    return values.reshape(shape[0], shape[1])


def _typed(where: str, tensor: RequestTensor, target: np.dtype[Any]) -> np.ndarray:
    """A numeric tensor's values, flat, in ``target`` (checked: declared type, lossless cast)."""
    if isinstance(tensor.data, np.ndarray):
        return array_as_input_type(where, tensor.datatype, tensor.data.ravel(), target)
    flat = flat_values(tensor)
    return as_input_type(where, tensor.datatype, flat, list(tensor.shape), target)


def _column_tensors(
    inputs: tuple[RequestTensor, ...], model: OnnxModel
) -> dict[str, RequestTensor]:
    """One ``[rows]`` or ``[rows, 1]`` tensor for each of the model's features, by name."""
    by_name = {tensor.name: tensor for tensor in inputs}
    if len(by_name) != len(inputs) or set(by_name) != set(model.feature_names):
        missing = sorted(set(model.feature_names) - set(by_name))
        extra = sorted(map(str, set(by_name) - set(model.feature_names)))
        raise InferenceRequestError(
            f"send one input per feature: missing {missing}, unexpected {extra}"
            + (" or repeated" if len(by_name) != len(inputs) else "")
        )
    for name, tensor in by_name.items():
        if len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ((), (1,)):
            raise InferenceRequestError(
                f"input '{name}' needs shape [rows] (or [rows, 1]); got shape "
                f"{shown(list(tensor.shape))}"
            )
    return by_name


def _stacked_features(inputs: tuple[RequestTensor, ...], model: OnnxModel) -> np.ndarray:
    """Per-feature tensors for a model that takes one ``[rows, features]`` tensor."""
    by_name = _column_tensors(inputs, model)
    columns: dict[str, np.ndarray] = {}
    for name in model.feature_names:
        tensor = by_name[name]
        if tensor.datatype not in OIP_NUMPY:
            raise InferenceRequestError(
                f"input '{name}' has datatype {shown(tensor.datatype)}; send a numeric type "
                f"({', '.join(OIP_NUMPY)})"
            )
        columns[name] = _typed(f"input '{name}'", tensor, model.input.dtype)
    _same_rows({name: column.shape[0] for name, column in columns.items()})
    return np.column_stack(list(columns.values()))


def _feature_tensors(inputs: tuple[RequestTensor, ...], model: OnnxModel) -> dict[str, np.ndarray]:
    """One tensor per feature of a model with one input per feature, typed by its kind."""
    by_name = _column_tensors(inputs, model)
    batch: dict[str, np.ndarray] = {}
    for name, kind in model.feature_kinds.items():
        tensor = by_name[name]
        datatype = tensor.datatype
        if tensor.content_type == PD_JSON and datatype == "BYTES":
            batch[name] = _encode(kind, name, _json_elements(name, tensor))
            continue
        if datatype not in _DATATYPES_BY_KIND[kind]:
            raise InferenceRequestError(
                f"input '{name}' is a {kind} feature sent as {shown(datatype)}; "
                f"send {_WANTED_BY_KIND[kind]}"
            )
        if isinstance(tensor.data, np.ndarray):
            data = tensor.data.ravel()
            batch[name] = _encode(kind, name, _texts(name, data) if datatype == "BYTES" else data)
        else:
            # The kind's encoder names a value of the wrong kind; then the declared
            # type is checked (1000.5 is a number, but not an INT8).
            values = flat_values(tensor)
            batch[name] = _encode(kind, name, values)
            check_declared(f"input '{name}'", datatype, values, list(tensor.shape))
    _same_rows({name: values.shape[0] for name, values in batch.items()})
    return batch


def _json_elements(name: str, tensor: RequestTensor) -> list[Any]:
    """The values of a ``pd_json`` BYTES tensor: each element is one JSON document."""
    data = tensor.data.ravel().tolist() if isinstance(tensor.data, np.ndarray) else tensor.data
    if any(isinstance(element, list) for element in data):
        data = flat_values(tensor)
    values = []
    for row, element in enumerate(data):
        try:
            values.append(orjson.loads(element))
        except (orjson.JSONDecodeError, TypeError):
            raise InferenceRequestError(
                f"input '{name}' (content_type {PD_JSON}), row {row}: {shown(element)} is not "
                "a JSON value; send each element JSON-encoded, as MLServer's PandasCodec does"
            ) from None
    return values


def _same_rows(rows: dict[str, int]) -> None:
    if len(set(rows.values())) > 1:
        raise InferenceRequestError(f"inputs hold different numbers of rows: {rows}")


def _texts(name: str, data: np.ndarray) -> list[str]:
    """BYTES elements as text (UTF-8, as the protocol's strings are)."""
    try:
        return [value if isinstance(value, str) else value.decode() for value in data.tolist()]
    except UnicodeDecodeError as error:
        raise InferenceRequestError(
            f"input '{name}' holds an element that is not UTF-8 text ({error.reason} at byte "
            f"{error.start}); send strings as UTF-8"
        ) from None


def _encode(kind: FeatureKind, name: str, values: list[Any] | np.ndarray) -> np.ndarray:
    try:
        return encode_values(kind, values)
    except FeatureValueError as error:
        raise InferenceRequestError(f"feature '{name}' ({kind}), {error}") from None
    except OverflowError:  # a JSON integer beyond every float
        raise InferenceRequestError(
            f"feature '{name}' ({kind}) holds a number beyond the float range"
        ) from None


def _entity_ids(
    inputs: tuple[RequestTensor, ...], entities: EntityFeatures, max_batch_rows: int
) -> list[int | str]:
    """The ids of an entity request, checked against the store's key type."""
    column, expected = entities.entity_column, entities.entity_type
    if len(inputs) != 1:
        raise InferenceRequestError(
            f"an entity request has one input, '{column}'; got {len(inputs)} inputs"
        )
    tensor = inputs[0]
    datatype = tensor.datatype
    allowed = INTEGER_DATATYPES if expected is int else frozenset({"BYTES"})
    if datatype not in allowed:
        wanted = "INT64" if expected is int else "BYTES"
        raise InferenceRequestError(
            f"input '{column}' has datatype {shown(datatype)}; entity ids are sent as {wanted}"
        )
    if isinstance(tensor.data, np.ndarray):
        data = tensor.data.ravel()
        ids: list[Any] = _texts(column, data) if datatype == "BYTES" else data.tolist()
    else:
        ids = tensor.data
    if list(tensor.shape) not in ([len(ids)], [len(ids), 1]):
        raise InferenceRequestError(
            f"input '{column}' needs 'data' as a list of ids and shape [rows] (or "
            f"[rows, 1]) matching it; got shape {list(tensor.shape)!r}"
        )
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


def _refuse_infinities(batch: dict[str, np.ndarray]) -> None:
    for name, values in batch.items():
        if values.dtype == np.float32 and np.isinf(values).any():
            row = int(np.argwhere(np.isinf(values))[0][0])
            raise InferenceRequestError(
                f"feature '{name}' is infinite at row {row}; send a number, or null when missing"
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
