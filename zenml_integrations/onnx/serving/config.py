"""Server, rollout and rollback-policy settings (validated once, at start-up)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

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

    @model_validator(mode="after")
    def _safe_bind(self) -> ServerConfig:
        if not self.model_name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(
                f"model_name {self.model_name!r} may hold letters, digits, '-' and '_'"
            )
        return self
