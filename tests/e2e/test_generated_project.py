"""Generate a project, install it against this checkout, run its tests and its pipeline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import copier
import httpx
import pandas as pd
import pytest
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.repo import REPO_ROOT

pytestmark = pytest.mark.slow

REGISTRY_QUERY = """
import json
from mlflow import MlflowClient
from zenml.client import Client
zenml = Client()
mlflow = MlflowClient(zenml.active_stack.experiment_tracker.get_tracking_uri())
champion = mlflow.get_model_version_by_alias("churn_model", "champion")
print(json.dumps({
    "stack": zenml.active_stack_model.name,
    "runs": [r.status.value for r in zenml.list_pipeline_runs(size=50).items],
    "champion": str(champion.version),
    "champion_tags": dict(champion.tags),
}))
"""


STOP_SERVERS = """
from zenml.client import Client
deployer = Client().active_stack.model_deployer
for service in deployer.find_model_server():
    deployer.delete_model_server(service.uuid)
"""

FEATURES = [
    "tenure_months", "contract_months", "num_products", "monthly_charges", "total_charges",
    "discount_rate", "support_calls_90d", "payment_failures_90d", "days_since_last_login",
    "avg_session_minutes", "age",
]  # fmt: skip


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    assert found, "uv is needed to install generated projects: run the suite through `make test`"
    return found


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """Five of eleven features moved: past the local stack's tolerated drift share of 0.3."""
    moved = frame.copy()
    moved["monthly_charges"] *= 1.8
    moved["total_charges"] *= 1.8
    moved["days_since_last_login"] += 15
    moved["avg_session_minutes"] *= 0.5
    moved["support_calls_90d"] += 3
    return moved


def _make(project: Path, *targets: str, expect_success: bool = True) -> str:
    completed = subprocess.run(
        ["make", *targets, f"UV={_uv()}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert (completed.returncode == 0) is expect_success, output[-6000:]
    return output


def test_given_default_answers_when_generated_then_project_tests_and_training_pass(
    template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "churn-model"
    copier.run_copy(
        str(template_repo),
        str(project),
        data={"kit_requirement": f"zenml-mlops-kit[gx,mlflow,onnx,evidently] @ file://{REPO_ROOT}"},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        unsafe=False,
    )

    tests_output = _make(project, "test")
    assert " passed" in tests_output
    assert " failed" not in tests_output
    lint_output = _make(project, "lint")
    assert "All checks passed!" in lint_output
    assert "SUCCESS" in _make(project, "alerts-test")  # promtool on the generated rules

    train_output = _make(project, "train")
    assert "champion: v1" in train_output
    assert "onnx parity: max |sklearn - onnx|" in train_output

    (project / "registry_query.py").write_text(REGISTRY_QUERY)
    query = subprocess.run(
        [_uv(), "run", "python", "registry_query.py"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    state = json.loads(query.stdout.strip().splitlines()[-1])
    assert state["stack"] == "local"
    assert state["runs"] == ["completed"]
    assert state["champion"] == "1"
    assert state["champion_tags"]["data_rows.train"] == "48000"
    assert len(state["champion_tags"]["onnx_sha256"]) == 64

    # A run whose newest rows drifted is not promoted; the champion stays.
    drifted = generate_sample(20_000, seed=3)
    newest = drifted["event_timestamp"] >= drifted["event_timestamp"].quantile(0.8)
    drifted.loc[newest] = shifted(drifted.loc[newest])
    drifted.to_parquet(project / "drifted.parquet")
    training_config = project / "configs" / "training.yaml"
    sample_config = training_config.read_text()
    training_config.write_text(
        sample_config.replace("kind: sample", "kind: file\n    path: drifted.parquet", 1)
    )
    refused = _make(project, "train", expect_success=False)
    assert "not promoted, the drift gate failed" in refused
    training_config.write_text(sample_config)
    after_refusal = subprocess.run(
        [_uv(), "run", "python", "registry_query.py"], cwd=project, capture_output=True,
        text=True, timeout=300, check=True,
    )  # fmt: skip
    assert json.loads(after_refusal.stdout.strip().splitlines()[-1])["champion"] == "1"

    try:
        deploy_output = _make(project, "deploy")
        assert "churn_model v1: deployed" in deploy_output
        endpoint = next(
            line for line in deploy_output.splitlines() if line.startswith("endpoint: ")
        ).removeprefix("endpoint: ")
        answer = httpx.post(
            endpoint,
            json={"records": [dict.fromkeys(FEATURES, 1.0)], "id": "from-e2e"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"] == "1"
        assert answer.json()["id"] == "from-e2e"

        # Served traffic drifts: the first monitoring run reports it and exports
        # the series; the second finds it persisting and starts retraining.
        traffic = shifted(generate_sample(2000, seed=5))[FEATURES]
        for start in range(0, len(traffic), 100):
            records = traffic.iloc[start : start + 100].to_dict(orient="records")
            assert httpx.post(endpoint, json={"records": records}, timeout=10).status_code == 200
        first = _make(project, "monitor")
        assert "drift gate FAILED" in first
        assert "monthly_charges" in first
        exported = (project / "monitoring" / "metrics" / "drift.prom").read_text()
        assert 'model_drift_gate_passed{model="churn_model",version="1"} 0.0' in exported
        assert "drift persists" not in first
        second = _make(project, "monitor")
        assert "drift persists: starting the training pipeline" in second
        assert "champion: v1" in second  # same sample data: the retrained model is identical
        scheduled = _make(project, "schedule")  # the local orchestrator runs no schedules
        assert "0 * * * * cd " in scheduled
        assert "0 3 * * 1 cd " in scheduled
    finally:
        (project / "stop_servers.py").write_text(STOP_SERVERS)
        subprocess.run(
            [_uv(), "run", "python", "stop_servers.py"], cwd=project, timeout=300, check=True
        )
