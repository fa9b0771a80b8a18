"""Every relative link in the README and in docs/ reaches a file, and every anchor a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _prose(page: Path) -> str:
    return _CODE.sub("", _FENCED.sub("", page.read_text()))


def _anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lowercase, punctuation dropped, spaces as '-', repeats numbered."""
    anchors: set[str] = set()
    for heading in _HEADING.findall(_FENCED.sub("", page.read_text())):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        numbered, count = slug, 1
        while numbered in anchors:
            numbered, count = f"{slug}-{count}", count + 1
        anchors.add(numbered)
    return anchors


def broken_links(page: Path) -> list[str]:
    """The page's relative links whose file or heading does not exist."""
    broken = []
    for target in _LINK.findall(_prose(page)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading with id {anchor!r} in {linked.name}")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_given_a_docs_page_when_its_relative_links_followed_then_each_arrives(page: Path) -> None:
    assert broken_links(page) == []


def test_given_a_page_with_a_wrong_file_and_a_wrong_anchor_then_both_are_reported(
    tmp_path: Path,
) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Rollback policy\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#rollback-policy) [gone](missing.md) [bad](other.md#rollbacks) "
        "[web](https://example.invalid/x) `[code](missing.md)`\n"
    )

    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#rollbacks: no heading with id 'rollbacks' in other.md",
    ]
