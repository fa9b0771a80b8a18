"""Model files: loaded only from the server's model directory, and never on the event loop.

The admin API used to open any path it was given, on the event loop: a FIFO
hung the whole server, ``/dev/zero`` read until memory ran out, errors told
whether a path existed, and every model load (or large body parse) held up
every other request while it ran.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from zenml_integrations.onnx.server import rest
from zenml_integrations.onnx.server.__main__ import main as serve
from zenml_integrations.onnx.server.app import OnnxServer, create_server
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.model import ModelFileRefused, OnnxModel

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import ADMIN_TOKEN, TOKEN_VARIABLE, WEIGHTS

MODEL = logistic_model(WEIGHTS)
ROW = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}]}
# Generous: only reached when the server is stuck, never on a passing run.
STUCK_SECONDS = 10


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "champion.onnx").write_bytes(MODEL)
    return folder


def serving(model_dir: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> OnnxServer:
    monkeypatch.setenv(TOKEN_VARIABLE, ADMIN_TOKEN)
    config = ServerConfig.model_validate({"model_name": "churn", **settings})
    return create_server(config, "1", model_dir / "champion.onnx")


async def call(server: OnnxServer, method: str, path: str, payload: Any = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return await client.request(method, path, json=payload, headers=headers, timeout=60)


def deploy(server: OnnxServer, path: Path | str) -> httpx.Response:
    return asyncio.run(call(server, "POST", "/admin/deploy", {"version": "2", "path": str(path)}))


def refusal_shape(response: httpx.Response, requested: Path | str) -> str:
    """The error message with the requested path itself blanked out."""
    assert response.status_code == 400, response.text
    return str(response.json()["error"]).replace(str(requested), "<path>")


def test_given_paths_outside_the_model_dir_then_every_deploy_gets_the_same_400(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a loadable model outside the folder, a missing path, /dev/zero and a
    # symlink inside the folder that escapes it
    elsewhere = tmp_path / "elsewhere.onnx"
    elsewhere.write_bytes(MODEL)
    escaping = model_dir / "escape.onnx"
    escaping.symlink_to(elsewhere)
    server = serving(model_dir, monkeypatch)
    requested = [elsewhere, tmp_path / "missing.onnx", Path("/dev/zero"), escaping,
                 model_dir / ".." / "elsewhere.onnx"]  # fmt: skip

    # When each is deployed, then all are refused alike: nothing tells which exist
    shapes = {refusal_shape(deploy(server, path), path) for path in requested}
    assert len(shapes) == 1, shapes
    assert "inside the server's model directory" in shapes.pop()
    assert asyncio.run(call(server, "GET", "/admin/state")).json()["loaded_versions"] == ["1"]


def test_given_a_fifo_in_the_model_dir_then_deploy_is_refused_without_waiting_for_a_writer(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = model_dir / "pipe.onnx"
    os.mkfifo(fifo)
    server = serving(model_dir, monkeypatch)
    answered = threading.Event()
    unblocked: list[bool] = []

    def unblock_a_stuck_read() -> None:  # lets a server that waits on the FIFO finish the test
        if not answered.wait(STUCK_SECONDS):
            unblocked.append(True)
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = threading.Thread(target=unblock_a_stuck_read, daemon=True)
    watchdog.start()
    response = deploy(server, fifo)
    answered.set()
    watchdog.join()

    assert not unblocked, "the deploy waited for a writer on the FIFO"
    assert "is not a readable regular file" in refusal_shape(response, fifo)


def test_given_a_model_over_max_model_bytes_then_deploy_is_400_naming_the_limit(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serving(model_dir, monkeypatch, max_model_bytes=1024)
    large = model_dir / "large.onnx"
    large.write_bytes(MODEL + b"\0" * 1024)

    message = refusal_shape(deploy(server, large), large)

    assert "has over 1024 bytes (max_model_bytes)" in message


def test_given_files_inside_the_model_dir_then_absolute_and_relative_names_deploy(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (model_dir / "v2.onnx").write_bytes(MODEL)
    server = serving(model_dir, monkeypatch)

    assert deploy(server, model_dir / "v2.onnx").status_code == 200
    assert deploy(server, "v2.onnx").status_code == 200


def test_given_a_launch_model_outside_model_dir_then_the_start_is_refused_in_one_line(
    tmp_path: Path, model_dir: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    config = ServerConfig(model_name="churn", model_dir=other)
    with pytest.raises(ModelFileRefused, match="inside the server's model directory"):
        create_server(config, "1", model_dir / "champion.onnx")

    settings = tmp_path / "server.json"
    settings.write_text(f'{{"model_name": "churn", "model_dir": "{other}"}}')
    result = CliRunner().invoke(
        serve,
        ["--model", str(model_dir / "champion.onnx"), "--version", "1",
         "--config", str(settings)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.startswith("Error: model file ")
    assert result.output.count("\n") == 1, result.output


class Gate:
    """Holds a call until released; ``stuck`` when nobody released it in time."""

    def __init__(self) -> None:
        self.started, self.released = threading.Event(), threading.Event()
        self.stuck = False

    def hold(self) -> None:
        self.started.set()
        self.stuck = not self.released.wait(STUCK_SECONDS)

    def meanwhile(
        self, server: OnnxServer, held: tuple[str, Any], other: tuple[str, Any]
    ) -> tuple[int, int]:
        """Statuses of the ``held`` request and of ``other``, sent while ``held`` is held."""

        async def scenario() -> tuple[int, int]:
            holding = asyncio.create_task(call(server, "POST", *held))
            while not self.started.is_set():
                await asyncio.sleep(0.01)
            answer = await call(server, "POST", *other)
            self.released.set()
            return (await holding).status_code, answer.status_code

        return asyncio.run(scenario())


@pytest.fixture
def gate() -> Iterator[Gate]:
    held = Gate()
    yield held
    held.released.set()


def test_given_a_deploy_loading_a_model_then_other_requests_answer_meanwhile(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, gate: Gate
) -> None:
    server = serving(model_dir, monkeypatch)
    (model_dir / "v2.onnx").write_bytes(MODEL)
    load = OnnxModel.load.__func__  # type: ignore[attr-defined]

    def held_load(cls: type[OnnxModel], *args: Any, **kwargs: Any) -> OnnxModel:
        gate.hold()
        return load(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(OnnxModel, "load", classmethod(held_load))

    statuses = gate.meanwhile(
        server, ("/admin/deploy", {"version": "2", "path": "v2.onnx"}),
        ("/v2/models/churn/infer", ROW),
    )  # fmt: skip

    assert not gate.stuck, "the inference request waited for the model load to finish"
    assert statuses == (200, 200)


def test_given_a_large_body_being_parsed_then_small_requests_answer_meanwhile(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, gate: Gate
) -> None:
    server = serving(model_dir, monkeypatch)
    parse = rest.decode_request

    def held_parse(body: bytes, *args: Any, **kwargs: Any) -> Any:
        if len(body) > 1024 * 1024:
            gate.hold()
        return parse(body, *args, **kwargs)

    monkeypatch.setattr(rest, "decode_request", held_parse)
    large = {**ROW, "id": "x" * (2 * 1024 * 1024)}

    statuses = gate.meanwhile(
        server, ("/v2/models/churn/infer", large), ("/v2/models/churn/infer", ROW)
    )

    assert not gate.stuck, "the small request waited for the large body's parse"
    assert statuses == (200, 200)
