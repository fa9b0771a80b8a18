"""Shared fixtures: every test runs against its own ZenML store, offline."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.repo import REPO_ROOT, git

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "template", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its tier, the first folder below tests/ (``-m unit`` selects it).

    Spread over workers (``make test``), files holding a slow test go first within
    their tier, or a long file started last would keep one worker busy alone. Files
    stay whole and tiers keep the order they were given in; a run on one process
    keeps the order it was given.
    """
    for item in items:
        tier = item.path.relative_to(TESTS).parts[0]
        if tier in TIERS:
            item.add_marker(tier)
    if not hasattr(config, "workerinput"):  # not an xdist worker
        return
    tier_rank: dict[str, int] = {}
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    for item in items:
        tier_rank.setdefault(item.path.relative_to(TESTS).parts[0], len(tier_rank))
    items.sort(
        key=lambda item: (tier_rank[item.path.relative_to(TESTS).parts[0]],
                          item.path not in slow_files)
    )  # fmt: skip


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadfile``, the files of the trained default project go to one worker.

    The project is generated and trained once per worker that uses it (a session
    fixture); files are the unit otherwise. xdist's own ``loadgroup`` cannot do this
    on pytest 9.2: it renames ``item._nodeid``, which pytest no longer reads.
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class DefaultProjectTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return DEFAULT_PROJECT if path in _default_project_files() else path

    return DefaultProjectTogether(config, log)


DEFAULT_PROJECT = "the trained default project"


@functools.cache
def _default_project_files() -> frozenset[str]:
    """Test files (as xdist names them, relative to the rootdir) using ``default_project``."""
    return frozenset(
        path.relative_to(TESTS.parent).as_posix()
        for path in (TESTS / "e2e").glob("test_*.py")
        if "default_project" in path.read_text(encoding="utf-8")
    )


@pytest.fixture(autouse=True)
def isolated_zenml_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test a fresh ZENML_CONFIG_PATH and keep everything offline."""
    config_path = tmp_path / "zenml-config"
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config_path))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    return config_path


_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", ".tools", "__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", "demo-project", ".zen", ".zenml", "mlruns", "node_modules",
)  # fmt: skip


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding the current working tree, tagged v0.1.0.

    Copier reads templates from git; snapshotting the working tree (not HEAD)
    lets the tests see uncommitted changes during development.
    """
    repo = tmp_path_factory.mktemp("template-src") / "kit"
    shutil.copytree(REPO_ROOT, repo, symlinks=True, ignore=_IGNORED)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    git(repo, "tag", "v0.1.0")
    return repo
