"""Promotions and rollbacks survive a server restart; a new launch champion starts afresh."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import WEIGHTS, start_server, stop_server

CHALLENGER = logistic_model([-weight for weight in WEIGHTS])


def _models(server_url: str) -> dict[str, object]:
    import httpx

    return httpx.get(f"{server_url}/v2/models", timeout=10).json()  # type: ignore[no-any-return]


def _serve_and_promote_v2(tmp_path: Path) -> Path:
    """Start with v1, roll out and promote v2, stop; return the state file."""
    state_file = tmp_path / "serving-state.json"
    server = start_server(tmp_path, logistic_model(WEIGHTS), state_file=str(state_file))
    try:
        path = server.write_model("v2", CHALLENGER)
        assert server.admin("deploy", {"version": "2", "path": str(path)}).status_code == 200
        assert server.admin("promote").status_code == 200
    finally:
        stop_server(server)
    return state_file


def test_given_a_promotion_when_the_server_restarts_then_the_promoted_version_still_serves(
    tmp_path: Path,
) -> None:
    state_file = _serve_and_promote_v2(tmp_path)
    assert json.loads(state_file.read_text())["champion"]["version"] == "2"

    restarted = start_server(tmp_path, logistic_model(WEIGHTS), state_file=str(state_file))
    try:
        state = _models(restarted.url)
        assert state["champion"] == "2"
        assert state["previous_champion"] == "1"
        assert state["loaded_versions"] == ["1", "2"]
        # The previous champion was reloaded too, so an instant rollback still works.
        assert restarted.admin("rollback", {"reason": "operator"}).status_code == 200
        assert _models(restarted.url)["champion"] == "1"
    finally:
        stop_server(restarted)

    after_rollback = start_server(tmp_path, logistic_model(WEIGHTS), state_file=str(state_file))
    try:
        state = _models(after_rollback.url)
        assert state["champion"] == "1"
        assert [entry["version"] for entry in state["rollbacks"]] == ["2"]  # type: ignore[index]
    finally:
        stop_server(after_rollback)


def test_given_a_stored_state_when_launched_with_a_new_champion_then_the_state_is_ignored(
    tmp_path: Path,
) -> None:
    state_file = _serve_and_promote_v2(tmp_path)

    redeployed = start_server(tmp_path, logistic_model([0.1] * len(WEIGHTS)),
                              state_file=str(state_file))  # fmt: skip
    try:
        state = _models(redeployed.url)
        assert state["champion"] == "1"
        assert state["previous_champion"] is None
    finally:
        stop_server(redeployed)
