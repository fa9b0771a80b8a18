"""gRPC ModelInfer messages to and from the transport-free request and result.

The real clients (tests/integration/onnx/test_oip_grpc_clients.py) send FP32
tensors; these cover the layouts they do not: BYTES and BOOL raw contents,
typed BYTES contents, BYTES outputs, and the refusals of each.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from zenml_integrations.onnx.server.grpc_codec import decode_infer_request, encode_infer_response
from zenml_integrations.onnx.server.oip import InferResult, OutputTensor
from zenml_integrations.onnx.server.proto.grpc_predict_v2_pb2 import (
    ModelInferRequest,
    ModelInferResponse,
)
from zenml_integrations.onnx.server.tensors import InferenceRequestError

pytestmark = pytest.mark.unit


def _raw_request(datatype: str, shape: list[int], raw: bytes) -> ModelInferRequest:
    request = ModelInferRequest(model_name="churn", id="r1")
    request.inputs.add(name="grade", datatype=datatype, shape=shape)
    request.raw_input_contents.append(raw)
    return request


def _elements(*values: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(value)) + value for value in values)


def test_given_raw_bytes_elements_when_decoded_then_each_string_comes_back_in_shape() -> None:
    decoded = decode_infer_request(_raw_request("BYTES", [2, 1], _elements(b"A", b"")))
    (tensor,) = decoded.inputs
    assert isinstance(tensor.data, np.ndarray)
    assert tensor.data.shape == (2, 1)
    assert tensor.data.tolist() == [[b"A"], [b""]]
    assert (decoded.id, decoded.outputs, decoded.routing_key) == ("r1", None, None)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\x01\x00\x00", "needs 2 elements of at least 4 bytes each"),
        (_elements(b"A") + struct.pack("<I", 9) + b"xy", "element 1 claims 9 bytes; only 2"),
        (_elements(b"A", b"B") + b"\x00", "1 bytes follow its 2 BYTES elements"),
        (_elements(b"ABCD") + b"\x01\x00", "element 1 of 2 starts beyond its 10 bytes"),
    ],
)
def test_given_raw_bytes_that_do_not_add_up_when_decoded_then_refused_naming_the_input(
    raw: bytes, words: str
) -> None:
    with pytest.raises(InferenceRequestError, match="'grade'") as refused:
        decode_infer_request(_raw_request("BYTES", [2, 1], raw))
    assert words in str(refused.value)


def test_given_bool_raw_bytes_when_one_is_not_0_or_1_then_refused_with_the_value() -> None:
    assert decode_infer_request(_raw_request("BOOL", [1, 2], b"\x01\x00")).inputs[0].data.tolist()
    with pytest.raises(InferenceRequestError, match="'grade' is BOOL; its bytes must be 0 or 1"):
        decode_infer_request(_raw_request("BOOL", [1, 2], b"\x01\x07"))


def test_given_typed_contents_when_decoded_then_numbers_are_values_and_strings_an_array() -> None:
    request = ModelInferRequest(model_name="churn")
    numbers = request.inputs.add(name="amount", datatype="INT64", shape=[2, 1])
    numbers.contents.int64_contents.extend([3, -4])
    strings = request.inputs.add(name="grade", datatype="BYTES", shape=[2, 1])
    strings.contents.bytes_contents.extend([b"A", b"B"])
    request.outputs.add(name="probabilities")
    request.parameters["routing_key"].string_param = "customer-7"
    decoded = decode_infer_request(request)
    assert decoded.inputs[0].data == [3, -4]
    assert decoded.inputs[1].data.tolist() == [[b"A"], [b"B"]]  # type: ignore[union-attr]
    assert [output.name for output in decoded.outputs or ()] == ["probabilities"]
    assert decoded.routing_key == "customer-7"


def test_given_fp16_without_raw_contents_when_decoded_then_refused_saying_raw_only() -> None:
    request = ModelInferRequest(model_name="churn")
    request.inputs.add(name="amount", datatype="FP16", shape=[1, 1])
    with pytest.raises(InferenceRequestError, match="FP16 values travel only in raw"):
        decode_infer_request(request)


def test_given_bytes_and_numeric_outputs_when_encoded_then_raw_contents_decode_back() -> None:
    labels = np.array(["yes", "no"], dtype=object)
    scores = np.array([[0.25, 0.75], [0.5, 0.5]], dtype=np.float32)
    result = InferResult("churn", "3", "r9", (
        OutputTensor("label", "BYTES", (2,), labels, True),
        OutputTensor("probabilities", "FP32", (2, 2), scores, True),
    ), "champion")  # fmt: skip
    response = ModelInferResponse.FromString(encode_infer_response(result))
    assert (response.model_name, response.model_version, response.id) == ("churn", "3", "r9")
    assert [(output.name, list(output.shape)) for output in response.outputs] == [
        ("label", [2]), ("probabilities", [2, 2])
    ]  # fmt: skip
    label_raw, score_raw = response.raw_output_contents
    assert label_raw == _elements(b"yes", b"no")
    assert np.frombuffer(score_raw, "<f4").reshape(2, 2).tobytes() == scores.tobytes()


def test_given_a_content_type_parameter_then_the_tensor_carries_it() -> None:
    """MLServer's codecs mark a column of JSON-encoded objects ``pd_json``; the data plane
    decodes each element (tests/unit/onnx/server/test_oip_rest.py)."""
    request = _raw_request("BYTES", [2, 1], _elements(b"true", b"null"))
    request.inputs[0].parameters["content_type"].string_param = "pd_json"
    plain = _raw_request("BYTES", [1, 1], _elements(b"A"))

    assert decode_infer_request(request).inputs[0].content_type == "pd_json"
    assert decode_infer_request(plain).inputs[0].content_type is None
