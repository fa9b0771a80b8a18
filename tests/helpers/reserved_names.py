"""The package names a generated project must not take, from this machine's facts.

    uv run python -m tests.helpers.reserved_names > copier_data/reserved_package_names.txt

A project named like a standard-library module or like a package its
environment installs shadows that module in ``run.py`` and its tests, and
``uv lock`` refuses a project that depends on a distribution of its own name.
The list Copier's validator reads (``copier_data/reserved_package_names.txt``)
must hold every name below; ``tests/template/test_copier_answers.py`` checks it.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.helpers.repo import REPO_ROOT

RESERVED_NAMES_FILE = REPO_ROOT / "copier_data" / "reserved_package_names.txt"
_PACKAGE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def required_reserved_names() -> set[str]:
    """Standard-library modules, locked distributions and the modules they install."""
    locked = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))["package"]
    candidates = {
        *sys.stdlib_module_names,
        *(re.sub(r"[-.]+", "_", package["name"]).lower() for package in locked),
        *packages_distributions(),
    }
    return {name for name in candidates if _PACKAGE_NAME.fullmatch(name)}


def listed_reserved_names() -> set[str]:
    """The names the Copier validator refuses."""
    return set(RESERVED_NAMES_FILE.read_text(encoding="utf-8").split())


if __name__ == "__main__":
    print("\n".join(sorted(required_reserved_names() | listed_reserved_names())))
