"""The README stays a front door: short, with the test command CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_given_the_readme_then_it_is_under_200_lines() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()

    assert len(lines) < 200, f"README.md has {len(lines)} lines: move reference text to docs/"


def test_given_the_readme_commands_then_ci_runs_its_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(make \w+)\s+#", readme, flags=re.MULTILINE)
    ci_steps = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line]

    assert commands[:2] == ["make demo", "make test"]
    assert ci_steps[-1] == "make test"
