"""The project's configuration files are valid before any pipeline runs."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from zenml.config.pipeline_run_configuration import PipelineRunConfiguration
from zenml_integrations.run_config import load_layers
from zenml_integrations.stack_recipes import load_recipe

from pipelines.monitoring import monitoring_pipeline
from pipelines.quality import quality_pipeline
from pipelines.training import training_pipeline

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ["local", "staging", "production"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_given_each_environment_when_layered_then_zenml_accepts_the_run_config(
    environment: str,
) -> None:
    config = load_layers(
        PROJECT_ROOT / "configs" / "training.yaml",
        PROJECT_ROOT / "configs" / f"{environment}.yaml",
    )
    run_config = PipelineRunConfiguration.model_validate(config)
    assert run_config.parameters is not None
    assert run_config.parameters["model_name"]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_given_training_parameters_then_they_validate_against_the_pipeline_signature(
    environment: str,
) -> None:
    parameters = load_layers(
        PROJECT_ROOT / "configs" / "training.yaml",
        PROJECT_ROOT / "configs" / f"{environment}.yaml",
    )["parameters"]
    validate_parameters(training_pipeline.entrypoint, parameters)


def test_given_the_stack_recipes_then_each_parses() -> None:
    recipes = sorted((PROJECT_ROOT / "stacks").glob("*.yaml"))
    assert recipes, "the project ships no stack recipe"
    for recipe in recipes:
        # Remote recipes name their buckets and clusters through ${VAR}s that
        # are set where the stack is applied, not where the tests run.
        assert load_recipe(recipe, allow_unresolved=True).components


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_given_the_monitoring_config_then_zenml_accepts_it_and_schedules_are_cron(
    environment: str,
) -> None:
    config = load_layers(
        PROJECT_ROOT / "configs" / "monitoring.yaml",
        PROJECT_ROOT / "configs" / f"{environment}.yaml",
    )
    schedules = config.pop("schedules")
    quality = config.pop("quality")  # the quality pipeline's run config (`run.py quality`)
    assert set(schedules) == {"monitoring", "quality", "training"}
    assert all(len(cron.split()) == 5 for cron in schedules.values()), schedules
    PipelineRunConfiguration.model_validate(config)
    validate_parameters(monitoring_pipeline.entrypoint, config["parameters"])
    PipelineRunConfiguration.model_validate(quality)
    validate_parameters(quality_pipeline.entrypoint, quality["parameters"])


def validate_parameters(entrypoint: Callable[..., object], parameters: dict[str, Any]) -> None:
    """Every configured parameter exists, and pydantic-typed ones validate."""
    unknown = set(parameters) - set(inspect.signature(entrypoint).parameters)
    assert not unknown, f"configs name parameters the pipeline does not take: {unknown}"
    hints = typing.get_type_hints(entrypoint)
    for name, value in parameters.items():
        TypeAdapter(hints[name]).validate_python(value)
