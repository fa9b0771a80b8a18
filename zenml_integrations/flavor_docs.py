"""Flavor reference pages: each flavor's URL, and configuration tables from its config class.

A flavor's page is ``docs/flavors/<flavor name>.md``. The tables between the
``config-table`` markers are generated from the pydantic fields (type,
constraints, default, ``Field(description=...)``), so a page cannot drift from
the code unnoticed: ``python -m zenml_integrations.flavor_docs`` rewrites them,
``--check`` only reports, and a unit test runs the check. Importing this module
costs no more than pydantic: flavors are imported only to generate tables.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import json
import types
from collections.abc import Iterator, Sequence
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

if TYPE_CHECKING:
    from zenml.stack.flavor import Flavor

DISTRIBUTION = "zenml-mlops-kit"
DOCS_URL_LABEL = "Documentation"
TABLE_START = "<!-- config-table:start -->"
TABLE_END = "<!-- config-table:end -->"
GENERATE_COMMAND = "uv run python -m zenml_integrations.flavor_docs"
_BOUNDS = ((Ge, "ge", ">="), (Gt, "gt", ">"), (Le, "le", "<="), (Lt, "lt", "<"))


class FlavorPageError(Exception):
    """A flavor has no page, or its page has no place for the configuration tables."""


def flavor_page(flavor_name: str) -> str:
    """A flavor's page, relative to the docs root (``docs/`` in the repository)."""
    return f"flavors/{flavor_name}.md"


def flavor_page_url(flavor_name: str) -> str | None:
    """The flavor's page under the distribution's ``Documentation`` project URL.

    The base is read from the installed metadata (``[project.urls]`` in
    pyproject.toml), so a fork that publishes its docs elsewhere edits one
    line. None when the distribution is not installed or names no such URL.
    """
    try:
        urls = metadata(DISTRIBUTION).get_all("Project-URL") or []
    except PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip() == DOCS_URL_LABEL:
            return f"{url.strip().rstrip('/')}/{flavor_page(flavor_name)}"
    return None


def config_tables(config_class: type[BaseModel]) -> str:
    """The config class's field table, then one table per nested model, in order of appearance."""
    sections = [_field_table(config_class)]
    for model in _nested_models(config_class):
        summary = inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
        sections.append(f"### `{model.__name__}`\n\n{summary}\n\n{_field_table(model)}")
    return "\n\n".join(sections)


def with_tables(text: str, tables: str, page: Path) -> str:
    """The page's text with the block between the markers replaced by ``tables``."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < start:
        raise FlavorPageError(
            f"{page} has no '{TABLE_START}' ... '{TABLE_END}' block: add the two lines where "
            "the configuration tables belong, then run the generator"
        )
    # Blank lines around the tables: a table right after an HTML comment may not render.
    return f"{text[: start + len(TABLE_START)]}\n\n{tables}\n\n{text[end:]}"


def shipped_flavors() -> list[Flavor]:
    """The flavors ``mlops-kit flavors register`` registers (their ``flavor.py`` modules only)."""
    from zenml_integrations.catalog import FLAVOR_SOURCES

    flavors: list[Flavor] = []
    for source in FLAVOR_SOURCES:
        module, _, name = source.rpartition(".")
        flavors.append(getattr(importlib.import_module(module), name)())
    return flavors


def expected_pages(docs_root: Path) -> dict[Path, str]:
    """Every shipped flavor's page and the text it should have."""
    pages = {}
    for flavor in shipped_flavors():
        page = docs_root / flavor_page(flavor.name)
        if not page.is_file():
            raise FlavorPageError(
                f"flavor {flavor.name!r} has no page: create {page} with a "
                f"'{TABLE_START}' / '{TABLE_END}' block"
            )
        pages[page] = with_tables(page.read_text(), config_tables(flavor.config_class), page)
    return pages


def stale_pages(docs_root: Path) -> list[Path]:
    """Pages whose tables differ from their config classes."""
    return [page for page, text in expected_pages(docs_root).items() if page.read_text() != text]


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or, with ``--check``, only compare) the flavor pages' configuration tables."""
    parser = argparse.ArgumentParser(
        prog="python -m zenml_integrations.flavor_docs",
        description="Write each flavor page's configuration tables from its config class.",
    )
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="docs folder (./docs)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        pages = expected_pages(args.docs)
    except FlavorPageError as error:
        parser.exit(2, f"error: {error}\n")
    stale = [page for page, text in pages.items() if page.read_text() != text]
    for page in stale:
        if args.check:
            print(f"stale: {page} (run `{GENERATE_COMMAND}`)")
        else:
            page.write_text(pages[page])
            print(f"rewrote {page}")
    return 1 if args.check and stale else 0


def _field_table(model: type[BaseModel]) -> str:
    rows = ["| field | type | default | description |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        cells = [f"`{name}`", _type_text(field), _default_text(field), field.description or ""]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type_text(field: FieldInfo) -> str:
    bounds = [
        f"{symbol} {getattr(item, attribute)}"
        for item in field.metadata
        for kind, attribute, symbol in _BOUNDS
        if isinstance(item, kind)
    ]
    patterns = [f"matching `{item.pattern}`" for item in field.metadata if hasattr(item, "pattern")]
    return ", ".join([_annotation_text(field.annotation), *bounds, *patterns])


def _annotation_text(annotation: Any) -> str:
    origin = get_origin(annotation)
    if annotation is type(None):
        return "None"
    if origin in (Union, types.UnionType):
        return " or ".join(_annotation_text(arg) for arg in get_args(annotation))
    if origin is Literal:
        return " / ".join(f"`{value}`" for value in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " / ".join(f"`{member.value}`" for member in annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[`{annotation.__name__}`](#{annotation.__name__.lower()})"
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_annotation_text(a) for a in get_args(annotation))}]"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def _default_text(field: FieldInfo) -> str:
    default = field.get_default(call_default_factory=True)
    if default is PydanticUndefined:
        return "required"
    if isinstance(default, BaseModel):
        return "its defaults"  # listed in the nested model's own table
    return f"`{json.dumps(to_jsonable_python(default), ensure_ascii=False)}`"


def _nested_models(config_class: type[BaseModel]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending = [config_class]
    while pending:
        for field in pending.pop(0).model_fields.values():
            for model in _models_in(field.annotation):
                if model is not config_class and model not in found:
                    found.append(model)
                    pending.append(model)
    return found


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in get_args(annotation):
        yield from _models_in(arg)


if __name__ == "__main__":
    raise SystemExit(main())
