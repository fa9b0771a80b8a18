"""The training pipeline on the local stack: gates, registry and lineage.

Each test builds a throwaway project (the repository's steps, pipelines and
stack recipe plus the template's run.py) and runs the real pipeline in a
subprocess against the test's own ZenML store. Training from a CSV file (a user's
own table) runs end to end in tests/e2e/test_own_data_project.py.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import pytest
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.cli import onnx_file
from tests.helpers.pipeline_runs import TRAINING_CONFIG, train, training_registry

pytestmark = pytest.mark.slow


def test_given_good_data_when_trained_then_champion_has_lineage_and_rerun_is_idempotent(
    project: Path,
) -> None:
    output = train(project, TRAINING_CONFIG)
    assert "champion: v1" in output
    state = training_registry(project)
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

    rerun = train(project, TRAINING_CONFIG)
    assert "identical model already registered" in rerun
    state = training_registry(project)
    assert list(state["versions"]) == ["1"]
    assert state["champion"] == "1"


def test_given_a_worse_challenger_when_gated_then_champion_is_kept(project: Path) -> None:
    train(project, TRAINING_CONFIG)
    worse = copy.deepcopy(TRAINING_CONFIG)
    worse["parameters"]["model"] = {
        "family": "random_forest",
        "params": {"n_estimators": 2, "max_depth": 1},
    }
    output = train(project, worse)
    assert "champion kept" in output
    state = training_registry(project)
    assert state["challenger"] == "2"
    assert state["champion"] == "1"
    assert state["versions"]["2"]["quality_gate"] == "rejected"
    assert state["versions"]["2"]["semver"] == "1.1.0"


def test_given_data_failing_the_suite_when_trained_then_run_stops_and_nothing_is_registered(
    project: Path,
) -> None:
    failing = copy.deepcopy(TRAINING_CONFIG)
    failing["parameters"]["data_quality"]["expectations"][1]["kwargs"]["max_value"] = 30
    output = train(project, failing, succeed=False)
    assert "data quality gate 'training_data' failed" in output
    assert "expect_column_values_to_be_between on 'age'" in output
    state = training_registry(project)
    assert state["versions"] == {}
    assert state["runs"][-1][1] == "failed"


def test_given_a_file_without_the_target_when_trained_then_error_names_the_column(
    project: Path, tmp_path: Path
) -> None:
    data = tmp_path / "customers.parquet"
    generate_sample(500).drop(columns=["churned"]).to_parquet(data)
    config = copy.deepcopy(TRAINING_CONFIG)
    config["parameters"]["source"] = {"kind": "file", "path": str(data)}
    output = train(project, config, succeed=False)
    assert "the data has no target_column 'churned'" in output
    assert training_registry(project)["versions"] == {}


def test_given_an_unknown_model_family_when_trained_then_refused_before_any_step(
    project: Path,
) -> None:
    config = copy.deepcopy(TRAINING_CONFIG)
    config["parameters"]["model"] = {"family": "xgboost"}
    output = train(project, config, succeed=False)
    assert "xgboost" in output
    assert "'linear', 'random_forest' or 'gradient_boosting'" in output
    assert training_registry(project)["runs"] == []
