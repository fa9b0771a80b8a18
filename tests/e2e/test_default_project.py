"""The project ``make demo`` generates, installed against this checkout and trained once.

Training registers a champion with its lineage (its own checks run as its
GitLab pipeline in test_delivery_pipeline.py), drifted data is refused, and
the runbooks (docs/*.md) do what they promise on the served model: every
``# runbook: local`` block runs as one bash script (``set -euo pipefail``) in
the order an operator meets them, and the effect is
checked from outside (which version answers, what the registry's ``champion``
is, which admin token works). The tests share one trained project; they run in
this file's order and read version numbers from what they see, so each also
passes alone.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.generated_project import (
    FEATURES,
    MODEL,
    GeneratedProject,
    TrainedProject,
    shifted,
)
from tests.helpers.runbooks import RunbookBlock, runbook_blocks

pytestmark = pytest.mark.slow

# After a training run refused by the drift gate: the registry, and what the dashboard shows.
DRIFT_REFUSAL_QUERY = """
import json, sys
from mlflow import MlflowClient
from zenml.client import Client
zenml = Client()
mlflow = MlflowClient(zenml.active_stack.experiment_tracker.get_tracking_uri())
newest = max(mlflow.search_model_versions(f"name='{sys.argv[1]}'"), key=lambda v: int(v.version))
run = zenml.list_pipeline_runs(sort_by="desc:created", size=1).items[0]
report = run.steps["drift_gate"].outputs["drift_report"][0]
verdict = run.steps["drift_gate"].outputs["drift_verdict"][0].load()
html = str(report.load())
print(json.dumps({
    "champion": str(mlflow.get_model_version_by_alias(sys.argv[1], "champion").version),
    "newest_tags": dict(newest.tags),
    "status": run.status.value,
    "visualizations": [str(v.type) for v in report.visualizations or []],
    "html_bytes": len(html),
    "mentions": [c for c in ["monthly_charges", "age"] if c in html],
    "drifted": [c.column for c in verdict.drifted_columns],
    "step_metadata": run.steps["drift_gate"].run_metadata.get("drift_gate", {}),
}))
"""

# The Kubernetes recipe's variables, as an operator would export them before a dry run.
CLUSTER_PLACEHOLDERS = {
    "KUBERNETES_CONTEXT": "kind-runbook-test",
    "ARTIFACT_BUCKET": "mlops-artifacts",
    "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
    "CONTAINER_REGISTRY_URI": "127.0.0.1:5000/mlops",
    "MLFLOW_TRACKING_URI": "http://127.0.0.1:5001",
    "SERVING_IMAGE": "127.0.0.1:5000/mlops/churn-serving:1",
}


def test_given_the_bundled_sample_when_trained_then_v1_is_champion_with_its_lineage(
    default_project: TrainedProject,
) -> None:
    assert "champion: v1" in default_project.training_output
    assert "onnx parity: max |sklearn - onnx|" in default_project.training_output
    state = default_project.registry_after_training
    assert state["stack"] == "local"
    assert state["runs"] == ["completed"]
    assert state["champion"] == "1"
    assert state["champion_tags"]["data_rows.train"] == "48000"
    assert len(state["champion_tags"]["onnx_sha256"]) == 64


def test_given_drifted_newest_rows_when_trained_then_not_promoted_and_champion_kept(
    default_project: TrainedProject,
) -> None:
    project = default_project.project
    champion = project.registry(MODEL)["champion"]
    drifted = generate_sample(8_000, seed=3)
    newest = drifted["event_timestamp"] >= drifted["event_timestamp"].quantile(0.8)
    drifted.loc[newest] = shifted(drifted.loc[newest])
    drifted.to_parquet(project.root / "drifted.parquet")
    training_config = project.root / "configs" / "training.yaml"
    sample_config = training_config.read_text()
    training_config.write_text(
        sample_config.replace("kind: sample", "kind: file\n    path: drifted.parquet", 1)
    )
    try:
        refused = project.make("train", expect_success=False)
    finally:
        training_config.write_text(sample_config)
    assert "not promoted, the drift gate failed" in refused
    for column in ("monthly_charges", "days_since_last_login"):
        assert column in refused
    seen = json.loads(
        project.python("drift_refusal.py", DRIFT_REFUSAL_QUERY, MODEL).split("\n")[-2]
    )
    assert seen["champion"] == champion
    assert seen["newest_tags"]["quality_gate"] == "rejected"
    assert seen["newest_tags"]["quality_gate_reason"].startswith("drift_gate: ")
    # The dashboard shows why: the report is an HTML visualization, the step's
    # metadata names the drifted columns.
    assert seen["status"] == "failed"
    assert seen["visualizations"] == ["html"]
    assert seen["html_bytes"] > 10_000
    assert seen["mentions"] == ["monthly_charges", "age"]
    assert {"monthly_charges", "total_charges", "avg_session_minutes"} <= set(seen["drifted"])
    assert seen["step_metadata"]["passed"] is False


class Operator:
    """The generated project as an operator drives it through its runbooks."""

    def __init__(self, project: GeneratedProject) -> None:
        self.project = project
        self.blocks = runbook_blocks(project.root / "docs")
        self.ran: list[RunbookBlock] = []
        self.endpoint = ""
        self.token_file = Path()
        self.clock = time.monotonic()

    def runbook(self, name: str, index: int, **variables: str) -> str:
        """Run the ``index``-th shell block of docs/<name>.md, which must be a local one."""
        block = next(b for b in self.blocks if b.runbook == name and b.index == index)
        assert block.kind == "local", f"{name}[{index}] is a {block.kind} block"
        self.ran.append(block)
        return self.project.shell(block.script, **variables)

    def status(self) -> dict[str, str]:
        """``mlops-kit server status`` as ``{label: value}``; remembers the server's address."""
        output = self.project.shell(f"uv run mlops-kit server status {MODEL}")
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

    def send(self, rows: int, seed: int) -> None:
        """Serve ``rows`` drifted rows, 100 a request."""
        traffic = shifted(generate_sample(rows, seed=seed))[FEATURES]
        for start in range(0, len(traffic), 100):
            records = traffic.iloc[start : start + 100].to_dict(orient="records")
            answer = httpx.post(self.endpoint, json={"records": records}, timeout=10)
            assert answer.status_code == 200, answer.text

    def phase(self, name: str) -> None:
        """Print how long the last phase took (shown with -s or on failure)."""
        now = time.monotonic()
        print(f"[runbooks] {name}: {now - self.clock:.0f} s", flush=True)
        self.clock = now


