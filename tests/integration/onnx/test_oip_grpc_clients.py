"""The OIP gRPC endpoint, driven by tritonclient.grpc and kserve's gRPC client with default options.

One real server process (REST and gRPC on 127.0.0.1) serves both clients, each in
a process of its own (the two libraries register the same protobuf names). The
answers must equal in-process onnxruntime bit for bit; bad requests get
INVALID_ARGUMENT with a message and the next good request is answered; SIGTERM
stops both transports with exit status 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import onnxruntime as ort
import pytest
from zenml_integrations.onnx.server.app import create_server
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.grpc_server import grpc_server
from zenml_integrations.onnx.server.proto import grpc_predict_v2_pb2 as pb

from tests.helpers.onnx_models import logistic_model, per_feature_model
from tests.helpers.onnx_server import WEIGHTS, free_port

pytestmark = pytest.mark.integration

HELPERS = Path(__file__).resolve().parents[2] / "helpers"
REPO_ROOT = HELPERS.parents[1]
MODEL = "churn"
MAX_BODY_BYTES = 64 * 1024
# Answers the two scripts get: triton 2 batches, outputs, pinned, 6 good after bad;
# kserve 2 batches, typed, outputs, 2 good after bad. Refused by the data plane or the
# decoding: triton 6 (all but the oversized message, refused unread as REST's 413), kserve 2.
KSERVE_ANSWERED = 6
ANSWERED = 10 + KSERVE_ANSWERED
REFUSED = 8


@dataclass
class ClientRun:
    """What one client saw, and what onnxruntime answers for the same rows."""

    result: dict[str, Any]
    outputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]
    metrics: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ClientRun]]:
    """Serve one model over REST and gRPC, run both clients against it, then SIGTERM it."""
    folder = tmp_path_factory.mktemp("grpc")
    model_bytes = logistic_model(WEIGHTS)
    (folder / "champion.onnx").write_bytes(model_bytes)
    (folder / "server.json").write_text(
        json.dumps({"max_body_bytes": MAX_BODY_BYTES, "inference_log_dir": str(folder / "logs")})
    )
    rows = np.random.default_rng(7).normal(size=(64, len(WEIGHTS))).astype(np.float32)
    np.save(folder / "rows.npy", rows)
    port, grpc_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "zenml_integrations.onnx.server", "--model",
         str(folder / "champion.onnx"), "--version", "1", "--model-name", MODEL,
         "--port", str(port), "--grpc-port", str(grpc_port), "--config",
         str(folder / "server.json")],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    address = f"127.0.0.1:{grpc_port}"
    try:
        clients = {}
        for name in ("triton", "kserve"):  # started with the server: imports take seconds
            (folder / name).mkdir()
            clients[name] = (folder / name, subprocess.Popen(
                [sys.executable, str(HELPERS / f"oip_grpc_{name}.py"), address, MODEL,
                 str(folder / "rows.npy"), str(folder / name)],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            ))  # fmt: skip
        _wait_ready(address, server)
        session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
        expected = {}
        for batch in (1, 64):
            label, probabilities = session.run(None, {"input": rows[:batch]})
            expected[f"label_{batch}"], expected[f"probabilities_{batch}"] = label, probabilities
        expected["probabilities_typed"] = session.run(["probabilities"], {"input": rows[:2]})[0]
        finished = {}
        for name, (result_dir, client) in clients.items():
            output, _ = client.communicate(timeout=120)
            assert client.returncode == 0, f"{name} client failed:\n{output.decode()}"
            with np.load(result_dir / "outputs.npz") as outputs:
                finished[name] = (result_dir, dict(outputs))
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        yield {
            name: ClientRun(
                json.loads((result_dir / "result.json").read_text()), outputs, expected, metrics
            )
            for name, (result_dir, outputs) in finished.items()
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    # uvicorn re-raises the SIGTERM it handled once both transports have stopped.
    assert server.returncode == -signal.SIGTERM, stderr.decode()
    assert b"Traceback" not in stderr, stderr.decode()
    with grpc.insecure_channel(address) as channel, pytest.raises(grpc.FutureTimeoutError):
        grpc.channel_ready_future(channel).result(timeout=0.2)
    # The lifespan shutdown flushed the inference log after the last gRPC call: every answer.
    logged = [
        json.loads(line)
        for path in (folder / "logs").glob("inference-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert len(logged) == ANSWERED
    assert sum(entry["id"] == "kserve-request-7" for entry in logged) == KSERVE_ANSWERED


def _wait_ready(address: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60  # three interpreters start at once on two busy cores
    with grpc.insecure_channel(address) as channel:
        ready = channel.unary_unary(
            "/inference.GRPCInferenceService/ServerReady",
            request_serializer=pb.ServerReadyRequest.SerializeToString,
            response_deserializer=pb.ServerReadyResponse.FromString,
        )
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise AssertionError(f"server exited: {server.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if ready(pb.ServerReadyRequest(), timeout=1).ready:
                    return
            except grpc.RpcError:
                time.sleep(0.05)
    raise AssertionError(f"gRPC endpoint {address} not ready within 60 s")


@pytest.mark.parametrize("client", ["triton", "kserve"])
def test_given_a_client_with_default_options_when_it_infers_then_answers_equal_onnxruntime_bitwise(
    runs: dict[str, ClientRun], client: str
) -> None:
    run = runs[client]
    compared = [name for name in run.outputs if name in run.expected]
    assert set(compared) >= {"label_1", "label_64", "probabilities_1", "probabilities_64"}
    for name in compared:
        got, want = run.outputs[name], run.expected[name]
        assert (got.dtype, got.shape) == (want.dtype, want.shape), name
        assert got.tobytes() == want.tobytes(), f"{client} {name} differs from onnxruntime"
    assert run.result["version_1"] == run.result["version_64"] == "1"
    assert run.result["only_probabilities"] == ["probabilities"]
    assert run.result["pool_is_private"] is True


def test_given_kserve_typed_contents_when_it_infers_then_answers_equal_onnxruntime_and_id_echoes(
    runs: dict[str, ClientRun],
) -> None:
    run = runs["kserve"]
    assert (
        run.outputs["probabilities_typed"].tobytes()
        == run.expected["probabilities_typed"].tobytes()
    )
    assert run.result["id_1"] == run.result["id_64"] == "kserve-request-7"


@pytest.mark.parametrize("client", ["triton", "kserve"])
def test_given_a_client_when_it_asks_for_health_and_metadata_then_its_own_types_parse_them(
    runs: dict[str, ClientRun], client: str
) -> None:
    result = runs[client].result
    assert result["live"] is result["ready"] is result["model_ready"] is True
    assert result["server_metadata"]["name"] == "zenml-mlops-kit-onnx"
    assert result["server_metadata"]["version"]
    metadata = result["model_metadata"]
    assert metadata["name"] == MODEL
    assert metadata["versions"] == ["1"]
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [
        {"name": "input", "datatype": "FP32", "shape": ["-1", str(len(WEIGHTS))]}
    ]  # int64 shapes are strings in protobuf's JSON form
    assert metadata["outputs"] == [
        {"name": "label", "datatype": "INT64", "shape": ["-1"]},
        {"name": "probabilities", "datatype": "FP32", "shape": ["-1", "2"]},
    ]


@pytest.mark.parametrize(
    ("client", "case", "words"),
    [
        ("triton", "raw_size", ["64 bytes", "needs", "96"]),
        ("triton", "wrong_datatype", ["'input'", "BYTES"]),
        ("triton", "unknown_input", ["amount"]),
        ("triton", "oversize", ["exceeds the limit", str(MAX_BODY_BYTES)]),
        ("triton", "truncated", ["not a valid ModelInferRequest"]),
        ("triton", "bytes_overrun", ["claims 1000 bytes", "only 3"]),
        ("kserve", "value_out_of_range", ["'input'", "1000"]),
        ("kserve", "contents_count", ["8 values", "16"]),
    ],
)
def test_given_a_bad_request_when_sent_then_invalid_argument_with_a_message_and_serving_goes_on(
    runs: dict[str, ClientRun], client: str, case: str, words: list[str]
) -> None:
    run = runs[client]
    outcome = run.result["bad"][case]
    assert outcome["status"].removeprefix("StatusCode.") == "INVALID_ARGUMENT", outcome
    assert all(word in outcome["message"] for word in words), outcome["message"]
    assert np.asarray(outcome["then_good"], np.float32).tobytes() == (
        run.expected["probabilities_1"].tobytes()
    )


def test_given_unknown_names_when_asked_then_the_status_says_which_and_what_exists(
    runs: dict[str, ClientRun],
) -> None:
    bad = runs["triton"].result["bad"]
    assert bad["unknown_output"]["status"] == "StatusCode.INVALID_ARGUMENT"
    assert "probabilities" in bad["unknown_output"]["message"]
    assert bad["unknown_model"]["status"] == "StatusCode.NOT_FOUND"
    assert repr(MODEL) in bad["unknown_model"]["message"]


def test_given_grpc_traffic_when_prometheus_scrapes_rest_then_the_same_series_counted_it(
    runs: dict[str, ClientRun],
) -> None:
    answered = [
        line for line in runs["triton"].metrics.splitlines()
        if line.startswith("onnx_server_requests_total{") and 'version="1"' in line
    ]  # fmt: skip
    counts: dict[str, float] = {}
    for line in answered:
        status = line.split('status="')[1].split('"')[0]
        counts[status] = counts.get(status, 0.0) + float(line.split()[-1])
    assert counts == {"ok": ANSWERED, "invalid": REFUSED, "error": 0}


def test_given_a_per_feature_model_when_strings_arrive_as_raw_bytes_then_it_answers_and_logs(
    tmp_path: Path,
) -> None:
    """BYTES elements (4-byte lengths, then the UTF-8) reach the model's string input."""
    model_bytes = per_feature_model()
    (tmp_path / "champion.onnx").write_bytes(model_bytes)
    config = ServerConfig(
        model_name=MODEL, port=0, grpc_port=free_port(), inference_log_dir=tmp_path / "logs"
    )
    app = create_server(config, "1", tmp_path / "champion.onnx")
    request = pb.ModelInferRequest(model_name=MODEL)
    request.inputs.add(name="amount", datatype="FP32", shape=[2, 1])
    request.raw_input_contents.append(np.array([[1.5], [2.0]], "<f4").tobytes())
    request.inputs.add(name="grade", datatype="BYTES", shape=[2, 1])
    request.raw_input_contents.append(b"\x01\x00\x00\x00A\x01\x00\x00\x00B")

    async def infer() -> Any:
        endpoint = grpc_server(app, config)
        await endpoint.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{config.grpc_port}") as channel:
                call = channel.unary_unary(
                    "/inference.GRPCInferenceService/ModelInfer",
                    request_serializer=pb.ModelInferRequest.SerializeToString,
                    response_deserializer=pb.ModelInferResponse.FromString,
                )
                return await call(request, timeout=10)
        finally:
            await endpoint.stop(0)

    answer = asyncio.run(infer())
    assert app.data_plane.inference_log is not None
    app.data_plane.inference_log.close()
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (want,) = session.run(
        ["probabilities"],
        {"amount": np.array([[1.5], [2.0]], np.float32), "grade": np.array([["A"], ["B"]])},
    )
    (output,) = answer.outputs
    assert (output.name, list(output.shape)) == ("probabilities", [2, 2])
    assert answer.raw_output_contents[0] == want.astype("<f4").tobytes()
    (log,) = (tmp_path / "logs").glob("inference-*.jsonl")
    assert json.loads(log.read_text())["inputs"] == {"amount": [1.5, 2.0], "grade": ["A", "B"]}
