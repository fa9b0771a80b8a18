"""Server, rollout and rollback-policy settings (validated once, at start-up)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strategy(StrEnum):
    """How traffic is shared between the champion and a challenger."""

    CANARY = "canary"  # a random share of requests goes to the challenger
    AB = "ab"  # a sticky share, by routing key, goes to the challenger
    SHADOW = "shadow"  # the champion answers; the challenger sees a copy
    BLUE_GREEN = "blue_green"  # all traffic switches at once; the old version stays warm


class RollbackPolicy(BaseModel):
    """When a challenger is taken out of traffic automatically.

    Each check compares the challenger with the champion over the last
    ``window_seconds``, once both have ``min_requests`` in the window.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_seconds: float = Field(default=30.0, gt=0)
    min_requests: int = Field(default=50, ge=1)
    max_error_rate_increase: float = Field(
        default=0.02, ge=0, le=1, description="Allowed error-rate excess over the champion."
    )
    max_p99_latency_ratio: float = Field(
        default=2.0,
        gt=1,
        description="Allowed challenger p99 (and p90) latency as a multiple of the champion's.",
    )
    min_latency_increase_ms: float = Field(
        default=1.0,
        ge=0,
        description="A p99 excess below this is noise (GC, log flushes), never a rollback reason.",
    )
    max_output_shift: float = Field(
        default=0.5,
        gt=0,
        description="Allowed shift of the mean first output, in champion standard deviations.",
    )


class RolloutConfig(BaseModel):
    """A rollout of a challenger next to the champion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    strategy: Strategy = Strategy.CANARY
    steps: list[float] = Field(
        default_factory=lambda: [0.05, 0.25, 0.5, 1.0],
        description="Challenger traffic shares, advanced after each passing window.",
    )
    policy: RollbackPolicy = Field(default_factory=RollbackPolicy)

    @field_validator("steps")
    @classmethod
    def _increasing_shares(cls, steps: list[float]) -> list[float]:
        if not steps or any(not 0 < share <= 1 for share in steps):
            raise ValueError("steps must be traffic shares in (0, 1]")
        if steps != sorted(steps) or len(set(steps)) != len(steps):
            raise ValueError(f"steps must increase strictly, got {steps}")
        return steps


class FeatureLookupConfig(BaseModel):
    """Which feature source the server reads entity features from (predict by entity key).

    YAML shape (see ``zenml_integrations.onnx.serving.feature_lookup``)::

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
    feature_lookup: FeatureLookupConfig | None = Field(
        default=None, description="Accept entity ids and fetch their features from a store."
    )

    @model_validator(mode="after")
    def _safe_bind(self) -> ServerConfig:
        if not self.model_name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(
                f"model_name {self.model_name!r} may hold letters, digits, '-' and '_'"
            )
        return self
