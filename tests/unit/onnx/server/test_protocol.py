"""Request parsing: every malformed body is an InferenceRequestError naming what was wrong.

Before these checks, several bodies escaped the parser as RecursionError,
OverflowError or TypeError (a 500 with a traceback), and declared datatypes
were ignored.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from zenml_integrations.onnx.server.model import OnnxModel
from zenml_integrations.onnx.server.protocol import InferenceRequestError, parse_infer_request

from tests.helpers.onnx_models import logistic_model, per_feature_model
from tests.helpers.onnx_server import WEIGHTS

MODEL = OnnxModel("churn", "1", logistic_model(WEIGHTS))


def _parse(body: bytes | dict[str, Any], model: OnnxModel = MODEL, allow_nan: bool = False) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_infer_request(raw, model, max_batch_rows=100, allow_nan=allow_nan)


def _tensor(**fields: Any) -> dict[str, Any]:
    tensor = {"name": "input", "datatype": "FP32", "shape": [1, 8], "data": [0.5] * 8}
    return {"inputs": [tensor | fields]}


def _int64_input_model() -> OnnxModel:
    """``[rows, 8]`` INT64 in, the row sums as FP32 out."""
    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["input"], ["floats"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["floats"], ["total"], keepdims=0),
        ],
        "int_input",
        [helper.make_tensor_value_info("input", TensorProto.INT64, [None, 8])],
        [helper.make_tensor_value_info("total", TensorProto.FLOAT, [None])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return OnnxModel("churn", "1", model.SerializeToString())


TOO_LARGE = str(10**400).encode()
MALFORMED: list[tuple[str, bytes | dict[str, Any], str]] = [
    ("nested 10k levels", b'{"inputs": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
     "nested too deeply"),
    ("integer 10**400 as a value",
     b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": ['
     + TOO_LARGE + b", 0, 0, 0, 0, 0, 0, 0]}]}", "beyond the model's float32 range"),
    ("integer 10**400 as a dimension",
     b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [' + TOO_LARGE
     + b', 8], "data": []}]}', "(406 characters)"),
    ("integer 10**400 in a record",
     b'{"records": [{' + b", ".join(b'"feature_%d": ' % i + (TOO_LARGE if i == 0 else b"0")
                                   for i in range(8)) + b"}]}", "beyond the model's float32 range"),
    ("true as rows", _tensor(shape=[True, 8]), "'shape' must be a list of non-negative integers"),
    ("true as features", _tensor(shape=[1, True]), "got [1, True]"),
    ("negative rows", _tensor(shape=[-1, 8]), "got [-1, 8]"),
    ("float dimension", _tensor(shape=[1.0, 8]), "got [1.0, 8]"),
    ("shape not a list", _tensor(shape="1x8"), "got '1x8'"),
    ("data a number", _tensor(data=5), "'data' must be a list of values"),
    ("data null", _tensor(data=None), "'data' must be a list of values"),
    ("data an object", _tensor(data={"a": 1}), "'data' must be a list of values"),
    ("ragged rows", _tensor(shape=[2, 8], data=[[0.0] * 8, [0.0] * 7]), "does not nest as shape"),
    ("nested deeper than the shape", _tensor(data=[[[0.0] * 8]]), "does not nest as shape"),
    ("a list among flat values", _tensor(data=[[0.0]] + [0.0] * 7), "nested deeper than shape"),
    ("tensor not an object", {"inputs": ["input"]}, "input 0 must be an object"),
    ("name not a string", _tensor(name=["input"]), "'name' must be a string"),
    ("datatype not a string", _tensor(datatype=["FP32"]), "'datatype' must be a string"),
    ("unknown datatype", _tensor(datatype="FP8"), "send FP32 (or another numeric type"),
    ("a string value", _tensor(data=["1.5"] * 8), "value '1.5' at position 0 is not a number"),
    ("true as FP32", _tensor(data=[True] * 8), "value True at position 0 is not a number"),
    ("Infinity token", b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], '
     b'"data": [Infinity, 0, 0, 0, 0, 0, 0, 0]}]}', "feature 'feature_0' is infinite"),
    ("beyond float32", _tensor(data=[1e300] * 8), "beyond the float32 range of input 'input'"),
    ("NaN token", b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], '
     b'"data": [NaN, 0, 0, 0, 0, 0, 0, 0]}]}', "missing value (null or NaN) at row 0"),
    ("not UTF-8", b'{"id": "\xff\xfe", "inputs": []}', "not valid JSON"),
    ("lone surrogate id", b'{"id": "\\ud800", "inputs": [], "x": NaN}', "lone UTF-16 surrogate"),
    ("INT8 1000.5", _tensor(datatype="INT8", data=[1000.5] * 8),
     "'input' is INT8; value 1000.5 at position 0 is not an integer"),
    ("INT8 1000", _tensor(datatype="INT8", data=[1000] * 8), "INT8 value 1000 does not fit int8"),
    ("UINT32 negative", _tensor(datatype="UINT32", data=[-1] * 8), "does not fit uint32"),
    ("BOOL 2", _tensor(datatype="BOOL", data=[2] * 8),
     "value 2 at position 0 is not true or false"),
    ("FP16 beyond its range", _tensor(datatype="FP16", data=[1e6] * 8), "beyond the FP16 range"),
    ("record value a list", {"records": [{f"feature_{i}": [1] for i in range(8)}]},
     "records: data is nested deeper"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"), [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED]
)
def test_given_a_malformed_body_when_parsed_then_a_request_error_names_the_problem(
    body: bytes | dict[str, Any], message: str
) -> None:
    with pytest.raises(InferenceRequestError) as raised:
        _parse(body)
    assert message in str(raised.value)
    assert len(str(raised.value)) < 300
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("datatype", "data"),
    [("FP32", [0.5, 1, 2, 3, 4, 5, 6, 7]), ("FP64", [0.5, 1, 2, 3, 4, 5, 6, 7]),
     ("FP16", [0.5, 1, 2, 3, 4, 5, 6, 7]), ("INT8", [0, 1, 2, 3, 4, 5, 6, 7]),
     ("INT64", [0, 1, 2, 3, 4, 5, 6, 7]), ("UINT32", [0, 1, 2, 3, 4, 5, 6, 7]),
     ("BOOL", [False, True, False, True, False, True, False, True])],
)  # fmt: skip
def test_given_a_numeric_datatype_when_sent_to_a_float_model_then_values_arrive_as_float32(
    datatype: str, data: list[Any]
) -> None:
    request = _parse(_tensor(datatype=datatype, data=data))
    assert request.batch.dtype == np.float32
    np.testing.assert_array_equal(request.batch, np.asarray([data], np.float32))


def test_given_data_nested_as_the_shape_when_parsed_then_it_equals_the_flat_form() -> None:
    rows = [[float(column + row) for column in range(8)] for row in range(3)]
    nested = _parse(_tensor(shape=[3, 8], data=rows)).batch
    flat = _parse(_tensor(shape=[3, 8], data=[value for row in rows for value in row])).batch
    np.testing.assert_array_equal(nested, flat)


def test_given_missing_values_allowed_when_infinity_is_sent_then_it_is_still_refused() -> None:
    nan = b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": [NaN'
    assert np.isnan(_parse(nan + b", 0, 0, 0, 0, 0, 0, 0]}]}", allow_nan=True).batch[0, 0])
    with pytest.raises(InferenceRequestError, match="is infinite or beyond the float32 range"):
        _parse(_tensor(data=[1e39] + [0.0] * 7), allow_nan=True)


def test_given_an_integer_input_when_floats_are_sent_then_400_names_the_input() -> None:
    model = _int64_input_model()
    request = _parse(_tensor(datatype="INT64", data=list(range(8))), model)
    assert request.batch.dtype == np.int64
    np.testing.assert_array_equal(model.predict(request.batch)[0], [28.0])
    with pytest.raises(InferenceRequestError, match=r"input 'input'.*cannot be cast to it without"):
        _parse(_tensor(datatype="FP32", data=[0.5] * 8), model)
    with pytest.raises(InferenceRequestError, match="UINT64 value 18446744073709551615 does not"):
        _parse(_tensor(datatype="UINT64", data=[2**64 - 1] * 8), model)


def test_given_a_model_with_one_input_per_feature_then_values_must_fit_their_datatypes() -> None:
    model = OnnxModel("churn", "1", per_feature_model())

    def inputs(amount: dict[str, Any], grade: dict[str, Any]) -> dict[str, Any]:
        amount = {"name": "amount", "datatype": "FP32", "shape": [1, 1]} | amount
        return {"inputs": [amount, {"name": "grade", "datatype": "BYTES", "shape": [1, 1]} | grade]}

    batch = _parse(inputs({"data": [[None]]}, {"data": [["A"]]}), model).batch
    assert np.isnan(batch["amount"][0, 0])
    assert batch["grade"][0, 0] == "A"
    with pytest.raises(InferenceRequestError, match="'grade' is BYTES; value 5 at position 0"):
        _parse(inputs({"data": [1.0]}, {"data": [5]}), model)
    with pytest.raises(InferenceRequestError, match=r"'amount' is INT8; value 1000\.5"):
        _parse(inputs({"datatype": "INT8", "data": [1000.5]}, {"data": ["A"]}), model)
    with pytest.raises(InferenceRequestError, match="input 1: 'name' must be a string"):
        _parse(inputs({"data": [1.0]}, {"name": ["grade"]}), model)
