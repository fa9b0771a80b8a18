"""Run the generated project's runbooks (docs/*.md) against two trained model versions.

Every ``# runbook: local`` block runs as one bash script (``set -euo
pipefail``) in the project, in the order an operator would meet them, and
what the runbook promises is checked from outside: which version answers
predictions, what the registry's ``champion`` is, which admin token works.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import copier
import httpx
import pytest
from zenml_integrations.training.sample_data import generate_sample

from tests.e2e.test_generated_project import FEATURES, STOP_SERVERS, shifted
from tests.helpers.repo import REPO_ROOT
from tests.helpers.runbooks import RunbookBlock, runbook_blocks

pytestmark = pytest.mark.slow

MODEL = "churn_model"
# The Kubernetes recipe's variables, as an operator would export them before a dry run.
CLUSTER_PLACEHOLDERS = {
    "KUBERNETES_CONTEXT": "kind-runbook-test",
    "ARTIFACT_BUCKET": "mlops-artifacts",
    "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
    "CONTAINER_REGISTRY_URI": "127.0.0.1:5000/mlops",
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:5001",
    "SERVING_IMAGE": "127.0.0.1:5000/mlops/churn-serving:1",
}


class Project:
    """A generated project and the environment its commands run with."""

    def __init__(self, root: Path, uv: str) -> None:
        self.root = root
        self.env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"} | {
            "UV": uv,
            "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}",
            # The Makefile's own default; the suite's per-test config path would
            # otherwise win over it (`?=`).
            "ZENML_CONFIG_PATH": str(root / ".zenml"),
        }
        self.blocks = runbook_blocks(root / "docs")
        self.ran: list[RunbookBlock] = []
        self.endpoint = ""
        self.token_file = Path()
        self.clock = time.monotonic()

    def shell(self, script: str, **variables: str) -> str:
        """Run ``script`` with bash in the project; fail the test with its output if it fails."""
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.root,
            env=self.env | variables,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, f"{script}\n---\n{output[-6000:]}"
        return output

    def runbook(self, name: str, index: int, **variables: str) -> str:
        """Run the ``index``-th shell block of docs/<name>.md, which must be a local one."""
        block = next(b for b in self.blocks if b.runbook == name and b.index == index)
        assert block.kind == "local", f"{name}[{index}] is a {block.kind} block"
        self.ran.append(block)
        return self.shell(block.script, **variables)

    def status(self) -> dict[str, str]:
        """``mlops-kit server status`` as ``{label: value}``; remembers the server's address."""
        output = self.shell(f"uv run mlops-kit server status {MODEL}")
        status = dict(re.findall(r"^([a-z ()]+): (.+)$", output, re.M))
        self.endpoint = status["endpoint"]
        self.token_file = Path(status["admin token file"])
        return status

    def admin_state(self, token: str | None = None) -> httpx.Response:
        """``GET /admin/state`` with ``token`` (default: the one in the token file now)."""
        token = token or self.token_file.read_text().strip()
        return httpx.get(
            self.endpoint.split("/v2/")[0] + "/admin/state",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def serving_versions(self, requests: int = 20) -> set[str]:
        """The versions that answered ``requests`` predictions."""
        versions = set()
        for number in range(requests):
            answer = httpx.post(
                self.endpoint,
                json={"records": [dict.fromkeys(FEATURES, float(number))]},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            versions.add(answer.json()["model_version"])
        return versions

    def phase(self, name: str) -> None:
        """Print how long the last phase took (the suite's time budget is tight)."""
        now = time.monotonic()
        print(f"[runbooks] {name}: {now - self.clock:.0f} s", flush=True)
        self.clock = now


@pytest.fixture
def project(template_repo: Path, tmp_path: Path) -> Project:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to install generated projects: run the suite through `make test`"
    root = tmp_path / "churn-model"
    copier.run_copy(
        str(template_repo),
        str(root),
        data={"kit_requirement": f"zenml-mlops-kit[gx,mlflow,onnx,evidently] @ file://{REPO_ROOT}"},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )
    return Project(root, uv)


def test_given_two_trained_versions_when_local_runbook_blocks_run_then_each_has_its_effect(
    project: Project,
) -> None:
    # Given: v1 trained on a small sample is the champion.
    assert "champion: v1" in project.shell("make smoke")
    project.phase("project set-up and first training run")
    try:
        _walk_the_runbooks(project)
    finally:
        (project.root / "stop_servers.py").write_text(STOP_SERVERS)
        project.shell("uv run python stop_servers.py")
    local = {(b.runbook, b.index) for b in project.blocks if b.kind == "local"}
    assert {(b.runbook, b.index) for b in project.ran} == local, "a local block was not run"


def _walk_the_runbooks(project: Project) -> None:
    # Deploy: a new server serves v1 and answers on its endpoint.
    assert f"{MODEL} v1: deployed" in project.runbook("deploy", 0)
    metadata = project.runbook("deploy", 1).replace(" ", "")
    assert '"ready":true' in metadata
    assert '"versions":["1"]' in metadata
    project.status()
    assert project.serving_versions() == {"1"}
    project.phase("deploy")

    # A second version, trained on different data.
    registered = project.shell("uv run python run.py train --sample-rows 4000")
    assert f"registered: {MODEL} v2" in registered
    project.phase("second training run")

    # Promote by hand: champion alias to v2, rollout, finish it now.
    rollout = project.runbook("promote", 1, VERSION="2", REASON="runbook test: newer data")
    assert "champion: v2 (was v" in rollout
    assert f"{MODEL} v2: in_progress (canary)" in rollout
    assert "challenger: v2 (canary, 5% of traffic" in project.runbook("promote", 0)
    assert project.serving_versions() == {"2"}
    assert project.admin_state().json()["previous_champion"] == "1"
    project.phase("promote")

    # Restore v1 (not the warm rollback): registry, deploy, promote.
    restored = project.runbook("restore-model", 0, VERSION="1", REASON="runbook test: restore")
    assert "champion: v1 (was v2)" in restored
    assert f"{MODEL} v1: in_progress" in restored
    assert "promoted: v1 serves; v2 stays warm" in restored
    assert project.serving_versions() == {"1"}
    project.phase("restore")

    # Roll back by hand: the restore is reverted at once, then the registry follows.
    reason = "runbook test: restored version misbehaves"
    assert "rolled back: v2 serves" in project.runbook("rollback", 0, REASON=reason)
    assert project.serving_versions() == {"2"}
    recorded = project.runbook("rollback", 1)
    assert f"{MODEL} v1: rolled_back" in recorded
    versions = dict(re.findall(r"^\s+(\d+)\s+\S+\s+(.+)$", recorded, re.M))
    assert "champion" in versions["2"].split()[0].split(","), recorded
    assert versions["1"].rstrip().endswith("rolled_back"), recorded
    project.phase("rollback")

    # Rotate the admin token: the old one is refused, the new one works, v2 still serves.
    old_token = project.token_file.read_text().strip()
    rotated = project.runbook("rotate-token", 0)
    assert "server restarted, v2 serves" in rotated
    project.status()  # the restarted daemon may listen on another port
    new_token = project.token_file.read_text().strip()
    assert new_token != old_token
    assert oct(project.token_file.stat().st_mode & 0o777) == "0o600"
    assert project.admin_state(old_token).status_code == 401
    assert project.admin_state(new_token).status_code == 200
    assert '"champion":"2"' in project.runbook("rotate-token", 2).replace(" ", "")
    assert project.serving_versions() == {"2"}
    project.phase("rotate token")

    # A drift alert: served traffic moved; the runbook's check says so without retraining.
    traffic = shifted(generate_sample(600, seed=11))[FEATURES]
    for start in range(0, len(traffic), 100):
        records = traffic.iloc[start : start + 100].to_dict(orient="records")
        answer = httpx.post(project.endpoint, json={"records": records}, timeout=10)
        assert answer.status_code == 200, answer.text
    drift = project.runbook("drift-alert", 0)
    assert f"{MODEL} v2: drift gate FAILED" in drift
    assert "monthly_charges" in drift
    assert f'model_drift_gate_passed{{model="{MODEL}",version="2"}} 0.0' in drift
    assert "starting the training pipeline" not in drift
    project.phase("drift alert")

    # Kubernetes: the recipe validates here with the variables set, and nothing changes.
    dry_run = project.runbook("kubernetes", 0, **CLUSTER_PLACEHOLDERS)
    assert "dry run: nothing changed." in dry_run
    assert "unset environment variable" not in dry_run  # the placeholders resolved
    assert "secret value(s) to create before applying: minio_secret.access_key" in dry_run
    project.status()  # the local stack is still the active one
    project.phase("kubernetes dry run")
