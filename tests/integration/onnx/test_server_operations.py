"""`mlops-kit server ...` on a real ZenML store and daemon: what it refuses, and why.

The runbooks' happy paths (promote, rollback, rotate-token) run end to end in
tests/e2e/test_runbooks.py; here are the refusals an operator must be able to
act on, each in a fresh process as from a shell.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import REPO_ROOT, mlops_kit, run_python
from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import WEIGHTS

pytestmark = pytest.mark.slow

ACTIONS = str(REPO_ROOT / "tests" / "helpers" / "deployer_actions.py")


def test_given_a_served_model_when_operations_do_not_apply_then_each_is_refused_with_why(
    tmp_path: Path,
) -> None:
    mlops_kit("stack", "apply", "stacks/local.yaml")
    model = tmp_path / "champion.onnx"
    model.write_bytes(logistic_model(WEIGHTS))
    run_python(ACTIONS, "deploy", str(model), "1")
    try:
        status = mlops_kit("server", "status", "churn")
        assert "champion: v1" in status
        assert "challenger: none" in status
        assert "previous champion (warm): none" in status

        nothing = mlops_kit("server", "rollback", "churn", "--reason", "x", expect_success=False)
        assert "HTTP 409" in nothing
        assert "nothing to roll back" in nothing
        no_challenger = mlops_kit("server", "promote", "churn", expect_success=False)
        assert "no challenger to promote" in no_challenger

        # A rollout in flight would be lost by the restart a rotation needs.
        token_file = Path(next(
            line.removeprefix("admin token file: ")
            for line in status.splitlines() if line.startswith("admin token file: ")
        ))  # fmt: skip
        token = token_file.read_text()
        challenger = tmp_path / "challenger.onnx"
        challenger.write_bytes(logistic_model([-weight for weight in WEIGHTS]))
        run_python(ACTIONS, "rollout", str(challenger), "2")
        refused = mlops_kit("server", "rotate-token", "churn", expect_success=False)
        assert "version 2 is being rolled out" in refused
        assert token_file.read_text() == token, "a refused rotation must not touch the token"

        # A lost token file is a one-line error naming what to do, not a traceback.
        token_file.rename(tmp_path / "token-elsewhere")
        # status, promote and rollback find the token the same way (operations.ServerHandle)
        lost = mlops_kit("server", "promote", "churn", expect_success=False)
        assert "has no admin token file; redeploy it" in lost
        assert "Traceback" not in lost
        (tmp_path / "token-elsewhere").rename(token_file)
    finally:
        deleted = run_python(ACTIONS, "delete").stdout.strip().splitlines()[-1]
        assert json.loads(deleted) == {"remaining": 0}