def test_given_a_trained_champion_when_the_local_runbooks_run_then_each_has_its_effect(
    default_project: TrainedProject,
) -> None:
    operator = Operator(default_project.project)
    try:
        _walk_the_runbooks(operator, champion=default_project.project.registry(MODEL)["champion"])
    finally:
        default_project.project.stop_servers()
    local = {(b.runbook, b.index) for b in operator.blocks if b.kind == "local"}
    assert {(b.runbook, b.index) for b in operator.ran} == local, "a local block was not run"


def _walk_the_runbooks(operator: Operator, champion: str) -> None:
    # Deploy: a new server serves the champion and answers on its endpoint, echoing ids.
    assert f"{MODEL} v{champion}: deployed" in operator.runbook("deploy", 0)
    metadata = operator.runbook("deploy", 1).replace(" ", "")
    assert '"ready":true' in metadata
    assert f'"versions":["{champion}"]' in metadata
    operator.status()
    answer = httpx.post(
        operator.endpoint,
        json={"records": [dict.fromkeys(FEATURES, 1.0)], "id": "from-e2e"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == champion
    assert answer.json()["id"] == "from-e2e"
    assert operator.serving_versions() == {champion}
    operator.phase("deploy")

    # A drift alert: served traffic moved; the runbook's check says so without retraining
    # and exports the series.
    operator.send(2000, seed=11)
    drift = operator.runbook("drift-alert", 0)
    assert f"{MODEL} v{champion}: drift gate FAILED" in drift
    assert "monthly_charges" in drift
    assert f'model_drift_gate_passed{{model="{MODEL}",version="{champion}"}} 0.0' in drift
    exported = (operator.project.root / "monitoring" / "metrics" / "drift.prom").read_text()
    assert f'model_drift_gate_passed{{model="{MODEL}",version="{champion}"}} 0.0' in exported
    assert "starting the training pipeline" not in drift
    assert "drift persists" not in drift
    operator.phase("drift alert")

    # Drift that persists retrains: tests/integration/test_monitoring_pipeline.py.
    scheduled = operator.project.make("schedule")  # the local orchestrator runs no schedules
    assert "0 * * * * cd " in scheduled
    assert "0 3 * * 1 cd " in scheduled
    operator.phase("schedule")

    # A newer version, trained on a smaller sample: registered, not yet champion.
    smoke = operator.project.make("smoke")
    newer = re.search(rf"registered: {MODEL} v(\d+)", smoke)
    assert newer, smoke[-3000:]
    new = newer.group(1)
    operator.phase("second training run")

    # Promote by hand: champion alias to the new version, rollout, finish it now.
    rollout = operator.runbook("promote", 1, VERSION=new, REASON="runbook test: newer data")
    assert f"champion: v{new} (was v" in rollout
    assert f"{MODEL} v{new}: in_progress (canary)" in rollout
    assert f"challenger: v{new} (canary, 5% of traffic" in operator.runbook("promote", 0)
    assert operator.serving_versions() == {new}
    assert operator.admin_state().json()["previous_champion"] == champion
    operator.phase("promote")

    # Restore the first champion (not the warm rollback): registry, deploy, promote.
    restored = operator.runbook(
        "restore-model", 0, VERSION=champion, REASON="runbook test: restore"
    )
    assert f"champion: v{champion} (was v{new})" in restored
    assert f"{MODEL} v{champion}: in_progress" in restored
    assert f"promoted: v{champion} serves; v{new} stays warm" in restored
    assert operator.serving_versions() == {champion}
    operator.phase("restore")

    # Roll back by hand: the restore is reverted at once, then the registry follows.
    reason = "runbook test: restored version misbehaves"
    assert f"rolled back: v{new} serves" in operator.runbook("rollback", 0, REASON=reason)
    assert operator.serving_versions() == {new}
    recorded = operator.runbook("rollback", 1)
    assert f"{MODEL} v{champion}: rolled_back" in recorded
    versions = dict(re.findall(r"^\s+(\d+)\s+\S+\s+(.+)$", recorded, re.M))
    assert "champion" in versions[new].split()[0].split(","), recorded
    assert versions[champion].rstrip().endswith("rolled_back"), recorded
    operator.phase("rollback")

    # Rotate the admin token: the old one is refused, the new one works, the same version serves.
    old_token = operator.token_file.read_text().strip()
    rotated = operator.runbook("rotate-token", 0)
    assert f"server restarted, v{new} serves" in rotated
    operator.status()  # the restarted daemon may listen on another port
    new_token = operator.token_file.read_text().strip()
    assert new_token != old_token
    assert oct(operator.token_file.stat().st_mode & 0o777) == "0o600"
    assert operator.admin_state(old_token).status_code == 401
    assert operator.admin_state(new_token).status_code == 200
    assert f'"champion":"{new}"' in operator.runbook("rotate-token", 2).replace(" ", "")
    assert operator.serving_versions() == {new}
    operator.phase("rotate token")

    # Kubernetes: the recipe validates here with the variables set, and nothing changes.
    dry_run = operator.runbook("kubernetes", 0, **CLUSTER_PLACEHOLDERS)
    assert "dry run: nothing changed." in dry_run
    assert "unset environment variable" not in dry_run  # the placeholders resolved
    assert "secret value(s) to create before applying: minio_secret.access_key" in dry_run
    operator.status()  # the local stack is still the active one
    operator.phase("kubernetes dry run")


def test_given_a_new_user_when_they_use_zenml_and_the_readme_as_written_then_both_work(
    default_project: TrainedProject,
) -> None:
    """Plain ``uv run`` commands reach the project's store; ``zenml stack set`` survives
    ``make train``; the README's prediction requests, copied as written, are answered."""
    project = default_project.project
    as_typed = "unset ZENML_CONFIG_PATH\n"  # a new shell: only what the project itself sets
    readme = (project.root / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    tracking_uri = next(line for block in blocks for line in block.splitlines()
                        if line.startswith("uv run python -c"))  # fmt: skip
    assert str(project.root / ".zenml") in project.shell(as_typed + tracking_uri)

    project.shell(
        as_typed + "uv run zenml stack register second -o local_orchestrator "
        "-a local_artifact_store -e mlflow_tracker -dv drift_gate -d onnx_deployer --set"
    )
    try:
        trained = project.make("train")
        assert "Using stack: second" in re.sub(r"\x1b\[[0-9;]*m", "", trained)
        assert "stack apply" not in trained, "make train applied the recipe again"
    finally:
        project.shell(as_typed + "uv run zenml stack set local")

    requests = next(block for block in blocks if "ENDPOINT=" in block)
    project.make("deploy")
    try:
        answered = project.shell(as_typed + requests)
    finally:
        project.stop_servers()
    assert re.search(r'"id":\s*"r1"', answered), answered
    assert re.search(r'"model_version":\s*"\d+"', answered), answered
    assert '"inputs"' in answered, "no model metadata"
    assert "# TYPE" in answered, "no Prometheus metrics"
