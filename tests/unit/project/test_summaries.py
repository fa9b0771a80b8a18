"""Run summaries read typed step outputs (models, dataclasses, mappings) into what is printed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from zenml_integrations.onnx.rollout.config import Strategy
from zenml_integrations.project.summaries import (
    DeploymentSummary,
    FeaturesSummary,
    MonitoringSummary,
    RunSummary,
    TrainingSummary,
)
from zenml_integrations.rollout_outcome import RolloutOutcome
from zenml_integrations.workflows.deployment import DeploymentOutcome


def _artifact(value: Any) -> SimpleNamespace:
    return SimpleNamespace(load=lambda: value)


def _step(output: Any = None, status: str = "completed", **outputs: Any) -> SimpleNamespace:
    return SimpleNamespace(
        status=SimpleNamespace(value=status),
        output=_artifact(output),
        outputs={name: [_artifact(value)] for name, value in outputs.items()},
    )


def _run(status: str = "completed", **steps: SimpleNamespace) -> Any:
    return SimpleNamespace(name="training-run-1", status=SimpleNamespace(value=status), steps=steps)


class Verdict(BaseModel):  # the drift gate's own type, richer than what the summary shows
    passed: bool
    reason: str


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    semver: str
    newly_registered: bool
    artifact_location: str
    run_id: str


def test_given_a_full_training_run_when_summarised_then_every_gate_and_the_champion() -> None:
    run = _run(
        export_onnx=_step(onnx_parity={"max_abs_diff": 1.5e-7, "rows": 400, "passed": True}),
        drift_gate=_step(drift_verdict=Verdict(passed=True, reason="2 of 11 columns drifted")),
        register_model=_step(Registered("churn", "3", "1.2.0", True, "file:///m/3", "abc")),
        quality_gate=_step({"reason": "roc_auc 0.91 beats 0.90", "champion_after": "3"}),
    )

    summary = TrainingSummary.of(run)

    assert str(summary).splitlines() == [
        "run training-run-1: completed",
        "onnx parity: max |sklearn - onnx| = 1.50e-07 on 400 held-out rows (passed: True)",
        "drift gate (held-out vs training rows): 2 of 11 columns drifted",
        "registered: churn v3 (semver 1.2.0, new)",
        "onnx file: file:///m/3/model.onnx",
        "quality gate: roc_auc 0.91 beats 0.90",
        "champion: v3",
    ]
    assert summary.completed


def test_given_a_failed_step_when_summarised_then_only_completed_steps_show() -> None:
    run = _run(
        status="failed",
        historical_features=_step([1, 2, 3]),
        export_onnx=_step(status="failed", onnx_parity=None),
    )

    summary = TrainingSummary.of(run)

    assert str(summary).splitlines() == [
        "run training-run-1: failed",
        "features: 3 rows point-in-time from the feature store",
    ]
    assert not summary.completed


def test_given_a_deployment_when_summarised_then_version_outcome_and_endpoint() -> None:
    deployed = DeploymentOutcome(
        model_name="churn",
        version="2",
        semver="1.1.0",
        outcome=RolloutOutcome.PROMOTED,
        serving_version="2",
        strategy=Strategy.CANARY,
        prediction_url="http://127.0.0.1:40123/v2/models/churn/infer",
    )
    summary = DeploymentSummary.of(_run(deploy_model=_step(deployed)))
    assert str(summary).splitlines()[1:] == [
        "churn v2: promoted (canary)",
        "endpoint: http://127.0.0.1:40123/v2/models/churn/infer",
    ]
    unreported = deployed.model_copy(update={"prediction_url": None})
    assert str(DeploymentSummary.of(_run(deploy_model=_step(unreported)))).endswith(
        "endpoint: none reported by the deployer"
    )


@pytest.mark.parametrize(("retrain", "passed"), [(True, False), (False, True)])
def test_given_a_monitoring_outcome_when_summarised_then_verdict_columns_and_retrain(
    retrain: bool, passed: bool
) -> None:
    outcome = {
        "model_name": "churn",
        "version": "2",
        "drift_passed": passed,
        "reason": "share 0.45 > 0.3",
        "drifted_columns": ["age", "tenure_months"] if not passed else [],
        "retrain": retrain,
        "metrics_exported_to": [],
    }
    summary = MonitoringSummary.of(_run(publish_drift=_step(outcome)))
    lines = str(summary).splitlines()
    assert lines[1] == f"churn v2: drift gate {'passed' if passed else 'FAILED'} (share 0.45 > 0.3)"
    assert lines[2] == f"drifted features: {'none' if passed else 'age, tenure_months'}"
    assert lines[3] == "metrics: not exported"
    assert summary.retrain is retrain


def test_given_a_feature_publication_when_summarised_then_rows_path_and_load() -> None:
    end = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run = _run(
        export_feature_source=_step({"path": "/p/data/f.parquet", "rows": 60000, "x": 1}),
        materialize_features=_step(
            {"mode": "full", "end": end, "feature_views": ["customer_features"]}
        ),
    )
    assert str(FeaturesSummary.of(run)).splitlines()[1:] == [
        "feature source: 60000 rows -> /p/data/f.parquet",
        "online store: full load of customer_features up to 2026-01-02T03:04:05+00:00",
    ]


def test_given_an_output_without_a_shown_field_when_summarised_then_validation_names_it() -> None:
    run = _run(quality_gate=_step({"reason": "better"}))
    with pytest.raises(ValidationError, match="champion_after"):
        TrainingSummary.of(run)


def test_given_a_bare_summary_when_a_run_did_not_complete_then_one_line_and_not_completed() -> None:
    summary = RunSummary.of(_run(status="running"))
    assert str(summary) == "run training-run-1: running"
    assert not summary.completed
