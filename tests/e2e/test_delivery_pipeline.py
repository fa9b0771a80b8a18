"""The generated GitLab pipeline, run by gitlab-ci-local in the trained default project.

The e2e tier installs and trains one default project per session; its
``.gitlab-ci.yml`` is rendered from the same template with ``ci_provider=gitlab``
and run there with gitlab-ci-local's shell executor (pinned in
tests/tools/gitlab-ci-local/). The checks (``make lint``, the project's tests with
their smoke training run, promtool) and the staging delivery job (a smoke training
run on ``configs/staging.yaml`` with the local stack, then ``make rollout``) pass,
and the production job is left waiting for its manual start.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers.generated_project import MODEL, GeneratedProject, TrainedProject
from tests.helpers.npm_tools import npm_tool
from tests.helpers.rendering import render

pytestmark = pytest.mark.slow

TOOL = Path(__file__).parents[1] / "tools" / "gitlab-ci-local"
# What a team sets as CI/CD variables, here mapping staging and production to the local stack.
VARIABLES = {"STAGING_STACK": "local", "PRODUCTION_STACK": "local", "TRAIN_TARGET": "smoke"}


def _gitlab_ci_local(
    project: GeneratedProject, *arguments: str
) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local in the project, with the project's environment (its uv and store)."""
    entry = npm_tool("gitlab-ci-local") / "gitlab-ci-local" / "dist" / "index.js"
    # The runner's uv cache: GitLab restores .uv-cache; here the machine's own cache serves.
    cache = subprocess.run([project.env["UV"], "cache", "dir"], capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    variables = [f"--variable={k}={v}" for k, v in (VARIABLES | {"UV_CACHE_DIR": cache}).items()]
    return subprocess.run(
        ["node", f"--import={TOOL / 'node20-set-union.mjs'}", str(entry), "--force-shell-executor",
         "--no-color", *variables, *arguments],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )  # fmt: skip


def test_given_its_gitlab_pipeline_when_run_then_checks_and_staging_pass_production_waits(
    default_project: TrainedProject, template_repo: Path, tmp_path: Path
) -> None:
    project = default_project.project
    rendered = render(template_repo, tmp_path / "gitlab", {"ci_provider": "gitlab"})
    added = [project.root / name for name in (".gitlab-ci.yml", ".git", ".gitlab-ci-local")]
    assert not any(path.exists() for path in added), "the shared project has CI state already"
    shutil.copy(rendered / ".gitlab-ci.yml", added[0])
    repository = (project.root / ".zen" / "config.yaml").read_bytes()
    try:
        project.shell("git init -q -b main")  # gitlab-ci-local lists the project's files with git
        listed = _gitlab_ci_local(project, "--list-json")
        run = _gitlab_ci_local(project)
    finally:
        project.stop_servers()
        added[0].unlink()
        for folder in added[1:]:
            shutil.rmtree(folder, ignore_errors=True)

    jobs = {job["name"]: job for job in json.loads(listed.stdout)}
    assert jobs["production"]["when"] == "manual"
    assert jobs["staging"]["when"] == "on_success"
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    for job in ("lint", "tests", "alert-rules", "staging"):
        assert f"PASS  {job}" in output, output[-6000:]
    assert not re.search(r"^production\s", output, re.M), "production ran without its start"
    # Staging: a smoke training run (2,000 rows, 400 held out) with its gates, then the rollout.
    assert re.search(r"^staging\s+> onnx parity: .* on 400 held-out rows", output, re.M)
    assert re.search(rf"^staging\s+> {MODEL} v\d+: (deployed|already_serving) \(", output, re.M)
    assert re.search(r"^staging\s+> rollout on staging: (deployed|already_serving)$", output, re.M)
    assert (project.root / ".zen" / "config.yaml").read_bytes() == repository, "a job changed .zen/"
