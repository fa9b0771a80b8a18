"""The import-linter contracts in pyproject.toml hold, and each one catches its own violation.

A contract that cannot fail proves nothing: a copy of the library gets one
deliberate violation per contract, and the linter must report every contract
broken, naming the import that broke it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.repo import REPO_ROOT

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))

# contract name (as printed, first words) -> (module file, line that violates it, reported import)
VIOLATIONS = {
    "Library layers": (
        "training/errors.py",
        "import zenml_integrations.mlflow.errors",
        "zenml_integrations.training.errors -> zenml_integrations.mlflow.errors",
    ),
    "ONNX plugin rooms": (
        "onnx/rollout/router.py",
        "import zenml_integrations.onnx.admin_client",
        "zenml_integrations.onnx.rollout.router -> zenml_integrations.onnx.admin_client",
    ),
    "The serving core and the rollout rules": (
        "onnx/server/http.py",
        "import mlflow",
        "zenml_integrations.onnx.server.http -> mlflow",
    ),
    "The serving core never loads training-time code": (
        "onnx/server/state.py",
        "import zenml_integrations.onnx.export.parity",
        "zenml_integrations.onnx.server.state -> zenml_integrations.onnx.export.parity",
    ),
    "A flavor.py imports nothing heavy": (
        "evidently/flavor.py",
        "import zenml_integrations.evidently.gate",
        "zenml_integrations.evidently.gate -> evidently",
    ),
    "The library never imports project code": (
        "lineage.py",
        "import steps",
        "zenml_integrations.lineage -> steps",
    ),
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the linter on the library under ``root`` with the repository's contracts."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    root = tmp_path
    shutil.copytree(
        REPO_ROOT / "zenml_integrations",
        root / "zenml_integrations",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_given_the_library_as_it_is_then_every_contract_is_kept(library_copy: Path) -> None:
    result = lint_imports(library_copy)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(VIOLATIONS)} kept, 0 broken." in result.stdout


def test_given_one_violation_per_contract_then_each_contract_reports_its_own(
    library_copy: Path,
) -> None:
    for module, line, _ in VIOLATIONS.values():
        path = library_copy / "zenml_integrations" / module
        path.write_text(path.read_text() + f"\n{line}  # deliberate violation\n")

    result = lint_imports(library_copy)

    report = " ".join(result.stdout.split())  # the linter wraps long names
    assert result.returncode == 1, report
    assert f"Contracts: 0 kept, {len(VIOLATIONS)} broken." in report
    for contract, (_, _, reported) in VIOLATIONS.items():
        assert contract in report
        assert reported in report, f"{contract}: {reported} not reported"
