"""Version labels at the server's doors, and answers that cannot be sent.

A label with CR/LF makes the HTTP server refuse the ``x-model-version`` header:
the client gets no response. Such an answer must count as an error for the
version (metrics and the rollback policy), so it can never be promoted, even
if a bad label got past every door (injected here below them).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from uvicorn.protocols.http.httptools_impl import HEADER_VALUE_RE
from zenml_integrations.cli import main as mlops_kit
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.rollout.policy import VersionWindow
from zenml_integrations.onnx.server.__main__ import main as serve
from zenml_integrations.onnx.server.app import OnnxServer
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.model import OnnxModel

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import ADMIN_TOKEN, TOKEN_VARIABLE, WEIGHTS

BAD_LABEL = "v2\r\nX-Injected: yes"
BLUE_GREEN = RolloutConfig.model_validate(
    {"strategy": "blue_green", "steps": [1.0],
     "policy": {"window_seconds": 1.0, "min_requests": 10}}
)  # fmt: skip
ROW = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}]}


def served(monkeypatch: pytest.MonkeyPatch) -> OnnxServer:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    champion = OnnxModel("churn", "1", logistic_model(WEIGHTS))
    return OnnxServer(ServerConfig(model_name="churn"), champion)


async def call(server: OnnxServer, path: str, body: dict[str, Any]) -> int | None:
    """One POST through the app with uvicorn's header rule; None when nothing could be sent."""
    sent: list[dict[str, Any]] = []
    payload = orjson.dumps(body)
    scope = {"type": "http", "method": "POST", "path": path,
             "headers": [(b"authorization", f"Bearer {ADMIN_TOKEN}".encode())]}  # fmt: skip

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        for _name, value in message.get("headers", []):
            if HEADER_VALUE_RE.search(value):  # what uvicorn's httptools protocol does
                raise RuntimeError("Invalid HTTP header value.")
        sent.append(message)

    try:
        await server(scope, receive, send)
    except RuntimeError:
        return None
    return int(sent[0]["status"])


def requests_counted(server: OnnxServer, version: str, status: str) -> float:
    value = server.metrics.registry.get_sample_value(
        "onnx_server_requests_total",
        {"model": "churn", "version": version, "variant": "challenger", "status": status},
    )
    return value or 0.0


def test_given_an_unsendable_challenger_then_its_answers_are_errors_and_it_is_rolled_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = served(monkeypatch)
    rollout = server.rollout
    # Below every door: straight into the loaded versions and the router.
    rollout.models[BAD_LABEL] = OnnxModel("churn", BAD_LABEL, logistic_model(WEIGHTS))
    rollout.windows[BAD_LABEL] = VersionWindow()
    rollout.router.start(BAD_LABEL, BLUE_GREEN)

    async def traffic() -> list[int | None]:
        return [await call(server, "/v2/models/churn/infer", ROW) for _ in range(20)]

    assert asyncio.run(traffic()) == [None] * 20
    assert requests_counted(server, BAD_LABEL, "ok") == 0
    assert requests_counted(server, BAD_LABEL, "error") == 20

    rollout.step_started -= 60  # the step's window has passed: the policy decides now
    rollout.evaluate()

    state = rollout.describe()
    assert state["champion"] == "1"
    assert state["challenger"] is None
    assert (state["rollbacks"][-1]["version"], state["rollbacks"][-1]["metric"]) == (
        BAD_LABEL, "error_rate",
    )  # fmt: skip


def test_given_a_bad_label_when_deployed_through_the_admin_api_then_400_names_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    server = served(monkeypatch)
    model = tmp_path / "v2.onnx"
    model.write_bytes(logistic_model(WEIGHTS))

    async def deploy() -> httpx.Response:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/admin/deploy", json={"version": BAD_LABEL, "path": str(model)},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )  # fmt: skip

    answer = asyncio.run(deploy())

    assert answer.status_code == 400
    assert answer.json()["error"].startswith(f"version label {BAD_LABEL!r} is not allowed: use")
    assert server.rollout.describe()["loaded_versions"] == ["1"]


def test_given_a_bad_label_on_the_command_lines_then_each_refuses_it_in_one_line(
    tmp_path: Any,
) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(logistic_model(WEIGHTS))

    server = CliRunner().invoke(serve, ["--model", str(model), "--version", "v 2"])
    registry = CliRunner().invoke(
        mlops_kit, ["model", "set-champion", "churn", "2\n", "--reason", "x"]
    )

    for result in (server, registry):
        assert result.exit_code == 2
        assert re.search(r"Invalid value for '?(--version|VERSION)'?: version label '(v 2|2\\n)' "
                         r"is not allowed", result.output)  # fmt: skip
