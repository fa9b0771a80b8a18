"""The shell blocks of a generated project's runbooks (docs/*.md) and the commands in them.

Every ```bash block starts with ``# runbook: local`` (run by the e2e test),
``# runbook: manual`` or ``# runbook: cluster`` (only checked).
"""

from __future__ import annotations

import re
import shlex
import textwrap
from dataclasses import dataclass
from pathlib import Path

KINDS = ("local", "manual", "cluster")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)```bash\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
_MARKER = re.compile(r"# runbook: (?P<kind>\S+)")
_SEPARATORS = {"(", ")", "|", "||", "&&", ";", "&"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_TARGET = re.compile(r"^(?P<name>[A-Za-z][\w-]*)\s*:(?!=)", re.M)


@dataclass(frozen=True)
class RunbookBlock:
    """One fenced shell block: the runbook it is in, its position there, its marker."""

    runbook: str
    index: int
    kind: str
    script: str

    @property
    def commands(self) -> list[list[str]]:
        """Simple commands (words), split at pipes, lists and command substitutions."""
        found: list[list[str]] = []
        for line in self.script.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            lexer.commenters = "#"
            found.append([])
            for token in lexer:
                if token in _SEPARATORS:
                    found.append([])
                elif found[-1] or not _ASSIGNMENT.match(token):
                    found[-1].append(token)
        return [command for command in found if command]


def runbook_blocks(docs: Path) -> list[RunbookBlock]:
    """Every shell block of every runbook in ``docs``, in file and document order.

    Raises:
        ValueError: when a block has no ``# runbook: <kind>`` first line.
    """
    blocks = []
    for path in sorted(docs.glob("*.md")):
        for index, match in enumerate(_BLOCK.finditer(path.read_text())):
            script = textwrap.dedent(match["body"])
            marker = _MARKER.fullmatch(script.splitlines()[0].strip()) if script.strip() else None
            if marker is None or marker["kind"] not in KINDS:
                raise ValueError(
                    f"{path.name}, block {index}: first line must be '# runbook: "
                    f"<{'|'.join(KINDS)}>', got {script.splitlines()[:1]}"
                )
            joined = script.replace("\\\n", " ")  # one line per command
            blocks.append(RunbookBlock(path.stem, index, marker["kind"], joined))
    return blocks


def split_command(words: list[str]) -> tuple[str, list[str]] | None:
    """``("make" | "mlops-kit" | "run.py", arguments)`` for the commands the project owns."""
    if words[:2] == ["uv", "run"]:
        words = words[2:]
    if words[:1] == ["make"]:
        return "make", words[1:]
    if words[:1] == ["mlops-kit"]:
        return "mlops-kit", words[1:]
    if words[:2] == ["python", "run.py"]:
        return "run.py", words[2:]
    return None


def subcommand_path(arguments: list[str]) -> list[str]:
    """The leading words of a CLI call that name (sub)commands, before options and values."""
    path = []
    for word in arguments:
        if word.startswith("-") or not re.fullmatch(r"[a-z][a-z0-9_-]*", word):
            break
        path.append(word)
    return path


def make_targets(makefile: Path) -> set[str]:
    """Targets a Makefile defines (rules, not variable assignments)."""
    return set(_TARGET.findall(makefile.read_text()))
