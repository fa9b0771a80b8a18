"""OIP over REST in process: binary tensor data, requested outputs, per-feature inputs, datatypes.

Bodies are built by hand here (the real clients' own bodies are in
tests/integration/onnx/test_oip_rest_clients.py), so that every malformed
size, offset and length can be sent.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kserve.protocol.rest.v2_datamodels import (
    ListModelsResponse,
    ModelMetadataResponse,
    ModelReadyResponse,
    Parameters,
    ServerMetadataResponse,
)
from pydantic import TypeAdapter
from zenml_integrations import __version__
from zenml_integrations.onnx.server.app import OnnxServer
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.model import OnnxModel

from tests.helpers.asgi import AsgiResponse, call
from tests.helpers.onnx_models import FEATURES, logistic_model, per_feature_model
from tests.helpers.onnx_server import WEIGHTS

pytestmark = pytest.mark.unit

INFER = "/v2/models/churn/infer"
ROWS = np.random.default_rng(5).normal(size=(3, len(FEATURES))).astype(np.float32)


@pytest.fixture(scope="module")
def server() -> OnnxServer:
    return OnnxServer(
        ServerConfig(model_name="churn"), OnnxModel("churn", "1", logistic_model(WEIGHTS))
    )


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    session = ort.InferenceSession(logistic_model(WEIGHTS), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], {"input": ROWS})
    return {"label": label, "probabilities": probabilities}


def binary_body(
    inputs: list[dict[str, Any]], blobs: list[bytes], **request: Any
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    header = orjson.dumps({"inputs": inputs, **request})
    length = (b"inference-header-content-length", str(len(header)).encode())
    return header + b"".join(blobs), [length]


def binary_input(rows: np.ndarray, datatype: str = "FP32") -> dict[str, Any]:
    return {"name": "input", "datatype": datatype, "shape": list(rows.shape),
            "parameters": {"binary_data_size": rows.nbytes}}  # fmt: skip


def outputs_of(response: AsgiResponse) -> dict[str, np.ndarray]:
    """Decode a response whose outputs may be JSON or binary, as a client would."""
    assert response.status == 200, response.body[:300]
    length = int(response.headers.get(b"inference-header-content-length", len(response.body)))
    header = orjson.loads(response.body[:length])
    offset, decoded = length, {}
    dtypes = {"FP32": np.float32, "INT64": np.int64}
    for output in header["outputs"]:
        if "data" in output:
            values = np.asarray(output["data"], dtypes[output["datatype"]])
        else:
            size = output["parameters"]["binary_data_size"]
            raw = response.body[offset : offset + size]
            values, offset = np.frombuffer(raw, dtypes[output["datatype"]]), offset + size
        decoded[output["name"]] = values.reshape(output["shape"])
    assert offset == len(response.body)
    return decoded


def test_given_binary_inputs_when_outputs_asked_binary_json_or_by_default_then_each_as_asked(
    server: OnnxServer, expected: dict[str, np.ndarray]
) -> None:
    body, headers = binary_body([binary_input(ROWS)], [ROWS.tobytes()],
                                parameters={"binary_data_output": True})  # fmt: skip
    all_binary = call(server, "POST", INFER, body, headers)
    mixed_body, mixed_headers = binary_body(
        [binary_input(ROWS)], [ROWS.tobytes()],
        outputs=[{"name": "probabilities", "parameters": {"binary_data": True}},
                 {"name": "label"}],
    )  # fmt: skip
    mixed = call(server, "POST", INFER, mixed_body, mixed_headers)
    json_only = call(server, "POST", INFER, orjson.dumps({
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [3, 8],
                    "data": ROWS.ravel().tolist()}],
        "outputs": [{"name": "probabilities"}]}))  # fmt: skip

    for response in (all_binary, mixed):
        decoded = outputs_of(response)
        assert decoded.keys() == expected.keys()
        for name, values in expected.items():
            np.testing.assert_array_equal(decoded[name], values)
    assert all_binary.headers[b"content-type"] == b"application/octet-stream"
    assert b"inference-header-content-length" not in json_only.headers
    assert list(outputs_of(json_only)) == ["probabilities"]
    np.testing.assert_array_equal(outputs_of(json_only)["probabilities"], expected["probabilities"])


def test_given_no_id_then_one_is_assigned_and_a_clients_id_is_echoed(server: OnnxServer) -> None:
    request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": [0] * 8}]}
    assigned = [call(server, "POST", INFER, orjson.dumps(request)).json()["id"] for _ in range(2)]
    echoed = call(server, "POST", INFER, orjson.dumps({**request, "id": "client-7"})).json()

    assert assigned[0] != assigned[1]
    assert all(len(value) == 32 and int(value, 16) >= 0 for value in assigned)
    assert echoed["id"] == "client-7"


def bad_binary_requests() -> list[tuple[str, bytes, list[tuple[bytes, bytes]], str]]:
    one = ROWS[:1]
    good_input = binary_input(one)
    header = orjson.dumps({"inputs": [good_input]})
    length = str(len(header)).encode()
    h = b"inference-header-content-length"
    bytes_input = {"name": "input", "datatype": "BYTES", "shape": [3],
                   "parameters": {"binary_data_size": 8}}  # fmt: skip
    return [
        ("header beyond the body", header, [(h, b"99999")], "exceeds the body of"),
        ("header not a number", header, [(h, b"12a")], "Inference-Header-Content-Length is '12a'"),
        ("header of 5000 digits", header, [(h, b"9" * 5000)], "Inference-Header-Content-Length is"),
        ("truncated body", header + one.tobytes()[:-4], [(h, length)], "exceeds the 28 bytes"),
        ("bytes nobody claims", header + one.tobytes() + b"xx", [(h, length)], "2 bytes of binary"),
        ("size against shape", *binary_body([{**good_input, "shape": [2, 8]}], [one.tobytes()]),
         "needs 16 x 4 = 64"),
        ("negative size", *binary_body([{**good_input, "parameters": {"binary_data_size": -1}}],
                                       []), "non-negative integer"),
        ("size without the header", orjson.dumps({"inputs": [good_input]}), [],
         "no Inference-Header-Content-Length"),
        ("binary body without the header", header + b"\xda" + one.tobytes(), [],
         "binary tensor data needs the Inference-Header-Content-Length header"),
        ("data and size", *binary_body([{**good_input, "data": [0] * 8}], [one.tobytes()]),
         "both 'data' and binary_data_size"),
        ("unknown datatype", *binary_body([binary_input(one, "FP8")], [one.tobytes()]),
         "datatype 'FP8'"),
        ("BOOL byte of 2", *binary_body([{**binary_input(one.astype(bool), "BOOL")}],
                                        [b"\x02" * 8]), "must be 0 or 1"),
        ("BYTES element too long", *binary_body([bytes_input], [struct.pack("<I", 99) + b"abcd"]),
         "needs 3 elements"),
        ("BYTES length beyond", *binary_body([{**bytes_input, "shape": [1]}],
                                             [struct.pack("<I", 99) + b"abcd"]), "claims 99 bytes"),
        ("FP32 bytes declared FP64",
            *binary_body([binary_input(one, "FP64")], [one.tobytes()]),
            "needs 8 x 8"),
        ("float into nothing", *binary_body([{**good_input, "name": "x"}], [one.tobytes()]),
         "unknown input 'x'"),
    ]  # fmt: skip


def test_given_bad_binary_bodies_then_each_gets_a_400_naming_it_and_the_server_serves_on(
    server: OnnxServer,
) -> None:
    for case, body, headers, message in bad_binary_requests():
        response = call(server, "POST", INFER, body, headers)
        assert response.status == 400, (case, response.body)
        assert message in response.json()["error"], (case, response.json())
    ok_body, ok_headers = binary_body([binary_input(ROWS)], [ROWS.tobytes()])
    assert call(server, "POST", INFER, ok_body, ok_headers).status == 200


@pytest.mark.parametrize(
    ("datatype", "data", "status", "message"),
    [
        ("INT8", [1000.5] + [0] * 7, 400, "value 1000.5 at position 0 is not an integer"),
        ("INT8", [1000] + [0] * 7, 400, "does not fit int8"),
        ("UINT32", [4_000_000_000] + [0] * 7, 200, ""),
        ("UINT64", [2**64 - 1] + [0] * 7, 200, ""),
        ("BOOL", [True, False] * 4, 200, ""),
        ("FP16", [0.5] * 8, 200, ""),
        ("FP16", [1e6] + [0] * 7, 400, "beyond the FP16 range"),
        ("BOOL", [1, 0] * 4, 400, "is not true or false"),
    ],
)
def test_given_a_declared_datatype_then_values_must_fit_it_and_cast_without_loss(
    server: OnnxServer, datatype: str, data: list[Any], status: int, message: str
) -> None:
    tensor = {"name": "input", "datatype": datatype, "shape": [1, 8], "data": data}
    response = call(server, "POST", INFER, json.dumps({"inputs": [tensor]}).encode())
    assert response.status == status, response.body
    if message:
        assert "input 'input'" in response.json()["error"]
        assert message in response.json()["error"]


@pytest.mark.parametrize("datatype", ["UINT32", "BOOL", "FP16", "INT8"])
def test_given_binary_data_of_any_lossless_type_then_the_answer_matches_fp32(
    server: OnnxServer, datatype: str
) -> None:
    dtype = {"UINT32": np.uint32, "BOOL": np.bool_, "FP16": np.float16, "INT8": np.int8}
    values = np.array([[1, 0, 1, 1, 0, 0, 1, 0]], dtype=dtype[datatype])
    body, headers = binary_body([binary_input(values, datatype)], [values.tobytes()])
    as_floats = {"name": "input", "datatype": "FP32", "shape": [1, 8],
                 "data": values.astype(float).ravel().tolist()}  # fmt: skip
    fp32 = call(server, "POST", INFER, json.dumps({"inputs": [as_floats]}).encode())
    assert call(server, "POST", INFER, body, headers).json()["outputs"] == fp32.json()["outputs"]


def test_given_one_tensor_per_feature_in_any_order_then_the_answer_equals_the_whole_tensor(
    server: OnnxServer, expected: dict[str, np.ndarray]
) -> None:
    columns = [{"name": name, "datatype": "FP32", "shape": [3, 1],
                "parameters": {"content_type": "np"}, "data": ROWS[:, index].tolist()}
               for index, name in reversed(list(enumerate(FEATURES)))]  # fmt: skip
    request = {"inputs": columns, "parameters": {"content_type": "pd"}}
    pd = call(server, "POST", INFER, orjson.dumps(request))
    missing = call(server, "POST", INFER, orjson.dumps({"inputs": columns[1:]}))

    np.testing.assert_array_equal(outputs_of(pd)["probabilities"], expected["probabilities"])
    assert missing.status == 400
    assert f"missing ['{FEATURES[-1]}']" in missing.json()["error"]


def test_given_an_unknown_output_then_400_lists_the_models_outputs(server: OnnxServer) -> None:
    request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": [0] * 8}],
               "outputs": [{"name": "scores"}]}  # fmt: skip
    response = call(server, "POST", INFER, orjson.dumps(request))
    assert response.status == 400
    assert response.json() == {
        "error": "unknown output 'scores'; the model's outputs are label, probabilities"
    }


def test_given_metadata_routes_then_they_validate_against_kserves_models(
    server: OnnxServer,
) -> None:
    server_metadata = ServerMetadataResponse.model_validate(call(server, "GET", "/v2").json())
    models = ListModelsResponse.model_validate(call(server, "GET", "/v2/models").json())
    metadata = call(server, "GET", "/v2/models/churn").json()
    rollout = call(server, "GET", "/v2/models/churn/rollout").json()

    assert server_metadata.version == __version__
    assert "binary_tensor_data" in server_metadata.extensions
    assert models.models == ["churn"]
    ModelMetadataResponse.model_validate(metadata)
    parameters = TypeAdapter(Parameters).validate_python(metadata["parameters"])
    assert json.loads(str(parameters["feature_names"])) == list(FEATURES)
    assert rollout["champion"] == "1"


def test_given_strings_as_binary_bytes_then_a_per_feature_model_answers_as_for_json() -> None:
    tabular = OnnxServer(ServerConfig(model_name="churn"),
                         OnnxModel("churn", "1", per_feature_model()))  # fmt: skip
    grades = [b"A", "B\u00e9".encode(), b""]
    amounts = np.array([1.5, -2.0, 0.25], np.float32)
    body, headers = binary_body(
        [{"name": "grade", "datatype": "BYTES", "shape": [3, 1],
          "parameters": {"binary_data_size": sum(4 + len(grade) for grade in grades)}},
         {"name": "amount", "datatype": "FP32", "shape": [3],
          "parameters": {"binary_data_size": amounts.nbytes}}],
        [*(struct.pack("<I", len(grade)) + grade for grade in grades), amounts.tobytes()],
    )  # fmt: skip
    as_json = {"inputs": [
        {"name": "amount", "datatype": "FP32", "shape": [3], "data": amounts.tolist()},
        {"name": "grade", "datatype": "BYTES", "shape": [3], "data": ["A", "B\u00e9", ""]},
    ]}  # fmt: skip
    binary = call(tabular, "POST", INFER, body, headers)
    assert binary.status == 200, binary.body
    assert (
        binary.json()["outputs"]
        == call(tabular, "POST", INFER, orjson.dumps(as_json)).json()["outputs"]
    )


def test_given_a_request_without_id_then_the_inference_log_holds_the_id_the_client_got(
    tmp_path: Path,
) -> None:
    config = ServerConfig(model_name="churn", inference_log_dir=tmp_path)
    logged = OnnxServer(config, OnnxModel("churn", "1", logistic_model(WEIGHTS)))
    request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": [0] * 8}]}
    answer = call(logged, "POST", INFER, orjson.dumps(request)).json()
    ready = call(logged, "GET", "/v2/models/churn/ready").json()
    assert logged.data_plane.inference_log is not None
    logged.data_plane.inference_log.close()

    lines = [
        orjson.loads(line)
        for path in tmp_path.glob("*.jsonl")
        for line in path.read_bytes().splitlines()
    ]
    assert [line["id"] for line in lines] == [answer["id"]]
    assert ModelReadyResponse.model_validate(ready).ready


@st.composite
def binary_bodies(draw: st.DrawFn) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Binary requests whose sizes, shapes, types and header length may or may not add up."""
    inputs = [
        {"name": draw(st.sampled_from(["input", "grade", "x"])),
         "datatype": draw(st.sampled_from(["FP32", "FP16", "INT8", "BOOL", "BYTES", "UINT64"])),
         "shape": draw(st.lists(st.integers(0, 2**40), max_size=3)),
         "parameters": {"binary_data_size": draw(st.integers(-1, 64) | st.just(2**62))}}
        for _ in range(draw(st.integers(0, 2)))
    ]  # fmt: skip
    header = orjson.dumps({"inputs": inputs})
    blob = draw(st.binary(max_size=96))
    length = draw(st.sampled_from([len(header), len(header) + len(blob) + 1, 0]))
    return header + blob, [(b"inference-header-content-length", str(length).encode())]


