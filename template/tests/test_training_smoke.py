"""A real training run on a small sample, on a throwaway local stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_given_a_fresh_store_when_training_on_a_sample_then_a_champion_is_registered(
    isolated_zenml: Path,
) -> None:
    def run(*args: str) -> str:
        completed = subprocess.run(
            [sys.executable, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
        return completed.stdout

    run("-m", "zenml_integrations.cli", "stack", "apply", "stacks/local.yaml")
    output = run("run.py", "train", "--sample-rows", "2000")
    assert ": completed" in output
    assert "champion: v1" in output
