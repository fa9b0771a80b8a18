from __future__ import annotations

import math

import numpy as np
import pytest
from zenml_integrations.onnx.rollout.config import RollbackPolicy
from zenml_integrations.onnx.rollout.policy import Verdict, VersionWindow, WindowStats, judge

POLICY = RollbackPolicy(window_seconds=10, min_requests=10)
CHAMPION = WindowStats(
    requests=100, errors=0, p99_latency=0.002, p90_latency=0.001, output_mean=0.3, output_std=0.1
)


def stats(**changes: float) -> WindowStats:
    values = {**CHAMPION.__dict__, **changes}
    return WindowStats(**values)  # type: ignore[arg-type]


def test_given_too_few_requests_then_the_policy_waits() -> None:
    assert judge(CHAMPION, stats(requests=5, errors=5), POLICY).verdict is Verdict.WAIT


def test_given_an_equal_challenger_then_it_is_healthy() -> None:
    assert judge(CHAMPION, stats(), POLICY).verdict is Verdict.HEALTHY


def test_given_excess_errors_then_roll_back_on_error_rate() -> None:
    judgement = judge(CHAMPION, stats(errors=20), POLICY)
    assert judgement.verdict is Verdict.ROLL_BACK
    assert judgement.metric == "error_rate"
    assert "20.0%" in judgement.reason


def test_given_a_much_slower_challenger_then_roll_back_on_latency() -> None:
    judgement = judge(CHAMPION, stats(p99_latency=0.010, p90_latency=0.009), POLICY)
    assert (judgement.verdict, judgement.metric) == (Verdict.ROLL_BACK, "latency_p99")


def test_given_a_sub_millisecond_latency_blip_then_it_is_noise_not_a_rollback() -> None:
    fast = stats(p99_latency=0.0001, p90_latency=0.0001)
    blip = WindowStats(100, 0, 0.0005, 0.0005, 0.3, 0.1)
    assert judge(fast, blip, POLICY).verdict is Verdict.HEALTHY


def test_given_shifted_outputs_then_roll_back_on_output_shift() -> None:
    judgement = judge(CHAMPION, stats(output_mean=0.5), POLICY)
    assert (judgement.verdict, judgement.metric) == (Verdict.ROLL_BACK, "output_shift")


def test_given_old_samples_when_summarized_then_only_the_window_counts() -> None:
    window = VersionWindow()
    window.add(0.0, 1.0, True, math.nan)
    for second in range(20, 30):
        window.add(float(second), 0.001, False, 0.25)
    summary = window.stats(now=30.0, window_seconds=15.0)
    assert summary.requests == 10
    assert summary.errors == 0
    assert summary.output_mean == pytest.approx(0.25)


def test_given_no_reader_when_samples_age_past_the_horizon_then_they_are_dropped() -> None:
    window = VersionWindow(horizon_seconds=5.0)
    for tick in range(1000):
        window.add(tick * 0.1, 0.001, False, 0.2)
    assert window.stats(now=99.9, window_seconds=1000.0).requests == 51


def test_given_tail_spikes_only_then_latency_is_noise_not_a_rollback() -> None:
    """A few descheduled requests make a short window's p99, not its p90."""
    spiky = stats(p99_latency=0.010, p90_latency=CHAMPION.p90_latency)
    assert judge(CHAMPION, spiky, POLICY).verdict is Verdict.HEALTHY


def test_given_a_window_then_stats_hold_its_p99_and_p90() -> None:
    window = VersionWindow()
    latencies = [0.001 + index * 1e-6 for index in range(1000)]
    for index, latency in enumerate(latencies):
        window.add(1.0 + index * 1e-4, latency, False, 0.3)
    stats_now = window.stats(1.2, 10)
    assert stats_now.p99_latency == pytest.approx(float(np.percentile(latencies, 99)))
    assert stats_now.p90_latency == pytest.approx(float(np.percentile(latencies, 90)))
