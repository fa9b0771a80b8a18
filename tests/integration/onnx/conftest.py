"""A real ONNX server process on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import WEIGHTS, RunningServer, start_server, stop_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path, logistic_model(WEIGHTS))
    yield running
    stop_server(running)
