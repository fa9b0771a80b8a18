"""A throwaway project tree that runs the repository's own pipeline code."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from tests.helpers.cli import REPO_ROOT, mlops_kit


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A minimal project tree that runs the repository's own pipeline code."""
    root = tmp_path / "project"
    (root / "configs").mkdir(parents=True)
    for folder in ("steps", "pipelines", "stacks"):
        (root / folder).symlink_to(REPO_ROOT / folder)
    run_py = jinja2.Template((REPO_ROOT / "template" / "run.py.jinja").read_text())
    (root / "run.py").write_text(run_py.render(enable_feast=False))
    (root / "configs" / "local.yaml").write_text("# cache by default\n")
    mlops_kit("stack", "apply", "stacks/local.yaml", cwd=root)
    return root
