"""ONNX servers for tests: a real server process on 127.0.0.1 and a small HTTP client."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.helpers.cli import REPO_ROOT

ADMIN_TOKEN = "test-admin-token"
WEIGHTS = [0.3, -0.2, 0.1, 0.0, 0.5, -0.4, 0.2, 0.1]


@dataclass
class RunningServer:
    """A server subprocess and how to reach it."""

    url: str
    process: subprocess.Popen[bytes]
    log_dir: Path
    model_dir: Path

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


def start_server(tmp_path: Path, champion: bytes, *, admin_token: str | None = ADMIN_TOKEN,
                 ready_seconds: float = 30, **settings: Any) -> RunningServer:  # fmt: skip
    model_dir = tmp_path / "models"
    model_dir.mkdir(parents=True, exist_ok=True)
    champion_path = model_dir / "champion.onnx"
    champion_path.write_bytes(champion)
    port = free_port()
    config = {
        "model_name": "churn",
        "port": port,
        "inference_log_dir": str(tmp_path / "inference-logs"),
        **settings,
    }
    config_path = tmp_path / "server.json"
    config_path.write_text(json.dumps(config))
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    environment.pop("ONNX_SERVER_ADMIN_TOKEN", None)
    if admin_token is not None:
        environment["ONNX_SERVER_ADMIN_TOKEN"] = admin_token
    process = subprocess.Popen(
        [sys.executable, "-m", "zenml_integrations.onnx.serving", "--model", str(champion_path),
         "--version", "1", "--config", str(config_path)],
        env=environment,
        stdout=(tmp_path / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError((tmp_path / "server.log").read_text())
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return RunningServer(url, process, tmp_path / "inference-logs", model_dir)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"server did not become ready in {ready_seconds} s")


def stop_server(server: RunningServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise
