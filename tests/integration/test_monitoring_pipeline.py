"""Drift gates on the local stack: a drifted training run is not promoted; served drift retrains."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.cli import run_python
from tests.helpers.pipeline_runs import (
    SERVERS_QUERY,
    TRAINING_CONFIG,
    deploy,
    served_endpoint,
    train,
    training_registry,
)

pytestmark = pytest.mark.slow

# Five of eleven features move: past the stack's tolerated share of 0.3.
SHIFTS = {
    "monthly_charges": lambda column: column * 1.8,
    "total_charges": lambda column: column * 1.8,
    "days_since_last_login": lambda column: column + 15,
    "avg_session_minutes": lambda column: column * 0.5,
    "support_calls_90d": lambda column: column + 3,
}
NOT_INPUTS = ["customer_id", "event_timestamp", "churned"]


REPORT_QUERY = """
import json
from zenml.client import Client
from zenml.enums import ExecutionStatus
run = Client().list_pipeline_runs(sort_by="desc:created", size=1).items[0]
report = run.steps["drift_gate"].outputs["drift_report"][0]
verdict = run.steps["drift_gate"].outputs["drift_verdict"][0].load()
html = str(report.load())
print("REPORT " + json.dumps({
    "status": run.status.value,
    "visualizations": [str(v.type) for v in report.visualizations or []],
    "html_bytes": len(html),
    "mentions": [c for c in ["monthly_charges", "age"] if c in html],
    "drifted": [c.column for c in verdict.drifted_columns],
    "step_metadata": run.steps["drift_gate"].run_metadata.get("drift_gate", {}),
}))
"""


def _latest_drift_report(project: Path) -> dict[str, Any]:
    (project / "report_query.py").write_text(REPORT_QUERY)
    output = run_python("report_query.py", cwd=project).stdout
    return json.loads(next(line for line in output.splitlines() if line.startswith("REPORT "))[7:])  # type: ignore[no-any-return]


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    moved = frame.copy()
    for column, shift in SHIFTS.items():
        moved[column] = shift(moved[column])
    return moved


def test_given_newest_rows_drifted_when_trained_then_not_promoted_and_champion_kept(
    project: Path, tmp_path: Path
) -> None:
    assert "champion: v1" in train(project, TRAINING_CONFIG)
    frame = generate_sample(3000, seed=7)
    newest = frame["event_timestamp"] >= frame["event_timestamp"].quantile(0.8)
    frame.loc[newest] = shifted(frame.loc[newest])
    data = tmp_path / "drifted.parquet"
    frame.to_parquet(data)
    config = copy.deepcopy(TRAINING_CONFIG)
    config["parameters"]["source"] = {"kind": "file", "path": str(data)}

    output = train(project, config, succeed=False)

    assert "not promoted, the drift gate failed" in output, output[-3000:]
    for column in SHIFTS:
        assert column in output
    registry = training_registry(project)
    assert registry["champion"] == "1"
    rejected = registry["versions"]["2"]
    assert rejected["quality_gate"] == "rejected"
    assert rejected["quality_gate_reason"].startswith("drift_gate: ")

    # The dashboard shows why: the report is an HTML visualization, the step's
    # metadata names the drifted columns.
    report = _latest_drift_report(project)
    assert report["status"] == "failed"
    assert report["visualizations"] == ["html"]
    assert report["html_bytes"] > 10_000
    assert report["mentions"] == ["monthly_charges", "age"]
    assert set(SHIFTS) <= set(report["drifted"])
    assert report["step_metadata"]["passed"] is False


def _serve(endpoint: str, frame: pd.DataFrame) -> None:
    rows = frame.drop(columns=NOT_INPUTS).to_numpy(np.float32)
    with httpx.Client(timeout=10) as client:
        for start in range(0, len(rows), 50):
            batch = rows[start : start + 50]
            tensor = {"name": "input", "shape": list(batch.shape), "datatype": "FP32"}
            answer = client.post(
                endpoint, json={"inputs": [{**tensor, "data": batch.ravel().tolist()}]}
            )
            assert answer.status_code == 200, answer.text


def _monitor(project: Path, **parameters: Any) -> str:
    config = {
        "parameters": {
            "model_name": "churn",
            "window": {"hours": 1, "min_rows": 300},
            "export": {"textfile": "metrics/drift.prom"},
            **parameters,
        }
    }
    (project / "configs" / "monitoring.yaml").write_text(yaml.safe_dump(config))
    completed = run_python("run.py", "monitor", cwd=project)
    return completed.stdout + completed.stderr


def test_given_served_traffic_when_it_drifts_for_two_runs_then_metrics_say_so_and_training_starts(
    project: Path,
) -> None:
    train(project, TRAINING_CONFIG)
    try:
        endpoint = served_endpoint(deploy(project))
        # Straight after deploy (the README's order): one line says what is missing.
        (project / "configs" / "monitoring.yaml").write_text(
            yaml.safe_dump({"parameters": {"model_name": "churn", "window": {"min_rows": 300}}})
        )
        early = run_python("run.py", "monitor", cwd=project, expect_success=False)
        last_line = (early.stdout + early.stderr).strip().splitlines()[-1]
        assert early.returncode == 1
        assert last_line.startswith("error: run monitoring_pipeline-"), last_line
        for part in ("step load_served_traffic failed: not enough served traffic yet",
                     "0 rows of churn", "300 needed", "parameters.window.min_rows"):  # fmt: skip
            assert part in last_line, last_line
        assert "Traceback" not in early.stdout + early.stderr
        _serve(endpoint, generate_sample(600, seed=11))
        calm = _monitor(project)
        assert "drift gate passed" in calm, calm[-3000:]
        assert "drift persists" not in calm

        _serve(endpoint, shifted(generate_sample(3000, seed=12)))
        first = _monitor(project)
        assert "drift gate FAILED" in first, first[-3000:]
        assert "drift persists" not in first, "one drifted window must not retrain yet"
        series = {
            (sample.name, sample.labels.get("feature")): sample.value
            for family in text_string_to_metric_families(
                (project / "metrics" / "drift.prom").read_text()
            )
            for sample in family.samples
        }
        assert series[("model_drift_gate_passed", None)] == 0
        for column in SHIFTS:
            assert series[("model_drift_detected", column)] == 1
        assert series[("model_drift_detected", "age")] == 0

        second = _monitor(project)
        assert "drift persists: starting the training pipeline" in second, second[-3000:]
        assert "registered: churn v" in second
    finally:
        (project / "cleanup.py").write_text(SERVERS_QUERY)
        run_python("cleanup.py", cwd=project)
