"""The quality pipeline's config is a section of configs/monitoring.yaml; its summary."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from zenml_integrations.project.launch import Project
from zenml_integrations.project.summaries import QualitySummary

MONITORING = """
parameters: {model_name: churn}
extra: {health: {max_interval_hours: 3}}
quality:
  parameters: {model_name: churn, outcomes: {path: data/outcomes.csv}, window: {hours: 24}}
  extra: {health: {max_interval_hours: 48}}
schedules: {monitoring: '0 * * * *', quality: '30 4 * * *'}
"""


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "monitoring.yaml").write_text(MONITORING)
    (folder / "staging.yaml").write_text(
        "enable_cache: false\npipelines: {quality: {parameters: {window: {hours: 6}}}}\n"
    )
    return folder


def test_given_a_quality_section_then_it_is_the_quality_run_config_layered_like_a_file(
    configs: Path,
) -> None:
    project = Project(configs)

    quality = project.run_config("quality", "staging", {"parameters": {"kpis": {}}})
    monitoring = project.run_config("monitoring", "staging")

    assert quality == {
        "parameters": {"model_name": "churn", "outcomes": {"path": "data/outcomes.csv"},
                       "window": {"hours": 6}, "kpis": {}},
        "extra": {"health": {"max_interval_hours": 48}},
        "enable_cache": False,
    }  # fmt: skip
    assert "quality" not in monitoring
    assert monitoring["extra"] == {"health": {"max_interval_hours": 3}}


def test_given_no_quality_section_then_the_error_names_the_file_and_section(
    configs: Path,
) -> None:
    (configs / "monitoring.yaml").write_text("parameters: {model_name: churn}\n")

    with pytest.raises(click.ClickException, match=r"configs/monitoring\.yaml has no 'quality:'"):
        Project(configs).run_config("quality", "staging")


def test_given_a_degraded_challenger_then_the_summary_flags_it_and_asks_to_retrain() -> None:
    outcome = {
        "model_name": "churn", "retrain_metric": "roc_auc",
        "metric_by_version": {"1": 0.88, "2": 0.61}, "drop_by_version": {"1": 0.02, "2": 0.29},
        "labels_by_version": {"1": 420, "2": 380, "3": 0}, "degraded_versions": ["2"],
        "unknown_id": 7, "retrain": True, "metrics_exported_to": ["metrics/quality.prom"],
    }  # fmt: skip

    summary = QualitySummary.model_validate(
        {"run_name": "quality-1", "status": "completed", "outcome": outcome}
    )

    assert summary.retrain
    assert summary.lines()[1:] == [
        "churn v1: roc_auc 0.8800 on 420 labels, +0.0200 worse than at training",
        "churn v2: roc_auc 0.6100 on 380 labels, +0.2900 worse than at training DEGRADED",
        "churn v3: no score on 0 labels",
        "outcomes with an unknown request id: 7",
        "metrics: metrics/quality.prom",
    ]
