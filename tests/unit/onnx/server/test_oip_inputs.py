"""Typed arrays (binary data, gRPC raw contents) reach a model input only by a lossless cast."""

from __future__ import annotations

import numpy as np
import pytest
from zenml_integrations.onnx.server.tensors import InferenceRequestError, array_as_input_type

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("datatype", "values", "target", "message"),
    [
        ("FP32", np.array([1.0], np.float32), np.int64, "cannot be cast to it without loss"),
        ("UINT64", np.array([2**64 - 1], np.uint64), np.int64, "does not fit int64"),
        ("INT64", np.array([300], np.int64), np.int8, "does not fit int8"),
        ("INT8", np.array([1], np.int8), np.bool_, "send BOOL"),
    ],
)
def test_given_a_lossy_cast_then_it_is_refused_naming_the_input(
    datatype: str, values: np.ndarray, target: type[np.generic], message: str
) -> None:
    with pytest.raises(InferenceRequestError, match=message) as refused:
        array_as_input_type("input 'x'", datatype, values, np.dtype(target))
    assert str(refused.value).startswith("input 'x'")


@pytest.mark.parametrize(
    ("datatype", "values", "target"),
    [
        ("INT32", np.array([-5, 7], np.int32), np.int64),
        ("UINT64", np.array([2**63 - 1], np.uint64), np.int64),
        ("BOOL", np.array([True, False]), np.bool_),
        ("UINT32", np.array([4_000_000_000], np.uint32), np.float32),
        ("FP16", np.array([0.5], np.float16), np.float32),
    ],
)
def test_given_a_lossless_cast_then_the_values_arrive_unchanged(
    datatype: str, values: np.ndarray, target: type[np.generic]
) -> None:
    cast = array_as_input_type("input 'x'", datatype, values, np.dtype(target))
    assert cast.dtype == target
    assert cast.astype(np.float64).tolist() == values.astype(np.float64).tolist()
