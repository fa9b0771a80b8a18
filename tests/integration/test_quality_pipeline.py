"""Model quality end to end on the local stack: serve two versions, label part of the traffic late.

The real ONNX server (in this process, on 127.0.0.1) serves a champion and a
challenger side by side; outcomes arrive for part of the traffic, some late,
some twice, some for ids never served. ``run.py quality`` then runs the real
quality pipeline on the local ZenML stack with MLflow as the registry.

Why not in the generated project (tests/e2e): there a second version means a
second training run and a canary deployment through the daemon, minutes on
this machine; the pipeline, steps, run.py command and config section here are
the same files a generated project gets.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sklearn.metrics import roc_auc_score

from tests.helpers.cli import run_python
from tests.helpers.onnx_models import FEATURES, logistic_model
from tests.helpers.onnx_server import WEIGHTS, start_server, stop_server

pytestmark = pytest.mark.slow

TRAINED_AUC = 0.9
# The champion's true outcomes follow its predictions; the challenger's contradict them.
AGREES = {"1": True, "2": False}

# Registers both versions with training metrics, runs `run.py quality`, reads the report back.
DRIVER = """
import json, re, sys
from mlflow import MlflowClient
from zenml.client import Client
from zenml_integrations.run_config import RunConfigError

zenml = Client()
mlflow = MlflowClient(zenml.active_stack.experiment_tracker.get_tracking_uri())
mlflow.create_registered_model("churn")
for _ in range(2):
    tags = {"metric.roc_auc": sys.argv[1], "metric.accuracy": "0.8", "metric.f1": "0.8",
            "metric.log_loss": "0.4"}
    mlflow.create_model_version("churn", source=sys.argv[2], tags=tags)

from run import cli
try:
    cli.main(["quality"], standalone_mode=False)
except RunConfigError as error:  # this project has no training config: retraining stops there
    print(f"retraining refused: {error}")
run = zenml.list_pipeline_runs(pipeline_name="quality_pipeline", size=1).items[0]
report = run.steps["assess_model_quality"].outputs["quality_report"][0]
html = str(report.load())
print("REPORT " + json.dumps({
    "status": run.status.value,
    "visualizations": [str(v.type) for v in report.visualizations or []],
    "html_bytes": len(html),
    "facts": re.findall(r"<h[12]>[^<]*</h[12]><p>[^<]*</p>(?:<p>[^<]*</p>)?", html),
}))
"""


def _serve(url: str) -> list[dict[str, Any]]:
    """300 one-row requests (a third without an id: the server assigns one) and 10 of 3 rows.

    Returns one record per served row: id, row, version and class-1 probability.
    """
    rng = np.random.default_rng(7)
    served = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for number in range(310):
            rows = 3 if number >= 300 else 1
            data = rng.normal(size=(rows, len(FEATURES))).round(3)
            tensor = {"name": "input", "shape": list(data.shape), "datatype": "FP32"}
            body: dict[str, Any] = {"inputs": [{**tensor, "data": data.ravel().tolist()}]}
            if number % 3:
                body["id"] = f"req-{number}"
            answer = client.post("/v2/models/churn/infer", json=body)
            assert answer.status_code == 200, answer.text
            result = answer.json()
            probabilities = next(o for o in result["outputs"] if o["name"] == "probabilities")
            for row in range(rows):
                served.append({"id": result["id"], "row": row, "version": result["model_version"],
                               "p": probabilities["data"][2 * row + 1]})  # fmt: skip
    return served


def _outcomes(served: list[dict[str, Any]], now: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Outcomes for 80 % of the rows, 5 % late, 15 % none; 10 duplicates, 7 unknown ids.

    Returns the file's rows and the direct computation of what the run must report.
    """
    rng = np.random.default_rng(8)
    rows: list[tuple[str, int, float, int]] = []
    expected: dict[str, Any] = {"matched": Counter(), "late": Counter(), "duplicate": Counter()}
    scored: dict[str, tuple[list[int], list[float]]] = {"1": ([], []), "2": ([], [])}
    for index, record in enumerate(served):
        fate = rng.random()
        if fate >= 0.85:
            continue  # missing
        predicted = int(record["p"] > 0.5)
        label = predicted if AGREES[record["version"]] == (rng.random() < 0.9) else 1 - predicted
        late = fate >= 0.80
        rows.append((record["id"], record["row"], now + 7200 if late else now - 1, label))
        if late:
            expected["late"][record["version"]] += 1
            continue
        expected["matched"][record["version"]] += 1
        scored[record["version"]][0].append(label)
        scored[record["version"]][1].append(record["p"])
        if index % 25 == 0:  # a second outcome, later and contradicting: counted, not scored
            rows.append((record["id"], record["row"], now, 1 - label))
            expected["duplicate"][record["version"]] += 1
    rows += [(f"ghost-{k}", 0, now - 1, 1) for k in range(7)]
    expected["auc"] = {version: roc_auc_score(*pair) for version, pair in scored.items()}
    frame = pd.DataFrame(rows, columns=["request_id", "row", "event_time", "label"])
    return frame, expected


