"""Every test gets its own ZenML store, so tests never touch the project's runs."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def isolated_zenml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh ZenML global config in a temporary folder."""
    config_path = tmp_path / "zenml"
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config_path))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    # The project's .zen/ records its own active stack: no repository here, so the
    # tests' stacks stay in their own store and the project's stays active.
    monkeypatch.setenv("ZENML_REPOSITORY_PATH", str(tmp_path / "no-repository"))
    monkeypatch.chdir(PROJECT_ROOT)
    return config_path
