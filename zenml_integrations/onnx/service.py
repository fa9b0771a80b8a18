"""The ONNX server as a ZenML local daemon service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zenml.models.v2.misc.service import ServiceType
from zenml.services import (
    HTTPEndpointHealthMonitor,
    HTTPEndpointHealthMonitorConfig,
    LocalDaemonService,
    LocalDaemonServiceConfig,
    LocalDaemonServiceEndpoint,
    LocalDaemonServiceEndpointConfig,
    ServiceEndpointProtocol,
)
from zenml.services.service import BaseDeploymentService

ONNX_SERVICE_TYPE = ServiceType(
    name="onnx-server",
    type="model-serving",
    flavor="onnx",
    description="ONNX Runtime server with rollouts and automatic rollback",
)


class OnnxServerServiceConfig(LocalDaemonServiceConfig):
    """One served model: its champion file and the server settings."""

    model_name: str
    model_version: str
    model_path: str
    model_sha256: str
    host: str = "127.0.0.1"
    port: int | None = None
    grpc_port: int | None = None  # the OIP gRPC endpoint's port; None: REST only
    server_settings: dict[str, Any] = {}
    # The id of the model deployer component that started it: ZenML's store lists every deployer's
    # services, and a deployer must find only its own.
    deployer_id: str | None = None


class OnnxServerService(LocalDaemonService, BaseDeploymentService):
    """Runs ``zenml_integrations.onnx.server`` in a daemon process."""

    SERVICE_TYPE = ONNX_SERVICE_TYPE
    config: OnnxServerServiceConfig
    endpoint: LocalDaemonServiceEndpoint

    def __init__(self, config: OnnxServerServiceConfig | dict[str, Any], **attrs: Any) -> None:
        """Attach an HTTP endpoint whose health check is the OIP readiness route."""
        if isinstance(config, OnnxServerServiceConfig) and "endpoint" not in attrs:
            endpoint_config = {
                "protocol": ServiceEndpointProtocol.HTTP,
                "ip_address": config.host,
                **({"port": config.port} if config.port else {}),
            }
            attrs["endpoint"] = LocalDaemonServiceEndpoint(
                config=LocalDaemonServiceEndpointConfig(**endpoint_config),
                monitor=HTTPEndpointHealthMonitor(
                    config=HTTPEndpointHealthMonitorConfig(healthcheck_uri_path="v2/health/ready")
                ),
            )
        super().__init__(config=config, **attrs)

    def run(self) -> None:
        """Serve until stopped; SIGTERM ends the process (uvicorn's own handler)."""
        from zenml_integrations.onnx.server.app import create_server
        from zenml_integrations.onnx.server.config import ServerConfig
        from zenml_integrations.onnx.server.grpc_server import serve

        self.endpoint.prepare_for_start()
        settings = ServerConfig.model_validate(
            {
                **self.config.server_settings,
                "model_name": self.config.model_name,
                "host": self.config.host,
                "port": self.endpoint.status.port,
                "grpc_port": self.config.grpc_port or 0,
            }
        )
        serve(
            create_server(
                settings,
                self.config.model_version,
                Path(self.config.model_path),
                self.config.model_sha256,
            ),
            settings,
        )

    @property
    def prediction_url(self) -> str | None:
        """The OIP inference URL that routes between versions."""
        uri = self.endpoint.status.uri
        if not uri:
            return None
        return f"{uri.rstrip('/')}/v2/models/{self.config.model_name}/infer"

    @property
    def grpc_url(self) -> str | None:
        """The OIP gRPC endpoint (``host:port``, as gRPC clients take it), when it has one."""
        if not self.config.grpc_port:
            return None
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{host}:{self.config.grpc_port}"

    @property
    def healthcheck_url(self) -> str | None:
        """The OIP readiness URL."""
        uri = self.endpoint.status.uri
        return f"{uri.rstrip('/')}/v2/health/ready" if uri else None
