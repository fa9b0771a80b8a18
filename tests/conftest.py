"""Shared fixtures: every test runs against its own ZenML store, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_zenml_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Give each test a fresh ZENML_CONFIG_PATH and keep everything offline."""
    config_path = tmp_path / "zenml-config"
    monkeypatch.setenv("ZENML_CONFIG_PATH", str(config_path))
    monkeypatch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "false")
    return config_path
