"""A generated project's own lint passes: ruff, and mypy on steps/, pipelines/ and run.py.

The project's `make lint` runs these commands in its own environment (the e2e
tier runs it on the default project); here they run in the kit's environment
on a project without and one with Feast, whose run.py and training pipeline differ.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.rendering import render

RUN_PY_LIMIT = 90  # lines: the user's file; the rest is zenml_integrations.project


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache for both projects: the second checks only what differs."""
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.mark.parametrize("enable_feast", [False, True])
def test_given_a_rendered_project_then_run_py_is_short_and_ruff_and_mypy_pass(
    enable_feast: bool, template_repo: Path, tmp_path: Path, mypy_cache: Path
) -> None:
    project = render(template_repo, tmp_path / "project", {"enable_feast": enable_feast})

    run_py = (project / "run.py").read_text()
    assert len(run_py.splitlines()) < RUN_PY_LIMIT
    assert ("def features(" in run_py) is enable_feast
    for command in (
        ["ruff", "check", "--no-cache", "."],
        ["ruff", "format", "--no-cache", "--check", "."],
        ["mypy", "--cache-dir", str(mypy_cache)],  # files and settings: the project's pyproject
    ):
        checked = subprocess.run(
            [sys.executable, "-m", *command],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, f"{command}\n{checked.stdout}{checked.stderr}"
    assert "mypy" in (project / "Makefile").read_text().split("\nlint:")[1]
