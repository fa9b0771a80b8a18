"""The feature steps on a real local_feast stack: publish, load, read the training frame back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import REPO_ROOT, mlops_kit, run_python
from tests.helpers.rendering import render

pytestmark = pytest.mark.slow

pytest.importorskip("feast")

ACTIONS = str(REPO_ROOT / "tests" / "helpers" / "feature_steps_actions.py")


def test_given_a_feast_project_when_steps_publish_then_training_frame_is_the_table_in_its_order(
    template_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render(template_repo, tmp_path / "project", {"enable_feast": True})
    monkeypatch.setenv("FEAST_REPO_PATH", str(project / "feature_repo"))
    assert "stack 'local_feast' applied and active." in mlops_kit(
        "stack", "apply", "stacks/local_feast.yaml", cwd=project
    )

    output = run_python(ACTIONS, "3000", cwd=project).stdout.strip().splitlines()[-1]
    report = json.loads(output)

    assert "feature service 'churn_model' is not registered" in report["retrieve_before_publishing"]
    assert "run `make features` first" in report["retrieve_before_publishing"]
    assert "must be a path inside the feature repository" in report["export_outside_repo"]
    assert not (project / "outside.parquet").exists()
    exported = Path(report["exported"]["path"])
    assert exported == project / "feature_repo" / "data" / "customer_features.parquet"
    assert report["exported"]["rows"] == 3000
    assert report["views"] == ["customer_features"]
    assert "never materialized" in report["incremental_first"]
    assert "run `make features` (a full load) first" in report["incremental_first"]
    assert (report["full"], report["incremental_after_full"]) == ("full", "incremental")
    assert report["columns"] == ["customer_id", "event_timestamp", "churned", *report["features"]]
    assert report["same_index"]
    assert report["same_target"]
    assert report["same_timestamps"]
    assert report["max_abs_difference"] == 0.0
