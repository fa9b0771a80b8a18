"""A throwaway project tree that runs the repository's own pipeline code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import REPO_ROOT, mlops_kit


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A minimal project tree that runs the repository's own pipeline code."""
    root = tmp_path / "project"
    (root / "configs").mkdir(parents=True)
    for folder in ("steps", "pipelines", "stacks"):
        (root / folder).symlink_to(REPO_ROOT / folder)
    shutil.copy(REPO_ROOT / "template" / "run.py", root / "run.py")
    (root / "configs" / "local.yaml").write_text("# cache by default\n")
    mlops_kit("stack", "apply", "stacks/local.yaml", cwd=root)
    return root
