"""Faults at the server's edges: 5xx counted, tracebacks rate-limited, a failing pinned
version named, duplicate credentials and exposed token files refused, start-up mistakes
told in one line. In-process ASGI calls: no socket, no uvicorn."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner
from zenml_integrations.onnx.errors import OnnxServerStartError
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.server.__main__ import main
from zenml_integrations.onnx.server.app import OnnxServer, create_server
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.log_throttle import LogThrottle
from zenml_integrations.onnx.server.model import OnnxModel

from tests.helpers.asgi import call
from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import ADMIN_TOKEN, TOKEN_VARIABLE, WEIGHTS

INFER = "/v2/models/churn/infer"
ROW = json.dumps(
    {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": [1.0] * 8}]}
).encode()


@pytest.fixture
def token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    path = tmp_path / "admin-token"
    path.write_text(ADMIN_TOKEN)
    path.chmod(0o600)
    return path


@pytest.fixture
def champion_file(tmp_path: Path) -> Path:
    path = tmp_path / "champion.onnx"
    path.write_bytes(logistic_model(WEIGHTS))
    return path


@pytest.fixture
def server(champion_file: Path, token_file: Path) -> OnnxServer:
    return create_server(
        ServerConfig(model_name="churn", admin_token_file=token_file), "1", champion_file
    )


def _server_errors(server: OnnxServer) -> dict[str, float]:
    """``error`` label -> count of the 5xx counter."""
    return {
        sample.labels["error"]: sample.value
        for metric in server.metrics.server_errors.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    }


def test_given_the_inputs_that_gave_500_when_sent_then_each_is_a_400_and_no_5xx_is_counted(
    server: OnnxServer,
) -> None:
    bodies = [
        b'{"inputs": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 8], "data": ['
        + str(10**400).encode()
        + b", 0, 0, 0, 0, 0, 0, 0]}]}",
        b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [true, 11], "data": []}]}',
        b'{"inputs": [{"name": "input", "datatype": ["FP32"], "shape": [1, 8], "data": []}]}',
    ]
    for body in bodies:
        response = call(server, "POST", INFER, body)
        assert response.status == 400, response.body[:200]
        assert response.json()["error"]
    assert _server_errors(server) == {}


def test_given_an_error_on_every_request_then_each_500_is_counted_and_one_traceback_logged(
    server: OnnxServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug on the request path")

    monkeypatch.setattr(server.data_plane, "infer_decoded", broken)
    with caplog.at_level(logging.ERROR, logger="zenml_integrations.onnx.server"):
        statuses = [call(server, "POST", INFER, ROW).status for _ in range(5)]

    assert statuses == [500] * 5
    assert len([record for record in caplog.records if record.exc_info]) == 1
    assert _server_errors(server) == {"RuntimeError": 5.0}
    metrics = call(server, "GET", "/metrics").body.decode()
    assert (
        'onnx_server_http_server_errors_total{error="RuntimeError",model="churn",status="500"}'
        in metrics
    )


def test_given_a_repeated_error_site_then_one_record_per_interval_reports_the_held_back_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = LogThrottle(logging.getLogger("throttle-test"), 60.0, clock=lambda: now[0])
    errors = []
    for _ in range(3):
        try:
            raise ValueError("same line")
        except ValueError as error:
            errors.append(error)
    with caplog.at_level(logging.ERROR, logger="throttle-test"):
        shown = [throttle.exception(error, "failed") for error in errors]
        now[0] = 61.0
        assert throttle.exception(errors[0], "failed")

    assert shown == [True, False, False]
    assert [record.getMessage() for record in caplog.records] == [
        "failed",
        "failed (2 more like this in the last 61 s not logged)",
    ]


def test_given_a_request_pinned_to_a_failing_version_then_it_gets_an_error_naming_it(
    server: OnnxServer,
) -> None:
    failing = OnnxModel("churn", "2", logistic_model(WEIGHTS, nan_when_first_feature_below=1e9))
    server.rollout.deploy(failing, RolloutConfig(steps=[0.05]))

    pinned = call(server, "POST", "/v2/models/churn/versions/2/infer", ROW)

    assert pinned.status == 500
    assert "model version 2 failed" in pinned.json()["error"]
    assert "pinned" in pinned.json()["error"]
    assert _server_errors(server) == {"HttpError": 1.0}
    champion = call(server, "POST", "/v2/models/churn/versions/1/infer", ROW)
    assert champion.status == 200


def test_given_two_authorization_headers_then_the_admin_api_refuses_the_request(
    server: OnnxServer,
) -> None:
    right = (b"authorization", f"Bearer {ADMIN_TOKEN}".encode())
    wrong = (b"authorization", b"Bearer guessed")

    twice = call(server, "GET", "/admin/state", headers=[wrong, right])
    once = call(server, "GET", "/admin/state", headers=[right])

    assert twice.status == 400
    assert "2 Authorization headers" in twice.json()["error"]
    assert once.status == 200


def test_given_a_token_file_others_can_read_then_the_start_is_refused_with_chmod_advice(
    champion_file: Path, token_file: Path
) -> None:
    token_file.chmod(0o644)
    with pytest.raises(OnnxServerStartError, match=f"run chmod 600 {token_file}$"):
        create_server(
            ServerConfig(model_name="churn", admin_token_file=token_file), "1", champion_file
        )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, "invalid server config"),
        ({"model_name": "churn", "inference_log_dir": "FILE/logs"},
         "cannot create the inference log folder"),
        ({"model_name": "churn", "admin_token_file": "TOKEN"}, "run chmod 600"),
        ({"model_name": "churn", "port": "eighty"}, "port: Input should be a valid integer"),
        ("not json", "cannot read server config"),
    ],
)  # fmt: skip
def test_given_a_start_up_mistake_then_the_cli_prints_one_line_and_no_traceback(
    tmp_path: Path,
    champion_file: Path,
    token_file: Path,
    settings: object,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def serve(*_: object, **__: object) -> None:
        raise AssertionError("the server started despite the mistake")

    monkeypatch.setattr(uvicorn, "run", serve)
    token_file.chmod(0o640)
    (tmp_path / "file").write_text("")
    text = json.dumps(settings) if isinstance(settings, dict) else str(settings)
    config = tmp_path / "server.json"
    config.write_text(
        text.replace("FILE", str(tmp_path / "file")).replace("TOKEN", str(token_file))
    )

    result = CliRunner().invoke(
        main, ["--model", str(champion_file), "--version", "1", "--config", str(config)]
    )

    assert result.exit_code == 1, result.output
    assert expected in result.output
    assert result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1, result.output
