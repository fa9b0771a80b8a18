"""Render the Copier template as a user would, with default answers for what is not given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier


def render(source: Path, destination: Path, answers: dict[str, Any]) -> Path:
    """Copy the template at ``source`` (a git repository) to ``destination``."""
    copier.run_copy(
        str(source),
        str(destination),
        data=answers,
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )
    return destination
