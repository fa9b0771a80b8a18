"""Each distinct set of answers is generated, installed and trained once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.generated_project import (
    MODEL,
    GeneratedProject,
    TrainedProject,
    kit_requirement,
)


@pytest.fixture(scope="session")
def default_project(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> TrainedProject:
    """The project ``make demo`` makes (default answers), trained on the bundled sample.

    Tests that change it (train, deploy, promote) run in their module's order and
    read versions from what they see, so each also passes alone.
    """
    project = GeneratedProject.generate(
        template_repo,
        tmp_path_factory.mktemp("default") / "churn-model",
        kit_requirement=kit_requirement("gx", "mlflow", "onnx", "evidently"),
    )
    output = project.make("train")
    return TrainedProject(project, output, project.registry(MODEL))
