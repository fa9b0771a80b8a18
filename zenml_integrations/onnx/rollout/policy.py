"""Sliding-window comparison of a challenger with the champion.

Each answered (or failed) request adds one sample per version: its latency,
whether it failed, and the mean of its last output column (the positive-class
probability or the regression value). ``judge`` turns two windows into a
verdict: not enough data yet, healthy, or roll back with the reason.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from itertools import takewhile

import numpy as np
from zenml_integrations.onnx.rollout.config import RollbackPolicy


@dataclass(frozen=True)
class WindowStats:
    """One version's behaviour over the window."""

    requests: int
    errors: int
    p99_latency: float
    p90_latency: float
    output_mean: float
    output_std: float

    @property
    def error_rate(self) -> float:
        """Failed share of the window's requests."""
        return self.errors / self.requests if self.requests else 0.0


class VersionWindow:
    """Samples of one version inside a time window, oldest first.

    Samples older than ``horizon_seconds`` are dropped as new ones arrive, so
    memory stays bounded while no rollout is reading the window.
    """

    def __init__(self, horizon_seconds: float = 30.0, max_samples: int = 200_000) -> None:
        self.horizon_seconds = horizon_seconds
        self._samples: deque[tuple[float, float, bool, float]] = deque(maxlen=max_samples)

    def add(self, now: float, latency: float, failed: bool, output_mean: float) -> None:
        """Record one request (``output_mean`` is NaN when it failed)."""
        samples = self._samples
        samples.append((now, latency, failed, output_mean))
        cutoff = now - self.horizon_seconds
        while samples[0][0] < cutoff:
            samples.popleft()

    def clear(self) -> None:
        """Forget every sample (a new rollout step starts a new window)."""
        self._samples.clear()

    def stats(self, now: float, window_seconds: float) -> WindowStats:
        """Summarize the last ``window_seconds``; older samples stay for longer looks."""
        cutoff = now - window_seconds
        samples = list(takewhile(lambda sample: sample[0] >= cutoff, reversed(self._samples)))
        if not samples:
            return WindowStats(0, 0, 0.0, 0.0, math.nan, math.nan)
        latencies = np.fromiter((sample[1] for sample in samples), dtype=np.float64)
        outputs = np.fromiter((sample[3] for sample in samples if not sample[2]), dtype=np.float64)
        errors = sum(1 for sample in samples if sample[2])
        return WindowStats(
            requests=len(samples),
            errors=errors,
            p99_latency=float(np.percentile(latencies, 99)),
            p90_latency=float(np.percentile(latencies, 90)),
            output_mean=float(outputs.mean()) if outputs.size else math.nan,
            output_std=float(outputs.std()) if outputs.size else math.nan,
        )


class Verdict(StrEnum):
    """What the policy concludes from one comparison."""

    WAIT = "wait"
    HEALTHY = "healthy"
    ROLL_BACK = "roll_back"


@dataclass(frozen=True)
class Judgement:
    """The verdict, and for a rollback the metric that broke and why."""

    verdict: Verdict
    metric: str = ""
    reason: str = ""


def judge(champion: WindowStats, challenger: WindowStats, policy: RollbackPolicy) -> Judgement:
    """Compare two windows against the policy's thresholds."""
    if challenger.requests < policy.min_requests or champion.requests < policy.min_requests:
        return Judgement(Verdict.WAIT)
    excess = challenger.error_rate - champion.error_rate
    if excess > policy.max_error_rate_increase:
        return Judgement(
            Verdict.ROLL_BACK,
            "error_rate",
            f"error rate {challenger.error_rate:.1%} vs champion {champion.error_rate:.1%} "
            f"(allowed excess {policy.max_error_rate_increase:.1%})",
        )
    # The tail alone is noise-prone in a short window (a few descheduled
    # requests are its p99); a slow challenger is slow for most requests, so
    # its p90 must be past the threshold too.
    ratio = challenger.p99_latency / max(champion.p99_latency, 1e-4)
    excess_ms = (challenger.p99_latency - champion.p99_latency) * 1e3
    body_ratio = challenger.p90_latency / max(champion.p90_latency, 1e-4)
    if (
        ratio > policy.max_p99_latency_ratio
        and excess_ms > policy.min_latency_increase_ms
        and body_ratio > policy.max_p99_latency_ratio
    ):
        return Judgement(
            Verdict.ROLL_BACK,
            "latency_p99",
            f"p99 latency {challenger.p99_latency * 1e3:.2f} ms is {ratio:.1f}x the champion's "
            f"{champion.p99_latency * 1e3:.2f} ms (allowed {policy.max_p99_latency_ratio:.1f}x)",
        )
    if not math.isnan(challenger.output_mean) and not math.isnan(champion.output_mean):
        spread = max(champion.output_std, 1e-6)
        shift = abs(challenger.output_mean - champion.output_mean) / spread
        if shift > policy.max_output_shift:
            return Judgement(
                Verdict.ROLL_BACK,
                "output_shift",
                f"mean output {challenger.output_mean:.4f} vs champion "
                f"{champion.output_mean:.4f}: {shift:.2f} champion standard deviations "
                f"(allowed {policy.max_output_shift:.2f})",
            )
    return Judgement(Verdict.HEALTHY)
