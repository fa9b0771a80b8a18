"""Run the real CLIs in subprocesses that share the test's ZENML_CONFIG_PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.repo import REPO_ROOT


def run_python(
    *args: str, cwd: Path = REPO_ROOT, expect_success: bool = True, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` with the test's environment and check its exit code."""
    environment = {**os.environ, "PYTHONPATH": str(cwd), "NO_COLOR": "1"}
    completed = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if expect_success:
        errors = [line for line in output.splitlines() if "Error" in line and "│" not in line]
        assert completed.returncode == 0, "\n".join(errors[:20]) + "\n" + output[-4000:]
    else:
        assert completed.returncode != 0, output[-4000:]
    return completed


def onnx_file(training_output: str) -> Path:
    """The local ``model.onnx`` path that ``run.py train`` printed."""
    line = next(line for line in training_output.splitlines() if line.startswith("onnx file: "))
    return Path(line.removeprefix("onnx file: ").removeprefix("file://"))


def mlops_kit(*args: str, cwd: Path = REPO_ROOT, expect_success: bool = True) -> str:
    """Run ``mlops-kit`` and return what it printed."""
    completed = run_python(
        "-m", "zenml_integrations.cli", *args, cwd=cwd, expect_success=expect_success
    )
    return completed.stdout + completed.stderr