@settings(deadline=None, derandomize=True, database=None, max_examples=150)
@given(request=binary_bodies())
def test_given_any_binary_body_then_the_answer_is_2xx_or_a_json_400(
    server: OnnxServer, request: tuple[bytes, list[tuple[bytes, bytes]]]
) -> None:
    response = call(server, "POST", INFER, *request)
    assert response.status in (200, 400), response.body[:200]
    if response.status == 400:
        assert response.json()["error"]


def test_given_pd_json_elements_then_each_is_one_json_value_and_a_bad_one_is_named() -> None:
    """MLServer's ``pd_json``: a pandas column of Python objects, each element JSON-encoded."""
    tabular = OnnxServer(ServerConfig(model_name="churn"),
                         OnnxModel("churn", "1", per_feature_model()))  # fmt: skip
    grade = {"name": "grade", "datatype": "BYTES", "shape": [2, 1], "data": ["A", "B"]}

    def amounts(data: list[Any]) -> dict[str, Any]:
        return {"name": "amount", "datatype": "BYTES", "shape": [2, 1], "data": data,
                "parameters": {"content_type": "pd_json"}}  # fmt: skip

    as_json = call(
        tabular, "POST", INFER, orjson.dumps({"inputs": [grade, amounts(["1.5", "null"])]})
    )
    plain = {"name": "amount", "datatype": "FP64", "shape": [2, 1], "data": [1.5, None]}
    assert as_json.status == 200, as_json.body
    assert (
        as_json.json()["outputs"]
        == call(tabular, "POST", INFER, orjson.dumps({"inputs": [grade, plain]})).json()["outputs"]
    )

    refused = call(tabular, "POST", INFER, orjson.dumps({"inputs": [grade, amounts(["1.5", "x"])]}))
    assert refused.status == 400
    assert (
        "input 'amount' (content_type pd_json), row 1: 'x' is not a JSON value"
        in (refused.json()["error"])
    )
