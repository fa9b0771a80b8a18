"""The serving state file: atomic writes, and ignored when it no longer applies."""

from __future__ import annotations

from pathlib import Path

import pytest
from zenml_integrations.onnx.server.state import (
    RollbackRecord,
    ServedVersion,
    ServingState,
    load_state,
    save_state,
)

STATE = ServingState(
    started_from="aaa",
    champion=ServedVersion(version="2", path="/models/v2.onnx", sha256="bbb"),
    previous_champion=ServedVersion(version="1", path="/models/v1.onnx", sha256="aaa"),
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


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"started_from": "aaa"}'])
def test_given_an_unreadable_state_file_then_it_is_ignored_not_fatal(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "serving-state.json"
    path.write_bytes(content)
    assert load_state(path, "aaa") is None


def test_given_no_state_file_then_nothing_is_restored(tmp_path: Path) -> None:
    assert load_state(tmp_path / "missing.json", "aaa") is None
