"""Flavor pages agree with their config classes, and each flavor's ``docs_url`` names its page."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from zenml_integrations.flavor_docs import (
    GENERATE_COMMAND,
    FlavorPageError,
    config_tables,
    flavor_page,
    main,
    shipped_flavors,
    stale_pages,
    with_tables,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_given_the_flavor_pages_when_compared_with_their_config_classes_then_all_agree() -> None:
    stale = [str(page.relative_to(ROOT)) for page in stale_pages(DOCS)]

    assert not stale, f"{stale} disagree with their config classes: run `{GENERATE_COMMAND}`"


def test_given_a_page_missing_a_row_when_checked_then_reported_and_the_generator_restores_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS / "flavors", docs / "flavors")
    page = docs / flavor_page("onnx")
    good = page.read_text()
    page.write_text("".join(line for line in good.splitlines(True) if "| `port` |" not in line))

    assert main(["--docs", str(docs), "--check"]) == 1
    assert f"stale: {page} (run `{GENERATE_COMMAND}`)" in capsys.readouterr().out
    assert main(["--docs", str(docs)]) == 0
    assert page.read_text() == good
    assert main(["--docs", str(docs), "--check"]) == 0


class _Limits(BaseModel):
    """Upper bounds.

    Not part of the summary.
    """

    rows: int = Field(default=2, ge=1, le=10, description="Rows per call.")


class _Settings(BaseModel):
    mode: Literal["fast", "safe"] = Field(default="fast", description="Which | how.")
    limits: _Limits | None = Field(default=None, description="Nested.")
    labels: dict[str, str] = Field(default_factory=lambda: {"cpu": "1"})
    version: str = Field(pattern=r"^1\.\d+$")


def test_given_a_config_with_a_nested_model_when_rendered_then_each_model_has_its_table() -> None:
    assert config_tables(_Settings) == (
        "| field | type | default | description |\n"
        "|---|---|---|---|\n"
        '| `mode` | `fast` / `safe` | `"fast"` | Which \\| how. |\n'
        "| `limits` | [`_Limits`](#_limits) or None | `null` | Nested. |\n"
        '| `labels` | dict[str, str] | `{"cpu": "1"}` |  |\n'
        "| `version` | str, matching `^1\\.\\d+$` | required |  |\n"
        "\n"
        "### `_Limits`\n"
        "\n"
        "Upper bounds.\n"
        "\n"
        "| field | type | default | description |\n"
        "|---|---|---|---|\n"
        "| `rows` | int, >= 1, <= 10 | `2` | Rows per call. |"
    )


def test_given_a_page_without_markers_when_tables_written_then_the_error_names_them() -> None:
    with pytest.raises(FlavorPageError, match="config-table:start"):
        with_tables("# A flavor\n", "| table |", Path("docs/flavors/a.md"))


def test_given_the_shipped_flavors_then_every_config_field_has_a_description() -> None:
    missing = [
        f"{flavor.config_class.__name__}.{name}"
        for flavor in shipped_flavors()
        for name, field in flavor.config_class.model_fields.items()
        if not field.description
    ]

    assert not missing, f"fields without Field(description=...): {missing}"


def test_given_the_shipped_flavors_when_docs_url_read_then_it_names_their_page() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    base = pyproject["project"]["urls"]["Documentation"].rstrip("/")

    for flavor in shipped_flavors():
        page = flavor_page(flavor.name)
        assert flavor.docs_url == f"{base}/{page}"
        assert (DOCS / page).is_file(), f"{flavor.name}'s docs_url names docs/{page}, missing"
