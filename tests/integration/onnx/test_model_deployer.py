"""The ``onnx`` model deployer flavor on a real ZenML store with real daemons."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.cli import REPO_ROOT, mlops_kit, run_python
from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import WEIGHTS, free_port

pytestmark = pytest.mark.slow

ACTIONS = str(REPO_ROOT / "tests" / "helpers" / "deployer_actions.py")
TWO_DEPLOYERS = REPO_ROOT / "tests" / "helpers" / "two_deployers.py"


def act(*args: str) -> dict[str, Any]:
    output = run_python(ACTIONS, *args).stdout.strip().splitlines()[-1]
    return json.loads(output)  # type: ignore[no-any-return]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_given_the_local_stack_when_a_model_is_deployed_then_it_serves_survives_kill_and_stops(
    tmp_path: Path,
) -> None:
    output = mlops_kit("stack", "apply", "stacks/local.yaml")
    assert "+ model_deployer 'onnx_deployer' (flavor onnx, create)" in output
    model = tmp_path / "champion.onnx"
    model.write_bytes(logistic_model(WEIGHTS))

    deployed = act("deploy", str(model), "1")
    try:
        assert deployed["running"]
        assert deployed["url"].startswith("http://127.0.0.1:")
        request = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",
                               "data": [0.5] * 8}]}  # fmt: skip
        answer = httpx.post(deployed["url"], json=request, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["model_version"] == "1"
        zenml_cli = str(Path(sys.executable).parent / "zenml")
        listing = run_python(zenml_cli, "model-deployer", "models", "list")
        listed = listing.stdout + listing.stderr
        assert deployed["uuid"][:8] in listed

        challenger = tmp_path / "challenger.onnx"
        challenger.write_bytes(logistic_model([-weight for weight in WEIGHTS]))
        promoted = act("promote", str(challenger), "2")
        assert (promoted["version"], promoted["serving"]) == ("1", "2")

        os.kill(deployed["pid"], signal.SIGKILL)
        time.sleep(0.5)
        ensured = act("ensure")
        assert ensured["restarted"] is True
        assert ensured["pid"] != deployed["pid"]
        answer = httpx.post(deployed["url"], json=request, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["model_version"] == "2", "a restart must not undo a promotion"
        described = run_python(zenml_cli, "model-deployer", "models", "describe", deployed["uuid"])
        text = described.stdout + described.stderr
        assert re.search(r"MODEL_VERSION\W+2\b", text), text
        assert re.search(r"DEPLOYED_VERSION\W+1\b", text), text
        assert act("ensure")["restarted"] is False

        stopped = act("stop")
        assert stopped["running"] is False
        deadline = time.monotonic() + 10
        while pid_alive(ensured["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not pid_alive(ensured["pid"]), "SIGTERM must really end the server process"
        with pytest.raises(httpx.TransportError):
            httpx.get(deployed["url"].split("/v2/")[0] + "/v2/health/live", timeout=2)
    finally:
        assert act("delete") == {"remaining": 0}


def test_given_two_onnx_deployers_when_each_deploys_then_each_finds_and_serves_only_its_own(
    tmp_path: Path,
) -> None:
    mlops_kit("stack", "apply", "stacks/local.yaml")
    model = tmp_path / "champion.onnx"
    model.write_bytes(logistic_model(WEIGHTS))
    port = free_port()

    record = json.loads(
        run_python(str(TWO_DEPLOYERS), str(model), str(port)).stdout.strip().splitlines()[-1]
    )

    first, second = record["first"], record["second"]
    assert record["second_finds_before_deploying"] == [], "the first deployer's server was taken"
    assert second["uuid"] != first["uuid"]
    assert second["url"].startswith(f"http://127.0.0.1:{port}/"), second["url"]
    assert first["url"] != second["url"]
    assert (first["status_code"], second["status_code"]) == (200, 200)
    assert record["second_finds"] == [second["uuid"]]
    assert record["first_finds"] == [first["uuid"]]
    assert record["left"] == 0
