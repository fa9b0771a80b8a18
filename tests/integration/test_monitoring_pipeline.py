"""Served drift on the local stack: metrics say so, and drift that persists retrains.

A drifted training run refused by the gate is checked on the generated project
(tests/e2e/test_default_project.py).
"""

from __future__ import annotations

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
from tests.helpers.generated_project import shifted
from tests.helpers.pipeline_runs import (
    SERVERS_QUERY,
    TRAINING_CONFIG,
    deploy,
    served_endpoint,
    train,
)

pytestmark = pytest.mark.slow

# The columns tests.helpers.generated_project.shifted moves.
SHIFTED = [
    "monthly_charges", "total_charges", "days_since_last_login", "avg_session_minutes",
    "support_calls_90d",
]  # fmt: skip
NOT_INPUTS = ["customer_id", "event_timestamp", "churned"]


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
        # Undrifted traffic passes the gate: tests/e2e/test_own_data_project.py.
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
        for column in SHIFTED:
            assert series[("model_drift_detected", column)] == 1
        assert series[("model_drift_detected", "age")] == 0

        second = _monitor(project)
        assert "drift persists: starting the training pipeline" in second, second[-3000:]
        assert "registered: churn v" in second
    finally:
        (project / "cleanup.py").write_text(SERVERS_QUERY)
        run_python("cleanup.py", cwd=project)
