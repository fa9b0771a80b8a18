"""Server settings: where it listens, what it accepts, where it logs (validated at start-up)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class FeatureLookupConfig(BaseModel):
    """Which feature source the server reads entity features from (predict by entity key).

    YAML shape (see ``zenml_integrations.onnx.server.feature_lookup``)::

        feature_lookup:
          provider: zenml_integrations.feast.serving:FeastOnlineFeatures
          entity_column: customer_id
          options: {repo_path: feature_repo, feature_service: churn_model_v1}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(
        description="'module:attribute' of a FeatureSource factory, e.g. "
        "'zenml_integrations.feast.serving:FeastOnlineFeatures'."
    )
    entity_column: str = Field(min_length=1, description="Request input holding the entity ids.")
    base_dir: Path | None = Field(
        default=None,
        description="Absolute folder that relative paths in options resolve against.",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="Provider settings, validated by the provider."
    )

    @field_validator("provider")
    @classmethod
    def _import_path(cls, value: str) -> str:
        module, separator, attribute = value.partition(":")
        if not separator or not module or not attribute:
            raise ValueError(
                f"provider must be 'package.module:Attribute', got {value!r} "
                "(e.g. 'zenml_integrations.feast.serving:FeastOnlineFeatures')"
            )
        return value

    @field_validator("base_dir")
    @classmethod
    def _absolute_base_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_absolute():
            raise ValueError(
                f"base_dir must be absolute (a relative one would follow the server's working "
                f"directory), got {str(value)!r}"
            )
        return value

    def anchored(self, root: Path) -> FeatureLookupConfig:
        """This config with ``base_dir`` defaulting to ``root`` (the project root)."""
        if self.base_dir is not None:
            return self
        return self.model_copy(update={"base_dir": root.resolve()})


class ServerConfig(BaseModel):
    """How the server listens, what it accepts, and where it logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    grpc_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of the OIP gRPC endpoint (inference.GRPCInferenceService) on host; "
        "0: no gRPC endpoint. Messages follow max_body_bytes and max_connections as REST does.",
    )
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_batch_rows: int = Field(default=4096, ge=1)
    allow_nan: bool = False
    intra_op_threads: int = Field(default=1, ge=1)
    admin_token_env: str = Field(
        default="ONNX_SERVER_ADMIN_TOKEN",
        description="Environment variable with the admin API token; unset disables the admin API.",
    )
    admin_token_file: Path | None = Field(
        default=None, description="File holding the admin token, read when the variable is unset."
    )
    inference_log_dir: Path | None = None
    state_file: Path | None = Field(
        default=None,
        description="Where promotions and rollbacks are kept, so a restart does not undo them.",
    )
    inference_log_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    inference_log_max_files: int = Field(
        default=16,
        ge=1,
        description="Inference log files kept; the oldest are deleted beyond this, so the logs "
        "take about inference_log_max_files x inference_log_max_bytes at most.",
    )
    feature_lookup: FeatureLookupConfig | None = Field(
        default=None, description="Accept entity ids and fetch their features from a store."
    )
    model_dir: Path | None = Field(
        default=None,
        description="The only folder model files are loaded from (the launch model, deploys, "
        "restored versions); default: the launch model's folder.",
    )
    max_model_bytes: int = Field(
        default=1024**3, ge=1024, description="Largest model file the server reads."
    )
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        description="Largest request line plus headers; a larger request gets 431 and is closed.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="Time a new connection has to send its request line and headers (and a "
        "request its headers once it started); then 408 and the connection is closed.",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Time a request has to send its whole body; then 408 and the connection "
        "is closed.",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, le=600, description="Idle time after which a kept-alive connection closes."
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        description="Open connections (or requests in progress) above which requests get 503.",
    )

    @model_validator(mode="after")
    def _safe_bind(self) -> ServerConfig:
        if not self.model_name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(
                f"model_name {self.model_name!r} may hold letters, digits, '-' and '_'"
            )
        if self.grpc_port and self.grpc_port == self.port:
            raise ValueError(
                f"grpc_port {self.grpc_port} is also the REST port; give gRPC a port of its own"
            )
        return self
