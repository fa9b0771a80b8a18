"""Rollouts on a real server under load: automatic rollback, promotion, blue-green, shadow, A/B."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest

from tests.helpers.onnx_models import FEATURES, logistic_model
from tests.helpers.onnx_server import WEIGHTS, RunningServer

pytestmark = pytest.mark.slow

FAST_POLICY = {"window_seconds": 1.5, "min_requests": 40}


def drive(
    server: RunningServer,
    *,
    seconds: float,
    until: Callable[[dict[str, Any]], bool] | None = None,
    during: Callable[[float], None] | None = None,
    threads: int = 4,
) -> tuple[list[tuple[int, str, str]], dict[str, Any]]:
    """Send batch-1 requests from several threads; return (status, version, variant) each."""
    results: list[tuple[int, str, str]] = []
    stop = threading.Event()
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                row = rng.normal(size=len(FEATURES)).round(3).tolist()
                response = client.post(
                    "/v2/models/churn/infer",
                    json={"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",
                                      "data": row}]},
                )  # fmt: skip
                with lock:
                    results.append(
                        (
                            response.status_code,
                            response.headers.get("x-model-version", ""),
                            response.headers.get("x-model-variant", ""),
                        )
                    )

    workers = [threading.Thread(target=worker, args=(seed,)) for seed in range(threads)]
    for thread in workers:
        thread.start()
    started = time.monotonic()
    state: dict[str, Any] = {}
    with server.client() as client:
        while time.monotonic() - started < seconds:
            time.sleep(0.2)
            if during is not None:
                during(time.monotonic() - started)
            state = client.get("/v2/models/churn/rollout").json()
            if until is not None and until(state):
                break
    stop.set()
    for thread in workers:
        thread.join()
    return results, state


def deploy(server: RunningServer, version: str, onnx_bytes: bytes, **rollout: Any) -> None:
    path = server.write_model(f"v{version}", onnx_bytes)
    response = server.admin("deploy", {"version": version, "path": str(path), "rollout": rollout})
    assert response.status_code == 200, response.text


def test_given_a_challenger_failing_20_percent_when_canaried_then_rolled_back_losing_nothing(
    server: RunningServer,
) -> None:
    # ~20 % of rows have a first feature below -0.84 and get NaN outputs.
    deploy(server, "2", logistic_model(WEIGHTS, nan_when_first_feature_below=-0.84),
           strategy="canary", steps=[0.5, 1.0], policy=FAST_POLICY)  # fmt: skip
    started = time.monotonic()
    results, state = drive(server, seconds=20, until=lambda s: s["challenger"] is None)
    elapsed = time.monotonic() - started

    assert state["challenger"] is None
    assert state["champion"] == "1"
    assert state["rollbacks"][-1]["metric"] == "error_rate"
    assert elapsed < 2 * FAST_POLICY["window_seconds"] + 2  # within about one window
    assert {status for status, _, _ in results} == {200}
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert (
        'onnx_server_rollbacks_total{metric="error_rate",model="churn",version="2"} 1.0' in metrics
    )
    # The rolled-back version is unloaded: its request series go with it, the rollback stays.
    assert 'variant="challenger",version="2"' not in metrics


def test_given_a_challenger_over_5x_slower_when_canaried_then_rolled_back(
    server: RunningServer,
) -> None:
    # ~2 ms of extra matrix products per request against a champion at ~0.1 ms.
    deploy(server, "2", logistic_model(WEIGHTS, extra_matmuls=400),
           strategy="canary", steps=[0.5, 1.0], policy=FAST_POLICY)  # fmt: skip
    results, state = drive(server, seconds=20, until=lambda s: s["challenger"] is None)

    assert state["challenger"] is None
    assert state["champion"] == "1"
    assert state["rollbacks"][-1]["metric"] == "latency_p99"
    assert {status for status, _, _ in results} == {200}


def test_given_a_healthy_challenger_when_canaried_then_promoted_step_by_step(
    server: RunningServer,
) -> None:
    # Both versions cost the same; on a shared machine p99 noise alone can reach 2x,
    # and this test is about the steps, not about latency (tested with a slow model).
    steady = {**FAST_POLICY, "min_latency_increase_ms": 50}
    deploy(server, "2", logistic_model([w * 1.01 for w in WEIGHTS]),
           strategy="canary", steps=[0.25, 0.5, 1.0], policy=steady)  # fmt: skip
    shares: list[float] = []

    def watch(_: float) -> None:
        with server.client() as client:
            shares.append(client.get("/v2/models/churn/rollout").json()["challenger_share"])

    results, state = drive(server, seconds=30, until=lambda s: s["champion"] == "2", during=watch)
    assert state["champion"] == "2", (state["rollbacks"], shares[-5:], len(results))
    assert state["previous_champion"] == "1"
    assert state["rollbacks"] == []
    assert [share for share in dict.fromkeys(shares) if share] == [0.25, 0.5, 1.0]
    assert {status for status, _, _ in results} == {200}


def test_given_blue_green_when_switched_and_rolled_back_under_load_then_no_request_is_lost(
    server: RunningServer,
) -> None:
    slow_policy = {"window_seconds": 60, "min_requests": 10_000}
    actions: list[str] = []

    def operate(elapsed: float) -> None:
        if elapsed > 1 and "deploy" not in actions:
            actions.append("deploy")
            deploy(server, "2", logistic_model([-w for w in WEIGHTS]),
                   strategy="blue_green", policy=slow_policy)  # fmt: skip
        elif elapsed > 3 and "rollback" not in actions:
            actions.append("rollback")
            assert server.admin("rollback", {"reason": "operator says no"}).status_code == 200

    results, state = drive(server, seconds=5, during=operate)

    versions = Counter(version for _, version, _ in results)
    assert {status for status, _, _ in results} == {200}
    assert versions["1"] > 0
    assert versions["2"] > 0
    assert state["champion"] == "1"
    assert state["challenger"] is None
    assert state["rollbacks"][-1]["reason"] == "operator says no"
    assert state["loaded_versions"] == ["1"]  # no role names 2 any more: unloaded


def test_given_shadow_when_served_then_champion_answers_and_challenger_sees_copies(
    server: RunningServer,
) -> None:
    deploy(server, "2", logistic_model([w * 1.01 for w in WEIGHTS]),
           strategy="shadow", policy={"window_seconds": 60, "min_requests": 10_000})  # fmt: skip
    results, _ = drive(server, seconds=1.5, threads=2)
    assert {version for _, version, _ in results} == {"1"}
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert 'status="ok",variant="shadow",version="2"' in metrics


def test_given_ab_when_a_routing_key_repeats_then_the_same_version_answers(
    server: RunningServer,
) -> None:
    patient = {"window_seconds": 60, "min_requests": 10_000}
    deploy(server, "2", logistic_model([w * 1.01 for w in WEIGHTS]),
           strategy="ab", steps=[0.5], policy=patient)  # fmt: skip
    seen: dict[str, set[str]] = {}
    with server.client() as client:
        for user in range(40):
            for _ in range(3):
                response = client.post(
                    "/v2/models/churn/infer",
                    json={
                        "inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",
                                    "data": [0.1] * 8}],
                        "parameters": {"routing_key": f"user-{user}"},
                    },
                )  # fmt: skip
                seen.setdefault(f"user-{user}", set()).add(response.json()["model_version"])
    assert all(len(versions) == 1 for versions in seen.values())
    assert {next(iter(versions)) for versions in seen.values()} == {"1", "2"}
