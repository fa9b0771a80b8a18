"""The serving state file: atomic writes, the rollout in flight, and refusal of a bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
from zenml_integrations.onnx.rollout.config import RolloutConfig
from zenml_integrations.onnx.server.state import (
    RollbackRecord,
    RolloutInFlight,
    ServedVersion,
    ServingState,
    ServingStateError,
    load_state,
    save_state,
)

STATE = ServingState(
    started_from="aaa",
    champion=ServedVersion(version="2", path="/models/v2.onnx", sha256="bbb"),
    previous_champion=ServedVersion(version="1", path="/models/v1.onnx", sha256="aaa"),
    rollout=RolloutInFlight(
        challenger=ServedVersion(version="3", path="/models/v3.onnx", sha256="ccc"),
        config=RolloutConfig(steps=[0.1, 0.5, 1.0]),
        step_index=1,
    ),
    rollbacks=[RollbackRecord(version="3", metric="error_rate", reason="20% errors", time=1.0)],
)


def test_given_a_saved_state_when_loaded_for_the_same_launch_then_it_round_trips(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "serving-state.json"
    save_state(path, STATE)
    assert load_state(path, "aaa") == STATE
    assert [entry.name for entry in path.parent.iterdir()] == ["serving-state.json"]


def test_given_a_launch_with_another_champion_then_the_stored_state_is_ignored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "serving-state.json"
    save_state(path, STATE)
    assert load_state(path, "a-new-deployment") is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "Invalid JSON"),
        (b"{not json", "Invalid JSON"),
        (b'{"started_from": "aaa"}', "champion: Field required"),
        (
            STATE.model_dump_json().replace('"version":"2"', '"version":"2\\r\\nX-Injected: yes"'),
            "champion.version: Value error, version label '2\\r\\nX-Injected: yes'",
        ),
        (STATE.model_dump_json().replace('"step_index":1', '"step_index":3'), "step_index 3"),
    ],
)
def test_given_an_unreadable_state_file_then_the_start_stops_and_the_file_is_kept(
    tmp_path: Path, content: bytes | str, reason: str
) -> None:
    path = tmp_path / "serving-state.json"
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)

    with pytest.raises(ServingStateError) as refused:
        load_state(path, "aaa")

    message = str(refused.value)
    assert message.startswith(f"serving state file {path} is unreadable (")
    assert reason in message
    assert "move it aside to start from the launch champion" in message
    assert "\n" not in message
    assert path.read_bytes() == data


def test_given_a_state_file_that_is_a_directory_then_the_start_stops(tmp_path: Path) -> None:
    (tmp_path / "serving-state.json").mkdir()
    with pytest.raises(ServingStateError, match="Is a directory"):
        load_state(tmp_path / "serving-state.json", "aaa")


def test_given_no_state_file_then_nothing_is_restored(tmp_path: Path) -> None:
    assert load_state(tmp_path / "missing.json", "aaa") is None


def test_given_a_failed_write_then_the_old_file_stays_and_no_temporary_file_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "serving-state.json"
    save_state(path, STATE)
    before = path.read_bytes()

    def no_space(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", no_space)
    with pytest.raises(OSError, match="No space left"):
        save_state(path, STATE.model_copy(update={"rollout": None}))
    assert path.read_bytes() == before
    assert [entry.name for entry in tmp_path.iterdir()] == ["serving-state.json"]
