"""Where the gRPC endpoint listens: a port it cannot have is a one-line refusal, not a traceback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from pydantic import ValidationError
from zenml_integrations.onnx.server.app import create_server
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.grpc_server import GrpcStartError, grpc_server

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import WEIGHTS

pytestmark = pytest.mark.unit


def test_given_a_taken_grpc_port_when_the_endpoint_is_built_then_it_refuses_naming_the_port(
    tmp_path: Path,
) -> None:
    model = tmp_path / "champion.onnx"
    model.write_bytes(logistic_model(WEIGHTS))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = ServerConfig(model_name="churn", port=0, grpc_port=port)
        app = create_server(config, "1", model)

        async def build() -> None:
            grpc_server(app, config)

        with pytest.raises(GrpcStartError, match=f"cannot listen for gRPC on 127.0.0.1:{port}"):
            asyncio.run(build())


def test_given_the_rest_port_as_grpc_port_when_configured_then_the_field_is_refused() -> None:
    with pytest.raises(ValidationError, match="grpc_port 8080 is also the REST port"):
        ServerConfig(model_name="churn", port=8080, grpc_port=8080)
