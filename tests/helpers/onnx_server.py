"""An ONNX server for tests: the real ASGI app under uvicorn, on 127.0.0.1, in this process.

Serving from a thread of the test process skips the 3-5 s a new interpreter spends
importing onnxruntime, numpy and prometheus-client, while requests still cross a real
socket and a real HTTP server. Tests whose subject is the process itself (start-up
refusals, signals, restart after kill -9, the ZenML daemon) start one of their own.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from zenml_integrations.onnx.server.app import OnnxServer, create_server
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.listener import uvicorn_settings

ADMIN_TOKEN = "test-admin-token"
WEIGHTS = [0.3, -0.2, 0.1, 0.0, 0.5, -0.4, 0.2, 0.1]
TOKEN_VARIABLE = "ONNX_SERVER_ADMIN_TOKEN"


@dataclass
class RunningServer:
    """A server listening on 127.0.0.1 and how to reach it."""

    url: str
    app: OnnxServer
    log_dir: Path
    model_dir: Path
    http_server: uvicorn.Server
    thread: threading.Thread

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)

    def admin(self, action: str, payload: dict[str, Any] | None = None) -> httpx.Response:
        with self.client() as client:
            return client.post(
                f"/admin/{action}",
                json=payload or {},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )

    def write_model(self, name: str, onnx_bytes: bytes) -> Path:
        path = self.model_dir / f"{name}.onnx"
        path.write_bytes(onnx_bytes)
        return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _admin_token_variable(token: str | None) -> Iterator[None]:
    """Set (or unset) the token variable while the server reads it, as a launch would."""
    saved = os.environ.pop(TOKEN_VARIABLE, None)
    if token is not None:
        os.environ[TOKEN_VARIABLE] = token
    try:
        yield
    finally:
        os.environ.pop(TOKEN_VARIABLE, None)
        if saved is not None:
            os.environ[TOKEN_VARIABLE] = saved


def start_server(tmp_path: Path, champion: bytes, *, admin_token: str | None = ADMIN_TOKEN,
                 ready_seconds: float = 10, **settings: Any) -> RunningServer:  # fmt: skip
    """Serve ``champion`` as version 1 of model ``churn``, configured as ``**settings`` say."""
    model_dir = tmp_path / "models"
    model_dir.mkdir(parents=True, exist_ok=True)
    champion_path = model_dir / "champion.onnx"
    champion_path.write_bytes(champion)
    config = ServerConfig.model_validate(
        {
            "model_name": "churn",
            "port": free_port(),
            "inference_log_dir": str(tmp_path / "inference-logs"),
            **settings,
        }
    )
    with _admin_token_variable(admin_token):
        app = create_server(config, "1", champion_path)
    server = uvicorn.Server(uvicorn.Config(app, **uvicorn_settings(config)))
    thread = threading.Thread(target=server.run, name=f"onnx-server-{config.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_seconds
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise AssertionError(f"server on port {config.port} did not start")
        time.sleep(0.01)
    url = f"http://{config.host}:{config.port}"
    return RunningServer(url, app, tmp_path / "inference-logs", model_dir, server, thread)


def stop_server(server: RunningServer) -> None:
    """Shut down as on SIGTERM: lifespan shutdown (inference logs flushed), then join."""
    server.http_server.should_exit = True
    server.thread.join(timeout=10)
    assert not server.thread.is_alive(), f"{server.url} did not stop within 10 s"
