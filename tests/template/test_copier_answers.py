"""copier.yml's answers: names that would shadow a module and data files that are not there
are refused before anything is written; a data file still to come is announced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import copier
import pytest

from tests.helpers.rendering import render
from tests.helpers.reserved_names import (
    RESERVED_NAMES_FILE,
    listed_reserved_names,
    required_reserved_names,
)

OWN_FILE = {
    "data_source": "file",
    "target_column": "is_fraud",
    "entity_column": "account_id",
    "timestamp_column": "created_at",
}


def test_given_the_stdlib_and_the_locked_packages_then_the_validator_lists_every_name() -> None:
    missing = sorted(required_reserved_names() - listed_reserved_names())
    assert not missing, (
        f"{RESERVED_NAMES_FILE.name} lacks {missing[:20]}: regenerate it with "
        "`uv run python -m tests.helpers.reserved_names > copier_data/reserved_package_names.txt`"
    )


@pytest.mark.parametrize("name", ["pandas", "json", "numpy", "sklearn", "scikit_learn", "yaml"])
def test_given_a_package_name_that_shadows_a_module_when_copied_then_refused_saying_why(
    name: str, template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=f"package_name '{name}' is the name of a Python"):
        render(template_repo, destination, {"package_name": name})
    assert not destination.exists() or not any(destination.iterdir())


def test_given_an_absolute_data_path_that_is_not_a_file_when_copied_then_refused_saying_how(
    template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "project"
    missing = tmp_path / "exports" / "loans.csv"
    with pytest.raises(ValueError, match=f"data_path '{missing}' is not a file: give the path"):
        render(template_repo, destination, {**OWN_FILE, "data_path": str(missing)})
    assert not destination.exists() or not any(destination.iterdir())


def test_given_an_absolute_data_path_to_a_file_when_copied_then_the_config_reads_it(
    template_repo: Path, tmp_path: Path
) -> None:
    table = tmp_path / "loans.csv"
    table.write_text("account_id,created_at,is_fraud\n1,2024-01-01,0\n")
    project = render(template_repo, tmp_path / "project", {**OWN_FILE, "data_path": str(table)})
    assert f"path: {table}" in (project / "configs" / "training.yaml").read_text()


@pytest.mark.parametrize(("present", "announced"), [(False, True), (True, False)])
def test_given_a_relative_data_path_when_copied_then_a_missing_file_is_announced_with_where(
    present: bool,
    announced: bool,
    template_repo: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    destination = tmp_path / "project"
    if present:  # copied into an existing folder that already holds the table
        (destination / "data").mkdir(parents=True)
        (destination / "data" / "loans.csv").write_text("account_id\n1\n")
    answers: dict[str, Any] = {**OWN_FILE, "data_path": "data/loans.csv"}
    copier.run_copy(str(template_repo), str(destination), data=answers, defaults=True,
                    vcs_ref="HEAD", quiet=False, unsafe=False)  # fmt: skip
    printed = capfd.readouterr()
    message = f"Before `make train`: put your table at {destination}/data/loans.csv"
    assert (message in printed.out + printed.err) is announced
