"""``copier update`` between two tags of this repository keeps the user's edits."""

from __future__ import annotations

import shutil
from pathlib import Path

import copier
import yaml

from tests.helpers.repo import git


def test_given_a_project_at_v1_when_updated_to_v2_then_template_changes_merge_with_user_edits(
    template_repo: Path, tmp_path: Path
) -> None:
    source = tmp_path / "kit"
    shutil.copytree(template_repo, source, symlinks=True)
    project = tmp_path / "project"
    copier.run_copy(
        str(source), str(project), defaults=True, vcs_ref="v0.1.0", quiet=True, unsafe=False
    )
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated at v0.1.0")

    # The user tunes the model; the template ships a new staging setting and step docs.
    training = project / "configs" / "training.yaml"
    training.write_text(training.read_text().replace("params: {}", "params: {n_estimators: 300}"))
    git(project, "commit", "-q", "-am", "tune the forest")
    staging = source / "template" / "configs" / "staging.yaml"
    staging.write_text(staging.read_text() + "enable_step_logs: true\n")
    step = source / "steps" / "data.py"
    step.write_text(
        step.read_text().replace('"""Load, check and split', '"""Load, validate and split')
    )
    git(source, "commit", "-q", "-am", "template v0.2.0")
    git(source, "tag", "v0.2.0")

    copier.run_update(
        str(project), defaults=True, overwrite=True, vcs_ref="v0.2.0", quiet=True, unsafe=False
    )

    assert yaml.safe_load((project / "configs" / "staging.yaml").read_text())["enable_step_logs"]
    assert "Load, validate and split" in (project / "steps" / "data.py").read_text()
    tuned = yaml.safe_load(training.read_text())["parameters"]["model"]["params"]
    assert tuned == {"n_estimators": 300}
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v0.2.0"
    leftovers = [p for p in project.rglob("*") if p.suffix == ".rej" or p.name.endswith(".orig")]
    assert leftovers == []
    assert "<<<<<<<" not in training.read_text()
