"""`mlops-kit server status` reads the server's state as an operator needs it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from zenml_integrations import cli

STATE: dict[str, Any] = {
    "champion": "1", "challenger": None, "previous_champion": None, "rollbacks": [],
    "interrupted_rollout": {
        "version": "2", "step_index": 1, "challenger_share": 0.25, "time": 1.0,
        "reason": "the restart could not load the challenger again: file is gone",
    },
}  # fmt: skip


def test_given_an_interrupted_rollout_then_status_says_which_step_and_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handle = SimpleNamespace(service=SimpleNamespace(uuid="abc"), base_url="http://127.0.0.1:1",
                             token_file=Path("/tokens/churn"))  # fmt: skip
    monkeypatch.setattr(cli, "_server", lambda model_name: handle)
    monkeypatch.setattr(cli, "_admin", lambda handle, request: STATE)

    result = CliRunner().invoke(cli.main, ["server", "status", "churn"])

    assert result.exit_code == 0, result.output
    assert (
        "interrupted rollout: v2 at step 2 (25% of traffic): the restart could not load the "
        "challenger again: file is gone"
    ) in result.output.splitlines()
