"""Promotions, rollbacks and a rollout in flight survive a restart (and kill -9).

A new launch champion starts afresh; a state file that cannot be read stops the start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from zenml_integrations.onnx.server.__main__ import main as serve

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import (
    ADMIN_TOKEN,
    TOKEN_VARIABLE,
    WEIGHTS,
    free_port,
    start_server,
    stop_server,
)

CHALLENGER = logistic_model([-weight for weight in WEIGHTS])


def _models(server_url: str) -> dict[str, object]:
    return httpx.get(f"{server_url}/v2/models/churn/rollout", timeout=10).json()  # type: ignore[no-any-return]


def _serve_and_promote_v2(tmp_path: Path) -> Path:
    """Start with v1, roll out and promote v2, stop; return the state file."""
    state_file = tmp_path / "serving-state.json"
    server = start_server(tmp_path, logistic_model(WEIGHTS), state_file=str(state_file))
    try:
        path = server.write_model("v2", CHALLENGER)
        assert server.admin("deploy", {"version": "2", "path": str(path)}).status_code == 200
        assert server.admin("promote").status_code == 200
    finally:
        stop_server(server)
    return state_file


def test_given_a_promotion_when_the_server_restarts_then_the_promoted_version_still_serves(
    tmp_path: Path,
) -> None:
    state_file = _serve_and_promote_v2(tmp_path)
    assert json.loads(state_file.read_text())["champion"]["version"] == "2"

    restarted = start_server(tmp_path, logistic_model(WEIGHTS), state_file=str(state_file))
    try:
        state = _models(restarted.url)
        assert state["champion"] == "2"
        assert state["previous_champion"] == "1"
        assert state["loaded_versions"] == ["1", "2"]
        # The previous champion was reloaded too, so an instant rollback still works.
        assert restarted.admin("rollback", {"reason": "operator"}).status_code == 200
        assert _models(restarted.url)["champion"] == "1"
    finally:
        stop_server(restarted)

    after_rollback = start_server(tmp_path, logistic_model(WEIGHTS), state_file=str(state_file))
    try:
        state = _models(after_rollback.url)
        assert state["champion"] == "1"
        assert [entry["version"] for entry in state["rollbacks"]] == ["2"]  # type: ignore[index]
    finally:
        stop_server(after_rollback)


def test_given_a_stored_state_when_launched_with_a_new_champion_then_the_state_is_ignored(
    tmp_path: Path,
) -> None:
    state_file = _serve_and_promote_v2(tmp_path)

    redeployed = start_server(tmp_path, logistic_model([0.1] * len(WEIGHTS)),
                              state_file=str(state_file))  # fmt: skip
    try:
        state = _models(redeployed.url)
        assert state["champion"] == "1"
        assert state["previous_champion"] is None
    finally:
        stop_server(redeployed)


def _launch(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """A server process as the daemon runs it: champion v1, a state file, an admin token."""
    config = tmp_path / "server.json"
    config.write_text(json.dumps({"model_name": "churn", "port": port,
                                  "state_file": str(tmp_path / "serving-state.json")}))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "zenml_integrations.onnx.server", "--model",
         str(tmp_path / "v1.onnx"), "--version", "1", "--config", str(config)],
        env={**os.environ, TOKEN_VARIABLE: ADMIN_TOKEN}, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.communicate()[1].decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("server did not become ready within 60 s")


def test_given_a_rollout_in_flight_when_killed_9_then_the_restart_serves_the_same_step(
    tmp_path: Path,
) -> None:
    (tmp_path / "v1.onnx").write_bytes(logistic_model(WEIGHTS))
    (tmp_path / "v2.onnx").write_bytes(CHALLENGER)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    rollout = {"strategy": "canary", "steps": [0.2, 0.6, 1.0],
               "policy": {"window_seconds": 600, "min_requests": 1_000_000}}  # fmt: skip
    first = _launch(tmp_path, port)
    try:
        request = {"version": "2", "path": "v2.onnx", "rollout": rollout}
        deployed = httpx.post(f"{url}/admin/deploy", headers=admin, json=request, timeout=30)
        assert deployed.status_code == 200, deployed.text
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

    second = _launch(tmp_path, port)
    try:
        state = httpx.get(f"{url}/admin/state", headers=admin, timeout=10).json()
        pinned = httpx.post(f"{url}/v2/models/churn/versions/2/infer", timeout=10, json={
            "inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}]
        })  # fmt: skip
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
    assert (state["champion"], state["challenger"], state["step"]) == ("1", "2", 0)
    assert (state["strategy"], state["challenger_share"]) == ("canary", 0.2)
    assert state["steps"] == [0.2, 0.6, 1.0]
    assert state["loaded_versions"] == ["1", "2"]
    assert state["interrupted_rollout"] is None
    assert pinned.status_code == 200
    assert pinned.headers["x-model-version"] == "2"


def test_given_a_corrupt_state_file_then_the_start_stops_in_one_line_and_keeps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: None)  # a start must not serve
    (tmp_path / "v1.onnx").write_bytes(logistic_model(WEIGHTS))
    state_file = tmp_path / "serving-state.json"
    state_file.write_bytes(b'{"started_from": "')
    config = tmp_path / "server.json"
    config.write_text(json.dumps({"model_name": "churn", "state_file": str(state_file)}))

    result = CliRunner().invoke(serve, ["--model", str(tmp_path / "v1.onnx"), "--version", "1",
                                        "--config", str(config)])  # fmt: skip

    assert result.exit_code == 1
    (line,) = result.output.splitlines()
    assert line.startswith(f"Error: serving state file {state_file} is unreadable (")
    assert line.endswith("restore it from a backup, or move it aside to start from the launch "
                         "champion")  # fmt: skip
    assert state_file.read_bytes() == b'{"started_from": "'
