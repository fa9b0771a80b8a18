"""The `enable_feast` answer: a feature repository, configs and targets fitting the data answers."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from pydantic import TypeAdapter
from zenml_integrations.feast.flavor import FeastFeatureStoreConfig
from zenml_integrations.feast.store import FeastFeatureStore, clear_feature_store_cache
from zenml_integrations.onnx.server.config import FeatureLookupConfig
from zenml_integrations.stack_recipes import load_recipe
from zenml_integrations.training.features import TrainingFeatures
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.rendering import render
from tests.helpers.repo import REPO_ROOT

FEAST_FILES = {
    "configs/features.yaml",
    "pipelines/features.py",
    "stacks/local_feast.yaml",
    "steps/features.py",
    "feature_repo/entities.py",
    "feature_repo/feature_services.py",
    "feature_repo/feature_store.yaml",
    "feature_repo/feature_views.py",
}
OWN_FILE_ANSWERS: dict[str, Any] = {
    "project_name": "Fraud",
    "package_name": "fraud_detector",
    "data_source": "file",
    "data_path": "data/transactions.parquet",
    "target_column": "is_fraud",
    "entity_column": "account_id",
    "timestamp_column": "created_at",
    "enable_feast": True,
}


def parameters(project: Path, config: str) -> dict[str, Any]:
    return yaml.safe_load((project / "configs" / f"{config}.yaml").read_text())["parameters"]


def apply_repo(project: Path, source: pd.DataFrame) -> FeastFeatureStore:
    """Export ``source`` where configs/features.yaml says; apply feature_repo/ with our flavor."""
    repo = project / "feature_repo"
    target = repo / parameters(project, "features")["feature_source"]
    target.parent.mkdir(parents=True)
    source.to_parquet(target, index=False)
    store = FeastFeatureStore.standalone(FeastFeatureStoreConfig(repo_path=str(repo)))
    store.apply()
    return store


@pytest.fixture(autouse=True)
def fresh_feast_cache() -> Any:
    yield
    clear_feature_store_cache()


def test_given_feast_disabled_when_rendered_then_no_feast_files_settings_or_targets(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "project", {})

    rendered = {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()}
    assert not rendered & FEAST_FILES
    assert not (project / "feature_repo").exists()
    code = [project / "run.py", project / "Makefile", *project.glob("steps/*.py"),
            *project.glob("pipelines/*.py")]  # fmt: skip
    assert [path.name for path in code if "feast" in path.read_text().lower()] == []
    assert "def features(" not in (project / "run.py").read_text()
    assert "features" not in parameters(project, "training")
    assert "feature_lookup" not in parameters(project, "deployment")
    makefile = (project / "Makefile").read_text()
    assert "STACK ?= local\n" in makefile
    assert "FEAST_REPO_PATH" not in makefile
    assert "\nfeatures:" not in makefile
    assert "zenml-mlops-kit[gx,mlflow,onnx,evidently]" in (project / "pyproject.toml").read_text()


@pytest.fixture(scope="module")
def materialize_pipeline() -> Iterator[Any]:
    """The repository's materialize pipeline. Its hooks are resolved when it is defined,
    against ZenML's source root: the repository, since under xdist the main module has no
    file to find it by (and a clean checkout has no ``.zen``)."""
    from zenml.utils import source_utils

    source_utils.set_custom_source_root(str(REPO_ROOT))
    try:
        from pipelines.features import materialize_pipeline as pipeline

        yield pipeline
    finally:
        source_utils.set_custom_source_root(None)


def test_given_feast_and_the_sample_when_rendered_then_repo_applies_with_the_sample_features(
    template_repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    materialize_pipeline: Any,
) -> None:
    project = render(template_repo, tmp_path / "project", {"enable_feast": True})

    rendered = {str(path.relative_to(project)) for path in project.rglob("*") if path.is_file()}
    assert rendered >= FEAST_FILES
    training = parameters(project, "training")
    assert TrainingFeatures.model_validate(training["features"]) == TrainingFeatures(
        source="feast", feature_service="churn_model"
    )
    # What `run.py features` passes the materialize pipeline: configs/features.yaml + the
    # training table's source and schema.
    published = {
        **parameters(project, "features"),
        **{k: training[k] for k in ("source", "dataset")},
    }
    hints = typing.get_type_hints(materialize_pipeline.entrypoint)
    assert set(published) <= set(inspect.signature(materialize_pipeline.entrypoint).parameters)
    for name, value in published.items():
        TypeAdapter(hints[name]).validate_python(value)
    lookup = FeatureLookupConfig.model_validate(parameters(project, "deployment")["feature_lookup"])
    assert lookup.entity_column == "customer_id"
    assert lookup.options == {"feature_service": "churn_model", "repo_path": "feature_repo"}
    makefile = (project / "Makefile").read_text()
    assert "STACK ?= local_feast\n" in makefile
    assert "export FEAST_REPO_PATH ?= $(CURDIR)/feature_repo\n" in makefile
    assert "\nfeatures: | $(READY) ##" in makefile
    assert "\nmaterialize: | $(READY) ##" in makefile
    assert "evidently,feast]" in (project / "pyproject.toml").read_text()
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(project)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert lint.returncode == 0, lint.stdout + lint.stderr

    # Applied from another working directory, the service lists the sample's features in the
    # order the table has them, so the model's inputs keep the non-Feast order.
    monkeypatch.chdir(tmp_path)
    sample = generate_sample(200)
    store = apply_repo(project, sample.drop(columns=["churned"]))
    [service] = store.get_feature_services()
    assert service.name == "churn_model"
    expected = [c for c in sample.columns if c not in ("customer_id", "event_timestamp", "churned")]
    assert [f.name for f in service.feature_view_projections[0].features] == expected
    assert (project / "feature_repo" / "data" / "registry.db").is_file()
    assert (project / "feature_repo" / "data" / "online_store.db").is_file()


def test_given_feast_and_own_columns_when_rendered_then_keys_timestamp_and_inferred_features_fit(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "project", OWN_FILE_ANSWERS)

    assert parameters(project, "features")["feature_source"] == "data/account_features.parquet"
    assert parameters(project, "deployment")["feature_lookup"]["entity_column"] == "account_id"
    table = pd.DataFrame(
        {
            "account_id": ["a-1", "a-2", "a-3"],
            "created_at": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True),
            "amount": [10.0, 25.5, 3.0],
            "merchant_risk": [0.1, 0.7, 0.2],
        }
    )
    store = apply_repo(project, table)

    assert store.get_entities() == ["account"]
    assert store.get_feature_views() == ["account_features"]
    [service] = store.get_feature_services()
    assert service.name == "fraud_detector"
    features = [f.name for f in store.feature_store.get_feature_view("account_features").features]
    assert sorted(features) == ["amount", "merchant_risk"]


def test_given_the_feast_recipe_then_it_is_the_local_stack_plus_a_feast_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FEAST_REPO_PATH", str(tmp_path / "feature_repo"))
    local = load_recipe(REPO_ROOT / "stacks" / "local.yaml")
    feast = load_recipe(REPO_ROOT / "stacks" / "local_feast.yaml")

    assert {k: v for k, v in feast.components.items() if k != "feature_store"} == local.components
    store = feast.components["feature_store"]
    assert store.flavor == "feast_store"
    assert FeastFeatureStoreConfig(**store.configuration).repo_path == os.environ["FEAST_REPO_PATH"]
