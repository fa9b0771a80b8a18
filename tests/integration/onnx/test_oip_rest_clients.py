"""Triton's and KServe's REST clients, with their default options, against a server on 127.0.0.1.

Both send Triton's binary tensor data by default (``set_data_from_numpy``);
tritonclient also asks for every output as binary data. Answers must equal
in-process onnxruntime bit for bit. tritonclient.grpc stays out of this
process: it and kserve register the same protobuf names.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput
from kserve.protocol.rest.v2_datamodels import ModelMetadataResponse, ServerMetadataResponse
from tritonclient.utils import InferenceServerException

from tests.helpers.onnx_models import FEATURES, logistic_model
from tests.helpers.onnx_server import WEIGHTS, RunningServer, start_server, stop_server

pytestmark = pytest.mark.integration

ROWS = np.random.default_rng(11).normal(size=(64, len(FEATURES))).astype(np.float32)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("oip-rest"), logistic_model(WEIGHTS))
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    session = ort.InferenceSession(logistic_model(WEIGHTS), providers=["CPUExecutionProvider"])
    label, probabilities = session.run(["label", "probabilities"], {"input": ROWS})
    return {"label": label, "probabilities": probabilities}


def test_given_tritonclient_http_defaults_then_binary_answers_equal_onnxruntime(
    server: RunningServer, expected: dict[str, np.ndarray]
) -> None:
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    tensor = triton.InferInput("input", list(ROWS.shape), "FP32")
    tensor.set_data_from_numpy(ROWS)
    try:
        everything = client.infer("churn", [tensor], request_id="triton-1")
        one = client.infer("churn", [tensor], outputs=[triton.InferRequestedOutput("label")])
        with pytest.raises(InferenceServerException, match="unknown output 'scores'"):
            client.infer("churn", [tensor], outputs=[triton.InferRequestedOutput("scores")])
        short = triton.InferInput("input", [1, 7], "FP32")
        short.set_data_from_numpy(ROWS[:1, :7].copy())
        with pytest.raises(InferenceServerException, match="the model expects 8"):
            client.infer("churn", [short])
        server_metadata = client.get_server_metadata()
        model_metadata = client.get_model_metadata("churn")
        live, ready = client.is_server_live(), client.is_model_ready("churn")
    finally:
        client.close()

    for name, values in expected.items():
        assert everything.as_numpy(name).tobytes() == values.tobytes()
    assert everything.get_response()["id"] == "triton-1"
    assert [output["name"] for output in everything.get_response()["outputs"]] == list(expected)
    assert all("binary_data_size" in output["parameters"]
               for output in everything.get_response()["outputs"])  # fmt: skip
    assert one.as_numpy("label").tobytes() == expected["label"].tobytes()
    assert one.as_numpy("probabilities") is None
    assert "binary_tensor_data" in ServerMetadataResponse.model_validate(server_metadata).extensions
    assert ModelMetadataResponse.model_validate(model_metadata).platform == "onnxruntime_onnx"
    assert live
    assert ready


def test_given_kserves_rest_client_then_binary_inputs_and_json_or_binary_outputs_match(
    server: RunningServer, expected: dict[str, np.ndarray]
) -> None:
    async def scenario() -> tuple[list[np.ndarray], list[np.ndarray], bool, bool]:
        tensor = InferInput("input", list(ROWS.shape), "FP32")
        tensor.set_data_from_numpy(ROWS)
        binary = [RequestedOutput(name, {"binary_data": True}) for name in expected]
        async with InferenceRESTClient(RESTConfig(protocol="v2")) as client:
            as_json = await client.infer(server.url, InferRequest("churn", [tensor]), "churn")
            as_binary = await client.infer(
                server.url, InferRequest("churn", [tensor], request_outputs=binary), "churn"
            )
            live = await client.is_server_live(server.url)
            ready = await client.is_model_ready(server.url, "churn")
        return ([output.as_numpy() for output in as_json.outputs],
                [output.as_numpy() for output in as_binary.outputs], live, ready)  # fmt: skip

    as_json, as_binary, live, ready = asyncio.run(scenario())

    for answer in (as_json, as_binary):
        assert [values.tobytes() for values in answer] == [
            values.tobytes() for values in expected.values()
        ]
    assert live
    assert ready
