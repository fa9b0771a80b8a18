"""Node tools the suite runs, each pinned by a package-lock.json under tests/tools/<name>/.

`.ci/run` installs them with `npm ci`; a test that finds one missing installs it the same
way, so a fresh checkout needs only node and npm.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers.repo import REPO_ROOT

TOOLS = REPO_ROOT / "tests" / "tools"


def npm_tool(name: str) -> Path:
    """``tests/tools/<name>/node_modules``, installed from its lock file when missing."""
    folder = TOOLS / name
    modules = folder / "node_modules"
    if not modules.is_dir():
        npm = shutil.which("npm")
        assert npm, f"npm is needed to install tests/tools/{name}: install nodejs (.ci/run does)"
        subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=folder,
            check=True,
            capture_output=True,
            timeout=300,
        )
    return modules
