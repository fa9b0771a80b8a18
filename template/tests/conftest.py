"""The tests never touch this project's ZenML store nor its .zen/ (active stack).

Before any test module imports ZenML, the whole session is pointed at a
throwaway store and at no repository: `make test` (whose environment names the
project's store) and a bare `uv run pytest` both leave `.zenml/` and `.zen/`
as they were. Each test that needs a store still gets a fresh one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
_SESSION_ZENML = Path(tempfile.mkdtemp(prefix="zenml-tests-"))
_ISOLATION = {
    "ZENML_CONFIG_PATH": str(_SESSION_ZENML / "config"),
    # No repository here: ZenML would otherwise find the project's .zen/ from the
    # working directory and record the tests' active stack in it.
    "ZENML_REPOSITORY_PATH": str(_SESSION_ZENML / "no-repository"),
    "ZENML_ANALYTICS_OPT_IN": "false",
    "DO_NOT_TRACK": "true",
    "GX_ANALYTICS_ENABLED": "false",
}
os.environ.update(_ISOLATION)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the session's throwaway store."""
    shutil.rmtree(_SESSION_ZENML, ignore_errors=True)


@pytest.fixture
def isolated_zenml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ZenML global config in a temporary folder, and no repository."""
    config_path = tmp_path / "zenml"
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config_path))
    monkeypatch.setenv("ZENML_REPOSITORY_PATH", str(tmp_path / "no-repository"))
    monkeypatch.chdir(PROJECT_ROOT)
    return config_path
