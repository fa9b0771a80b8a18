"""The rollout's champion baseline when a slow challenger starves the champion of requests.

With closed-loop clients a slow challenger also slows the requests that would
reach the champion, so the champion can fall below ``min_requests`` in the
analysis window. The server must then compare against the champion's longer
history (or wait), never judge the challenger on its error rate alone.
"""

from __future__ import annotations

import time

from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.onnx.server.model import OnnxModel
from zenml_integrations.onnx.server.rollout_control import RolloutControl

from tests.helpers.onnx_models import FEATURES, logistic_model

WEIGHTS = [0.1 * (index + 1) for index in range(len(FEATURES))]
ROLLOUT = RolloutConfig.model_validate(
    {"strategy": "canary", "steps": [0.5, 1.0],
     "policy": {"window_seconds": 2.0, "min_requests": 40}}
)  # fmt: skip


def canary_server() -> RolloutControl:
    server = RolloutControl(
        "churn", OnnxModel("churn", "1", logistic_model(WEIGHTS)), ServerMetrics()
    )
    server.deploy(OnnxModel("churn", "2", logistic_model(WEIGHTS)), ROLLOUT)
    return server


def fill(server: RolloutControl, version: str, *, count: int, ago: float, latency: float) -> None:
    now = time.monotonic()
    for index in range(count):
        server.windows[version].add(now - ago + index * 1e-4, latency, False, 0.5)


def test_given_a_starved_champion_with_history_then_a_slow_challenger_is_rolled_back() -> None:
    server = canary_server()
    fill(server, "1", count=200, ago=10.0, latency=0.001)  # measured before, outside the window
    fill(server, "1", count=10, ago=1.0, latency=0.001)  # starved: 10 < min_requests
    fill(server, "2", count=50, ago=1.0, latency=0.040)

    server.evaluate()

    state = server.describe()
    assert state["challenger"] is None
    assert state["champion"] == "1"
    assert state["rollbacks"][-1]["metric"] == "latency_p99"


def test_given_a_never_measured_champion_still_in_traffic_then_the_rollout_waits() -> None:
    server = canary_server()
    fill(server, "1", count=10, ago=1.0, latency=0.001)
    fill(server, "2", count=50, ago=1.0, latency=0.040)
    server.step_started -= 60  # the step's window has long passed

    server.evaluate()

    state = server.describe()
    assert (state["challenger"], state["challenger_share"]) == ("2", 0.5)
    assert state["rollbacks"] == []
