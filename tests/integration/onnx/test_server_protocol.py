"""Open Inference Protocol behaviour of a real server: results, errors, metrics, logs."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tests.helpers.onnx_models import FEATURES, logistic_model
from tests.helpers.onnx_server import WEIGHTS, RunningServer, start_server, stop_server


def tensor_request(rows: np.ndarray, **extra: object) -> dict[str, object]:
    return {
        "inputs": [
            {"name": "input", "shape": list(rows.shape), "datatype": "FP32",
             "data": rows.ravel().tolist()}
        ],
        **extra,
    }  # fmt: skip


def test_given_a_batch_when_inferred_then_outputs_equal_in_process_onnxruntime(
    server: RunningServer,
) -> None:
    rows = np.random.default_rng(3).normal(size=(64, len(FEATURES))).astype(np.float32)
    session = ort.InferenceSession(logistic_model(WEIGHTS), providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(["label", "probabilities"], {"input": rows})
    with server.client() as client:
        response = client.post("/v2/models/churn/infer", json=tensor_request(rows, id="req-7"))
        records = client.post(
            "/v2/models/churn/infer",
            json={"records": [dict(zip(FEATURES, map(float, row), strict=True)) for row in rows]},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "req-7"
    assert body["model_version"] == "1"
    assert response.headers["x-model-variant"] == "champion"
    outputs = {output["name"]: output for output in body["outputs"]}
    assert outputs["label"]["data"] == labels.tolist()
    assert outputs["probabilities"]["shape"] == [64, 2]
    np.testing.assert_array_equal(
        np.asarray(outputs["probabilities"]["data"], np.float32).reshape(64, 2), probabilities
    )
    assert records.status_code == 200
    assert records.json()["outputs"] == body["outputs"]


BAD_REQUESTS = [
    ("POST", "/v2/models/churn/infer", b"{not json", 400, "not valid JSON"),
    ("POST", "/v2/models/churn/infer", b"[1, 2]", 400, "JSON object"),
    ("POST", "/v2/models/churn/infer", b'{"instances": []}', 400, "needs 'inputs'"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "input", "shape": [1, 7], "datatype": "FP32",
                             "data": [0.0] * 7}]}).encode(), 400, "expects 8"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "input", "shape": [2, 8], "datatype": "FP32",
                             "data": [0.0] * 8}]}).encode(), 400, "needs 16"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "input", "shape": [1, 8], "datatype": "BYTES",
                             "data": ["a"] * 8}]}).encode(), 400, "datatype 'BYTES'"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "x", "shape": [1, 8], "datatype": "FP32",
                             "data": [0.0] * 8}]}).encode(), 400, "unknown input 'x'"),
    ("POST", "/v2/models/churn/infer",
     b'{"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",'
     b' "data": [NaN, 0, 0, 0, 0, 0, 0, 0]}]}', 400, "feature 'feature_0'"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",
                             "data": ["a"] * 8}]}).encode(), 400, "is not a number"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"records": [{"feature_0": 1.0}]}).encode(), 400, "missing features"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "input", "shape": [0, 8], "datatype": "FP32",
                             "data": []}]}).encode(), 400, "no rows"),
    ("POST", "/v2/models/churn/infer",
     json.dumps({"inputs": [{"name": "input", "shape": [200, 8], "datatype": "FP32",
                             "data": [0.0] * 1600}]}).encode(), 400, "exceeds the limit of 100"),
    ("POST", "/v2/models/churn/infer", b" " * 70_000, 413, "exceeds the limit"),
    ("POST", "/v2/models/other/infer", b"{}", 404, "unknown model 'other'"),
    ("POST", "/v2/models/churn/versions/9/infer", b"{}", 404, "version '9' is not loaded"),
    ("GET", "/v2/models/churn/versions/9", b"", 404, "version '9' is not loaded"),
    ("GET", "/v3/anything", b"", 404, "no route"),
    ("DELETE", "/v2/models/churn", b"", 405, "not allowed"),
]  # fmt: skip


def test_given_bad_requests_when_sent_then_each_gets_a_precise_4xx_and_server_keeps_serving(
    tmp_path: Path,
) -> None:
    server = start_server(
        tmp_path, logistic_model(WEIGHTS), max_batch_rows=100, max_body_bytes=65_536
    )
    try:
        with server.client() as client:
            for method, path, body, status, message in BAD_REQUESTS:
                response = client.request(method, path, content=body)
                assert response.status_code == status, (path, body[:80], response.text)
                assert message in response.json()["error"], (path, response.text)
            good = client.post(
                "/v2/models/churn/infer", json=tensor_request(np.zeros((1, 8), np.float32))
            )
            assert good.status_code == 200
            assert client.get("/v2/health/live").json() == {"live": True}
            metrics = client.get("/metrics").text
        assert 'onnx_server_requests_total{model="churn",status="invalid"' in metrics
    finally:
        stop_server(server)


def test_given_requests_when_metrics_scraped_then_oip_and_mlserver_series_are_exported(
    server: RunningServer,
) -> None:
    with server.client() as client:
        for _ in range(3):
            client.post("/v2/models/churn/infer", json=tensor_request(np.ones((2, 8), np.float32)))
        metadata = client.get("/v2/models/churn").json()
        ready = client.get("/v2/models/churn/ready").json()
        metrics = client.get("/metrics").text
    assert metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 8]}]
    assert ready == {"name": "churn", "version": "1", "ready": True}
    for series in (
        'onnx_server_requests_total{model="churn",status="ok",variant="champion",version="1"} 3.0',
        'model_infer_request_success_total{model_name="churn",model_version="1"} 3.0',
        "onnx_server_request_latency_seconds_bucket",
        "onnx_server_prediction_bucket",
        'onnx_server_rollout_challenger_share{model="churn"} 0.0',
        'onnx_server_model_info{role="champion"',
    ):
        assert series in metrics, series


def test_given_requests_when_served_then_inference_logs_hold_inputs_outputs_and_version(
    server: RunningServer,
) -> None:
    rows = np.arange(16, dtype=np.float32).reshape(2, 8)
    with server.client() as client:
        client.post("/v2/models/churn/infer", json=tensor_request(rows, id="logged"))
    deadline = time.monotonic() + 5
    records: list[dict[str, object]] = []
    while time.monotonic() < deadline and not records:
        records = [
            json.loads(line)
            for path in sorted(server.log_dir.glob("*.jsonl"))
            for line in path.read_text().splitlines()
        ]
        time.sleep(0.05)
    assert len(records) == 1
    assert records[0]["id"] == "logged"
    assert records[0]["version"] == "1"
    assert records[0]["inputs"] == rows.tolist()
    assert len(records[0]["outputs"]) == 2  # type: ignore[arg-type]


def test_given_no_or_wrong_token_when_admin_called_then_refused(
    server: RunningServer, tmp_path: Path
) -> None:
    with server.client() as client:
        assert client.post("/admin/promote").status_code == 401
        wrong = client.post("/admin/promote", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
    disabled = start_server(tmp_path / "no-token", logistic_model(WEIGHTS), admin_token=None)
    try:
        with disabled.client() as client:
            response = client.post("/admin/promote", headers={"Authorization": "Bearer x"})
        assert response.status_code == 403
        assert "ONNX_SERVER_ADMIN_TOKEN" in response.json()["error"]
    finally:
        stop_server(disabled)


def test_given_a_wrong_checksum_when_deployed_then_refused_and_champion_keeps_serving(
    server: RunningServer,
) -> None:
    path = server.write_model("candidate", logistic_model([0.1] * 8))
    response = server.admin("deploy", {"version": "2", "path": str(path), "sha256": "0" * 64})
    assert response.status_code == 400
    assert "checksum mismatch" in response.json()["error"]
    with server.client() as client:
        state = client.get("/v2/models/churn/rollout").json()
        answer = client.post(
            "/v2/models/churn/infer", json=tensor_request(np.ones((1, 8), np.float32))
        )
    assert state["loaded_versions"] == ["1"]
    assert answer.json()["model_version"] == "1"
