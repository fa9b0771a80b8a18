"""The training pipeline on the local stack: gates, registry and lineage.

Each test builds a throwaway project (the repository's steps, pipelines and
stack recipe plus the template's run.py) and runs the real pipeline in a
subprocess against the test's own ZenML store.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from zenml_integrations.training.sample_data import generate_sample

from tests.integration.helpers import onnx_file, run_python

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE_CONFIG: dict[str, Any] = {
    "parameters": {
        "model_name": "churn",
        "source": {"kind": "sample", "sample_rows": 3000},
        "schema": {
            "problem_type": "binary_classification",
            "target_column": "churned",
            "entity_column": "customer_id",
            "timestamp_column": "event_timestamp",
        },
        "model": {"family": "linear"},
        "data_quality": {
            "name": "training_data",
            "expectations": [
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "churned"}},
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "age", "min_value": 18, "max_value": 100},
                },
            ],
        },
        "gate": {"metric": "roc_auc", "min_improvement": 0.0},
    }
}

REGISTRY_QUERY = """
import json
from mlflow import MlflowClient
from zenml.client import Client
client = MlflowClient(Client().active_stack.experiment_tracker.get_tracking_uri())
versions = client.search_model_versions("name = 'churn'")
def alias(name):
    try:
        return str(client.get_model_version_by_alias("churn", name).version)
    except Exception:
        return None
runs = Client().list_pipeline_runs(size=50, sort_by="asc:created").items
print(json.dumps({
    "versions": {str(v.version): dict(v.tags) for v in versions},
    "champion": alias("champion"),
    "challenger": alias("challenger"),
    "runs": [[str(r.id), r.status.value] for r in runs],
}))
"""


def _train(project: Path, config: dict[str, Any], *extra: str, succeed: bool = True) -> str:
    (project / "configs" / "training.yaml").write_text(yaml.safe_dump(config))
    completed = run_python("run.py", "train", *extra, cwd=project, expect_success=succeed)
    return completed.stdout + completed.stderr


def _registry(project: Path) -> dict[str, Any]:
    script = project / "registry_query.py"
    script.write_text(REGISTRY_QUERY)
    output = run_python(str(script), cwd=project).stdout.strip().splitlines()[-1]
    return json.loads(output)  # type: ignore[no-any-return]


def test_given_good_data_when_trained_then_champion_has_lineage_and_rerun_is_idempotent(
    project: Path,
) -> None:
    output = _train(project, BASE_CONFIG)
    assert "champion: v1" in output
    state = _registry(project)
    assert state["champion"] == state["challenger"] == "1"
    tags = state["versions"]["1"]
    run_id, status = state["runs"][-1]
    assert status == "completed"
    assert tags["zenml_run_id"] == run_id
    assert tags["semver"] == "1.0.0"
    assert tags["quality_gate"] == "promoted"
    assert float(tags["onnx_parity_max_abs_diff"]) <= 1e-4
    for frame in ("raw", "train", "test"):
        assert len(tags[f"data_sha256.{frame}"]) == 64
    onnx_path = onnx_file(output)
    assert hashlib.sha256(onnx_path.read_bytes()).hexdigest() == tags["onnx_sha256"]
    triton = onnx_path.parent / "triton" / "churn"
    assert (triton / "1" / "model.onnx").read_bytes() == onnx_path.read_bytes()
    assert 'platform: "onnxruntime_onnx"' in (triton / "config.pbtxt").read_text()

    rerun = _train(project, BASE_CONFIG)
    assert "identical model already registered" in rerun
    state = _registry(project)
    assert list(state["versions"]) == ["1"]
    assert state["champion"] == "1"


def test_given_a_worse_challenger_when_gated_then_champion_is_kept(project: Path) -> None:
    _train(project, BASE_CONFIG)
    worse = copy.deepcopy(BASE_CONFIG)
    worse["parameters"]["model"] = {
        "family": "random_forest",
        "params": {"n_estimators": 2, "max_depth": 1},
    }
    output = _train(project, worse)
    assert "champion kept" in output
    state = _registry(project)
    assert state["challenger"] == "2"
    assert state["champion"] == "1"
    assert state["versions"]["2"]["quality_gate"] == "rejected"
    assert state["versions"]["2"]["semver"] == "1.1.0"


def test_given_data_failing_the_suite_when_trained_then_run_stops_and_nothing_is_registered(
    project: Path,
) -> None:
    failing = copy.deepcopy(BASE_CONFIG)
    failing["parameters"]["data_quality"]["expectations"][1]["kwargs"]["max_value"] = 30
    output = _train(project, failing, succeed=False)
    assert "data quality gate 'training_data' failed" in output
    assert "expect_column_values_to_be_between on 'age'" in output
    state = _registry(project)
    assert state["versions"] == {}
    assert state["runs"][-1][1] == "failed"


def test_given_a_file_without_the_target_when_trained_then_error_names_the_column(
    project: Path, tmp_path: Path
) -> None:
    data = tmp_path / "customers.parquet"
    generate_sample(500).drop(columns=["churned"]).to_parquet(data)
    config = copy.deepcopy(BASE_CONFIG)
    config["parameters"]["source"] = {"kind": "file", "path": str(data)}
    output = _train(project, config, succeed=False)
    assert "the data has no target_column 'churned'" in output
    assert _registry(project)["versions"] == {}


def test_given_an_unknown_model_family_when_trained_then_refused_before_any_step(
    project: Path,
) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["parameters"]["model"] = {"family": "xgboost"}
    output = _train(project, config, succeed=False)
    assert "xgboost" in output
    assert "'linear', 'random_forest' or 'gradient_boosting'" in output
    assert _registry(project)["runs"] == []


def test_given_a_csv_source_when_trained_then_it_completes(project: Path, tmp_path: Path) -> None:
    data = tmp_path / "customers.csv"
    frame: pd.DataFrame = generate_sample(2500)
    frame.to_csv(data, index=False)
    config = copy.deepcopy(BASE_CONFIG)
    config["parameters"]["source"] = {"kind": "file", "path": str(data)}
    config["parameters"].pop("data_quality")
    assert "champion: v1" in _train(project, config)
