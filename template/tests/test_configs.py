"""The project's configuration files are valid before any pipeline runs."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from zenml.config.pipeline_run_configuration import PipelineRunConfiguration
from zenml_integrations.run_config import load_layers
from zenml_integrations.stack_recipes import load_recipe

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
    signature = inspect.signature(training_pipeline.entrypoint)
    unknown = set(parameters) - set(signature.parameters)
    assert not unknown, f"configs name parameters the pipeline does not take: {unknown}"
    for name, value in parameters.items():
        annotation = signature.parameters[name].annotation
        model_class = getattr(annotation, "model_validate", None)
        if model_class is not None:
            model_class(value)


def test_given_the_stack_recipes_then_each_parses() -> None:
    recipes = sorted((PROJECT_ROOT / "stacks").glob("*.yaml"))
    assert recipes, "the project ships no stack recipe"
    for recipe in recipes:
        assert load_recipe(recipe).components
