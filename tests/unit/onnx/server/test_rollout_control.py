"""Rollout control: the champion baseline, the bounded set of loaded versions, the state file.

With closed-loop clients a slow challenger also slows the requests that would
reach the champion, so the champion can fall below ``min_requests`` in the
analysis window. The server must then compare against the champion's longer
history (or wait), never judge the challenger on its error rate alone.

At most the champion, the warm previous champion and one challenger stay
loaded; every rollout step is in the state file, and a restart resumes it.
"""

from __future__ import annotations

import gc
import re
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import generate_latest
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.rollout.policy import VersionWindow
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.onnx.server.model import ModelFolder, OnnxModel
from zenml_integrations.onnx.server.rollout_control import RolloutControl
from zenml_integrations.onnx.server.state import ServedVersion, ServingState

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


# --- Bounded loaded versions -------------------------------------------------------------------


def test_given_26_deploys_with_new_labels_then_at_most_three_versions_stay_loaded() -> None:
    metrics = ServerMetrics()
    control = RolloutControl("churn", OnnxModel("churn", "1", logistic_model(WEIGHTS)), metrics)
    released: list[weakref.ref[OnnxModel]] = []
    for number in range(2, 28):
        model = OnnxModel("churn", str(number), logistic_model(WEIGHTS))
        released.append(weakref.ref(model))
        control.deploy(model, ROLLOUT)
        control.record(str(number), "challenger", 0.001, failed=False, summary=0.5)
        if number % 3 == 0:
            control.promote()
        elif number % 3 == 1:
            control.rollback("operator")
        del model
        assert len(control.models) <= 3, sorted(control.models)

    state = control.router.state
    serving = {state.champion, state.challenger, state.previous_champion} - {None}
    assert set(control.models) == set(control.windows) == serving
    gc.collect()
    assert sum(ref() is not None for ref in released) <= 3  # the rest were freed
    exported = generate_latest(metrics.registry).decode()
    answered = set(re.findall(r'onnx_server_requests_total\{[^}]*version="([^"]+)"', exported))
    described = set(re.findall(r'onnx_server_model_info\{[^}]*version="([^"]+)"', exported))
    assert described == serving
    assert answered <= serving


def test_given_a_challenger_in_flight_when_another_is_deployed_then_it_replaces_the_first() -> None:
    control = canary_server()  # champion 1, challenger 2
    control.deploy(OnnxModel("churn", "3", logistic_model(WEIGHTS)), ROLLOUT)

    state = control.describe()
    assert (state["champion"], state["challenger"], state["step"]) == ("1", "3", 0)
    assert state["loaded_versions"] == ["1", "3"]
    assert state["rollbacks"] == []  # replaced, not judged


def test_given_an_unloaded_version_when_its_late_answer_arrives_then_nothing_is_recorded() -> None:
    control = canary_server()
    control.rollback("operator")  # version 2 unloaded
    control.record("2", "challenger", 0.001, failed=False, summary=0.5)
    assert "2" not in control.windows
    assert (
        control.metrics.registry.get_sample_value(
            "onnx_server_requests_total",
            {"model": "churn", "version": "2", "variant": "challenger", "status": "ok"},
        )
        is None
    )


# --- State on every rollout step, restarts in the same step ---------------------------------------


def served_control(tmp_path: Path, **restore: Any) -> RolloutControl:
    champion = load(tmp_path, "1", model_file(tmp_path, "1", WEIGHTS))
    return RolloutControl("churn", champion, ServerMetrics(),
                          state_file=tmp_path / "state.json", **restore)  # fmt: skip


def model_file(tmp_path: Path, version: str, weights: list[float]) -> Path:
    path = tmp_path / f"v{version}.onnx"
    path.write_bytes(logistic_model(weights))
    return path


def stored(tmp_path: Path) -> ServingState:
    return ServingState.model_validate_json((tmp_path / "state.json").read_bytes())