def _quality_config(project: Path, log_dir: Path, outcomes: Path) -> None:
    section = {
        "parameters": {
            "model_name": "churn",
            "outcomes": {"path": str(outcomes), "row_column": "row"},
            "window": {
                "hours": 1,
                "max_label_delay_hours": 1,
                "min_labels": 50,
                "log_dir": str(log_dir),
            },
            "retrain": {"metric": "roc_auc", "max_drop": 0.2},
            "export": {"textfile": "metrics/quality.prom"},
        }
    }
    monitoring = {"parameters": {"model_name": "churn"}, "quality": section}
    (project / "configs" / "monitoring.yaml").write_text(yaml.safe_dump(monitoring))


def test_given_late_duplicate_and_unknown_labels_when_quality_runs_then_a_worse_challenger_retrains(
    project: Path, tmp_path: Path
) -> None:
    server = start_server(tmp_path / "server", logistic_model(WEIGHTS))
    try:
        challenger = server.write_model("v2", logistic_model([-w for w in WEIGHTS], 0.1))
        never_judged = {"window_seconds": 600, "min_requests": 1_000_000}
        rollout = {"strategy": "canary", "steps": [0.5, 1.0], "policy": never_judged}
        deployed = server.admin("deploy", {"version": "2", "path": str(challenger),
                                           "rollout": rollout})  # fmt: skip
        assert deployed.status_code == 200, deployed.text
        served = _serve(server.url)
    finally:
        stop_server(server)  # flushes the inference logs
    assert {record["version"] for record in served} == {"1", "2"}
    outcomes, expected = _outcomes(served, now=time.time())
    outcomes.to_csv(tmp_path / "outcomes.csv", index=False)
    _quality_config(project, server.log_dir, tmp_path / "outcomes.csv")
    (project / "driver.py").write_text(DRIVER)

    completed = run_python("driver.py", str(TRAINED_AUC), str(server.model_dir), cwd=project)

    output = completed.stdout + completed.stderr
    assert "quality dropped past retrain.max_drop: starting the training pipeline" in output
    assert "retraining refused: configuration file" in output  # it was started, and stopped
    series = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(
            (project / "metrics" / "quality.prom").read_text()
        )
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return series[(name, tuple(sorted({"model": "churn", **labels}.items())))]

    rows = Counter(record["version"] for record in served)
    for version, auc in expected["auc"].items():
        assert value("model_quality_metric", version=version, metric="roc_auc") == pytest.approx(
            auc, abs=1e-9
        )
        assert value("model_quality_drop", version=version, metric="roc_auc") == pytest.approx(
            TRAINED_AUC - auc, abs=1e-9
        )
        for state in ("matched", "late", "duplicate"):
            assert (
                value("model_quality_labels", version=version, state=state)
                == (expected[state][version])
            ), state
        missing = rows[version] - expected["matched"][version] - expected["late"][version]
        assert value("model_quality_labels", version=version, state="missing") == missing
        assert f"churn v{version}: roc_auc {auc:.4f} on {expected['matched'][version]} labels" in (
            output
        )
    assert value("model_quality_below_threshold", version="1", metric="roc_auc") == 0
    assert value("model_quality_below_threshold", version="2", metric="roc_auc") == 1
    assert value("model_quality_unmatched_labels", reason="unknown_id") == 7
    assert value("model_quality_retrain") == 1
    assert "DEGRADED" in output.split("churn v2:")[1].splitlines()[0]

    report = json.loads(output.split("REPORT ", 1)[1].splitlines()[0])
    assert report["status"] == "completed"
    assert report["visualizations"] == ["html"]
    assert report["html_bytes"] > 100_000  # Evidently's report of each version, not just a header
    header, first, second = report["facts"]
    assert "7 with an unknown id" in header
    for section, (version, auc) in zip(
        (first, second), sorted(expected["auc"].items()), strict=True
    ):
        assert section.startswith(f"<h2>version {version}</h2>")
        assert f"roc_auc: {auc:.4f} in production, {TRAINED_AUC:.4f} at training" in section
    assert "RETRAIN" in second
