"""Rollout and rollback-policy settings, shared by the local server and the canary controller."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

MIN_WINDOW_SECONDS = 1.0
MAX_WINDOW_SECONDS = 86_400.0


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

    window_seconds: float = Field(
        default=30.0,
        description="Time over which each check compares the two versions; the policy checks "
        f"about ten times per window, at most once a second, within [{MIN_WINDOW_SECONDS:g}, "
        f"{MAX_WINDOW_SECONDS:g}] s.",
    )
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

    @field_validator("window_seconds")
    @classmethod
    def _sane_window(cls, value: float) -> float:
        # The window sets the policy loop's period: 1e-9 s spun it at 38 % of a core.
        if not MIN_WINDOW_SECONDS <= value <= MAX_WINDOW_SECONDS:
            raise ValueError(
                f"window_seconds must be between {MIN_WINDOW_SECONDS:g} and "
                f"{MAX_WINDOW_SECONDS:g} (a day), got {value!r}; the policy compares versions "
                "over this window, so give it time to see a few requests (e.g. 30)"
            )
        return value


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