def test_given_a_rollout_then_every_step_is_in_the_state_file(tmp_path: Path) -> None:
    control = served_control(tmp_path)
    challenger = load(tmp_path, "2", model_file(tmp_path, "2", [-w for w in WEIGHTS]))

    control.deploy(challenger, ROLLOUT)
    started = stored(tmp_path).rollout
    assert started is not None
    assert (started.challenger.version, started.step_index) == ("2", 0)
    assert started.config == ROLLOUT

    fill(control, "1", count=50, ago=1.0, latency=0.001)
    fill(control, "2", count=50, ago=1.0, latency=0.001)
    control.step_started -= 60
    control.evaluate()  # healthy for a window: next step
    advanced = stored(tmp_path).rollout
    assert advanced is not None
    assert advanced.step_index == 1

    control.promote()
    promoted = stored(tmp_path)
    assert (promoted.champion.version, promoted.rollout) == ("2", None)


def test_given_a_state_mid_rollout_when_restored_then_the_same_step_serves(tmp_path: Path) -> None:
    control = served_control(tmp_path)
    path = model_file(tmp_path, "2", [-w for w in WEIGHTS])
    control.deploy(load(tmp_path, "2", path), ROLLOUT)
    control.router.advance()
    control.publish()

    restarted = served_control(tmp_path, restored=stored(tmp_path), load=recorded_loader(tmp_path))

    state = restarted.describe()
    assert (state["champion"], state["challenger"], state["step"]) == ("1", "2", 1)
    assert state["challenger_share"] == 1.0
    assert state["loaded_versions"] == ["1", "2"]
    assert state["interrupted_rollout"] is None


def test_given_a_challenger_file_gone_when_restored_then_the_interruption_is_recorded(
    tmp_path: Path,
) -> None:
    control = served_control(tmp_path)
    path = model_file(tmp_path, "2", [-w for w in WEIGHTS])
    control.deploy(load(tmp_path, "2", path), ROLLOUT)
    path.unlink()

    restarted = served_control(tmp_path, restored=stored(tmp_path), load=recorded_loader(tmp_path))

    state = restarted.describe()
    assert (state["champion"], state["challenger"]) == ("1", None)
    interrupted = state["interrupted_rollout"]
    assert (interrupted["version"], interrupted["step_index"]) == ("2", 0)
    assert interrupted["challenger_share"] == 0.5
    assert "could not load the challenger again" in interrupted["reason"]
    assert stored(tmp_path).interrupted == restarted.interrupted  # survives another restart
    restarted.deploy(load(tmp_path, "3", model_file(tmp_path, "3", WEIGHTS)), ROLLOUT)
    assert restarted.describe()["interrupted_rollout"] is None


def load(tmp_path: Path, version: str, path: Path) -> OnnxModel:
    return OnnxModel.load("churn", version, path, folder=ModelFolder(tmp_path, 1 << 20))


def recorded_loader(tmp_path: Path) -> Callable[[ServedVersion], OnnxModel]:
    def load_recorded(served: ServedVersion) -> OnnxModel:
        return OnnxModel.load("churn", served.version, Path(served.path),
                              folder=ModelFolder(tmp_path, 1 << 20),
                              expected_sha256=served.sha256)  # fmt: skip

    return load_recorded


def test_given_a_long_policy_window_when_the_rollout_ends_then_windows_keep_30_s_again() -> None:
    control = RolloutControl("churn", OnnxModel("churn", "1", logistic_model(WEIGHTS)),
                             ServerMetrics())  # fmt: skip
    hour = ROLLOUT.model_copy(update={"policy": ROLLOUT.policy.model_copy(
        update={"window_seconds": 3600.0})})  # fmt: skip
    control.deploy(OnnxModel("churn", "2", logistic_model(WEIGHTS)), hour)
    assert {window.horizon_seconds for window in control.windows.values()} == {3600.0}

    control.promote()

    assert {window.horizon_seconds for window in control.windows.values()} == {30.0}


def test_given_a_bad_label_below_the_doors_then_rollout_changes_still_apply(
    tmp_path: Path,
) -> None:
    control = served_control(tmp_path)
    bad = "2\r\nX: y"
    control.models[bad] = load(tmp_path, bad, model_file(tmp_path, "2", WEIGHTS))
    control.windows[bad] = VersionWindow()
    control.router.start(bad, ROLLOUT)
    control.publish()  # the state file cannot hold the label: logged, serving goes on
    assert stored(tmp_path).rollout is None

    control.rollback("operator")

    assert (control.describe()["challenger"], sorted(control.models)) == (None, ["1"])
