"""Render the template over a matrix of answers and check the output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from zenml_integrations.great_expectations.suite import DataQualitySuite
from zenml_integrations.training.dataset import DatasetSchema, DataSource
from zenml_integrations.training.models import ModelSpec

from tests.helpers.rendering import render

COMMON_FILES = {
    ".copier-answers.yml",
    ".gitignore",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "run.py",
    "serving/Dockerfile",
    "serving/onnx_seldon_model.py",
    "serving/requirements.in",
    "serving/requirements.txt",
    "serving/tabular.py",
    "serving/metric_names.py",
    "configs/training.yaml",
    "configs/deployment.yaml",
    "configs/monitoring.yaml",
    "configs/local.yaml",
    "configs/staging.yaml",
    "configs/production.yaml",
    "docs/README.md",
    "docs/delivery.md",
    "docs/deploy.md",
    "docs/drift-alert.md",
    "docs/kubernetes.md",
    "docs/promote.md",
    "docs/restore-model.md",
    "docs/rollback.md",
    "docs/rotate-token.md",
    "monitoring/README.md",
    "monitoring/grafana/model-serving.json",
    "monitoring/prometheus/alerts.yml",
    "monitoring/prometheus/alerts_test.yml",
    "monitoring/prometheus/prometheus.yml",
    "pipelines/__init__.py",
    "pipelines/training.py",
    "pipelines/deployment.py",
    "pipelines/monitoring.py",
    "pipelines/quality.py",
    "stacks/aws.yaml",
    "stacks/azure.yaml",
    "stacks/gcp.yaml",
    "stacks/kubernetes.yaml",
    "stacks/local.yaml",
    "steps/__init__.py",
    "steps/data.py",
    "steps/data_quality.py",
    "steps/deployment.py",
    "steps/drift.py",
    "steps/monitoring.py",
    "steps/onnx_export.py",
    "steps/quality.py",
    "steps/registry.py",
    "steps/training.py",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_configs.py",
    "tests/test_training_smoke.py",
}

MATRIX: dict[str, tuple[dict[str, Any], set[str]]] = {
    "defaults": (
        {},
        {
            f".github/workflows/{name}.yml"
            for name in ("ci", "delivery", "run-in-environment", "scheduled")
        },
    ),
    "regression-linear-gitlab-no-gx": (
        {
            "project_name": "Spend Forecast",
            "problem_type": "regression",
            "model_family": "linear",
            "ci_provider": "gitlab",
            "enable_gx": False,
        },
        {".gitlab-ci.yml"},
    ),
    "own-csv-gradient-boosting-py312-no-ci": (
        {
            "project_name": "Fraud",
            "package_name": "fraud_detector",
            "python_version": "3.12",
            "model_family": "gradient_boosting",
            "data_source": "file",
            "data_path": "data/transactions.csv",
            "target_column": "is_fraud",
            "entity_column": "account_id",
            "timestamp_column": "created_at",
            "ci_provider": "none",
        },
        set(),
    ),
}


def files_of(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_given_answers_when_rendered_then_exact_files_and_valid_contents(
    case: str, template_repo: Path, tmp_path: Path
) -> None:
    answers, ci_files = MATRIX[case]
    project = render(template_repo, tmp_path / "project", answers)

    assert files_of(project) == COMMON_FILES | ci_files
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            relative = path.relative_to(project)
            if relative.parts[0] in {"monitoring", "stacks"}:
                # Copied verbatim: Prometheus and Grafana templates ({{ $labels.model }}) and
                # ZenML secret references in recipes ({{ mlflow_secret.password }}) intact.
                source = template_repo / "template" / relative
                assert text == source.read_text(encoding="utf-8"), path
            else:
                # GitHub Actions expressions (${{ matrix.python }}) are the workflow's own.
                assert "{{" not in text.replace("${{", ""), path
                assert "{%" not in text, path
            assert not path.is_symlink(), f"{path} must be a copy, not a link into the template"
            if path.suffix in {".yaml", ".yml"}:
                yaml.safe_load(text)

    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    ci = "\n".join((project / name).read_text() for name in ci_files)
    assert ci.count("make test") == min(len(ci_files), 1), "CI runs the tests (smoke included)"
    assert "make smoke" not in ci, "CI would train the smoke sample a second time"

    parameters = yaml.safe_load((project / "configs" / "training.yaml").read_text())["parameters"]
    schema = DatasetSchema.model_validate(parameters["dataset"])
    DataSource.model_validate(parameters["source"])
    assert ModelSpec.model_validate(parameters["model"]).family == answers.get(
        "model_family", "random_forest"
    )
    if answers.get("enable_gx", True):
        suite = DataQualitySuite.model_validate(parameters["data_quality"])
        assert {"column": schema.target_column} in [e.kwargs for e in suite.expectations]
    else:
        assert "data_quality" not in parameters
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["_commit"] == "v0.1.0"
    for key, value in answers.items():
        assert recorded[key] == value


def test_given_file_source_when_rendered_then_columns_flow_into_config(
    template_repo: Path, tmp_path: Path
) -> None:
    answers = MATRIX["own-csv-gradient-boosting-py312-no-ci"][0]
    project = render(template_repo, tmp_path / "project", answers)
    parameters = yaml.safe_load((project / "configs" / "training.yaml").read_text())["parameters"]
    assert parameters["source"] == {"kind": "file", "path": "data/transactions.csv"}
    assert parameters["dataset"]["target_column"] == "is_fraud"
    assert parameters["dataset"]["entity_column"] == "account_id"
    assert parameters["model_name"] == "fraud_detector"
    assert 'requires-python = ">=3.12,<3.14"' in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"package_name": "Bad-Name"}, "package_name must be lowercase"),
        ({"package_name": "steps"}, "would shadow a module"),
        ({"project_name": "   "}, "project_name must not be empty"),
        ({"data_source": "file", "data_path": "data.txt"}, "must name a .parquet or .csv file"),
        (
            {"data_source": "file", "data_path": "d.csv", "entity_column": "churned"},
            "entity_column must differ from target_column",
        ),
        ({"problem_type": "multiclass"}, "multiclass"),
    ],
)
def test_given_an_invalid_answer_when_copied_then_refused_and_nothing_written(
    answers: dict[str, Any], message: str, template_repo: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError, match=message):
        render(template_repo, destination, answers)
    assert not destination.exists() or not any(destination.iterdir())
