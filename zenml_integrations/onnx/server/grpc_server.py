"""Run the server's transports: REST under uvicorn and, when configured, gRPC, in one event loop.

Both transports answer from the same ``OnnxServer`` (one data plane, one
rollout), so they share the loop: the data plane is not thread-safe, and one
process on one core is what the server is sized for. uvicorn owns the signals;
on SIGTERM or SIGINT the gRPC server stops first (in-flight calls get the
grace period), then uvicorn closes its connections and runs the lifespan
shutdown, which flushes the inference log both transports write to.
"""

from __future__ import annotations

import asyncio
import socket
import sys

import grpc
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.server.app import OnnxServer
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.grpc_service import InferenceService, rpc_handlers
from zenml_integrations.onnx.server.listener import uvicorn_settings

GRACE_SECONDS = 5.0
# gRPC refuses a message above this many times max_body_bytes itself (RESOURCE_EXHAUSTED,
# before any of our code runs); up to it, ModelInfer refuses with INVALID_ARGUMENT and a
# message naming the limit. The cap bounds what one call can make the server buffer.
TRANSPORT_LIMIT_FACTOR = 2


class GrpcStartError(OnnxError):
    """The gRPC endpoint cannot listen where the config says."""


def grpc_server(app: OnnxServer, config: ServerConfig) -> grpc.aio.Server:
    """A gRPC server for ``app`` bound to ``config.host:config.grpc_port`` (not started).

    Call it inside the running event loop that serves ``app``.

    Raises:
        GrpcStartError: when the address cannot be bound.
    """
    limit = config.max_body_bytes * TRANSPORT_LIMIT_FACTOR
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.so_reuseport", 0),  # a second server on the same port must fail, not share
        ],
        maximum_concurrent_rpcs=config.max_connections,
    )
    server.add_generic_rpc_handlers((rpc_handlers(InferenceService(app)),))
    address = _address(config.host, config.grpc_port)
    try:
        server.add_insecure_port(address)
    except RuntimeError as error:
        raise GrpcStartError(
            f"cannot listen for gRPC on {address} ({error}); free the port or set another "
            "grpc_port (0 turns the gRPC endpoint off)"
        ) from None
    return server


class _ServerWithGrpc(uvicorn.Server):
    """uvicorn's server, stopping the gRPC server before its own shutdown."""

    def __init__(self, config: uvicorn.Config, grpc_endpoint: grpc.aio.Server) -> None:
        super().__init__(config)
        self.grpc_endpoint = grpc_endpoint

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Let in-flight gRPC calls finish, then close REST and flush the inference log."""
        await self.grpc_endpoint.stop(GRACE_SECONDS)
        await super().shutdown(sockets)


def serve(app: OnnxServer, config: ServerConfig) -> None:
    """Serve ``app`` until SIGTERM or SIGINT: REST, and gRPC when ``config.grpc_port`` is set.

    Exits with uvicorn's start-up failure status when the REST port cannot be bound.

    Raises:
        GrpcStartError: when the gRPC port cannot be bound.
    """
    if not config.grpc_port:
        uvicorn.run(app, **uvicorn_settings(config))
        return
    uvicorn_config = uvicorn.Config(app, **uvicorn_settings(config))
    with asyncio.Runner(loop_factory=uvicorn_config.get_loop_factory()) as runner:
        started = runner.run(_serve_both(app, config, uvicorn_config))
    if not started:
        sys.exit(STARTUP_FAILURE)


async def _serve_both(
    app: OnnxServer, config: ServerConfig, uvicorn_config: uvicorn.Config
) -> bool:
    endpoint = grpc_server(app, config)
    await endpoint.start()
    server = _ServerWithGrpc(uvicorn_config, endpoint)
    try:
        await server.serve()
    finally:
        await endpoint.stop(0)  # already stopped after a normal shutdown; this covers the rest
    return server.started


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
