"""The runbooks in a generated project's docs/ name only commands the project has.

Running the local blocks needs an installed, trained project: that is
tests/e2e/test_runbooks.py. Here every block is parsed, and every ``make``
target, ``mlops-kit`` and ``run.py`` subcommand and option it uses is looked
up, in seconds, with this checkout's environment.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import copier
import pytest

from tests.helpers.runbooks import (
    make_targets,
    runbook_blocks,
    split_command,
    subcommand_path,
)

RUNBOOKS = {"deploy", "promote", "rollback", "drift-alert", "restore-model", "rotate-token",
            "kubernetes"}  # fmt: skip


@pytest.fixture(scope="module")
def project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    destination = tmp_path_factory.mktemp("runbooks") / "churn-model"
    copier.run_copy(str(template_repo), str(destination), defaults=True, vcs_ref="HEAD",
                    quiet=True, unsafe=False)  # fmt: skip
    return destination


def _help(project: Path, program: str, path: list[str]) -> subprocess.CompletedProcess[str]:
    command = (
        [sys.executable, "-m", "zenml_integrations.cli"]
        if program == "mlops-kit"
        else [sys.executable, "run.py"]
    )
    return subprocess.run(
        [*command, *path, "--help"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_given_generated_project_then_every_runbook_exists_with_marked_blocks(
    project: Path,
) -> None:
    blocks = runbook_blocks(project / "docs")

    assert {block.runbook for block in blocks} == RUNBOOKS | {"README"}
    for runbook in RUNBOOKS:  # every runbook has something this machine can run
        assert any(b.kind == "local" for b in blocks if b.runbook == runbook), runbook
    for block in blocks:
        syntax = subprocess.run(["bash", "-n", "-c", block.script], capture_output=True,
                                text=True, check=False)  # fmt: skip
        assert syntax.returncode == 0, f"{block.runbook}[{block.index}]: {syntax.stderr}"
    # The move-to-Kubernetes runbook exports every variable the recipe needs.
    recipe = (project / "stacks" / "kubernetes.yaml").read_text()
    needed = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", recipe))  # ${VAR:-default} is optional
    exported = "".join(b.script for b in blocks if b.runbook == "kubernetes")
    assert needed <= set(re.findall(r"export ([A-Z][A-Z0-9_]*)=", exported)), needed
    readme = (project / "docs" / "README.md").read_text()
    for runbook in RUNBOOKS:
        assert f"]({runbook}.md)" in readme, f"docs/README.md does not link {runbook}.md"


def test_given_runbooks_then_every_make_target_and_subcommand_exists(project: Path) -> None:
    targets = make_targets(project / "Makefile")
    checked_cli: dict[tuple[str, ...], str] = {}
    failures = []
    for block in runbook_blocks(project / "docs"):
        for words in block.commands:
            split = split_command(words)
            if split is None:
                continue
            program, arguments = split
            where = f"{block.runbook}[{block.index}]: {' '.join(words)}"
            if program == "make":
                named = [word for word in arguments if "=" not in word and word[:1] != "-"]
                failures += [f"{where}: no target {name!r}" for name in named
                             if name not in targets]  # fmt: skip
                continue
            path = subcommand_path(arguments)
            key = (program, *path)
            if key not in checked_cli:
                answer = _help(project, program, path)
                if answer.returncode != 0:
                    failures.append(f"{where}: {answer.stderr.strip()[-300:]}")
                    continue
                checked_cli[key] = answer.stdout
            options = {word.split("=")[0] for word in arguments if word.startswith("--")}
            failures += [f"{where}: {program} {' '.join(path)} has no option {option}"
                         for option in sorted(options)
                         if option not in checked_cli[key]]  # fmt: skip
    assert not failures, "\n".join(failures)
    # The runbooks operate the server and the registry through these subcommands.
    assert {
        ("mlops-kit", "server", "status"),
        ("mlops-kit", "server", "promote"),
        ("mlops-kit", "server", "rollback"),
        ("mlops-kit", "server", "rotate-token"),
        ("mlops-kit", "model", "set-champion"),
        ("mlops-kit", "stack", "apply"),
        ("run.py", "monitor"),
    } <= {key[:3] for key in checked_cli}
