"""A generated project's command line as a library; the project's ``run.py`` declares commands.

``Project`` launches a pipeline with its layered configs and prints the
run's summary, read from typed step outputs; every command of a
``ProjectGroup`` takes ``--env``; ``run_cli`` ends every failure with one
line. Cheap to import: ZenML loads when a command runs.
"""

from zenml_integrations.project.cli import (
    PipelineCommand,
    ProjectGroup,
    no_cache_option,
    no_retrain_option,
    run_cli,
    sample_rows_option,
)
from zenml_integrations.project.launch import PipelineFailed, Project, report, sample_overrides
from zenml_integrations.project.summaries import (
    DeploymentSummary,
    FeaturesSummary,
    MonitoringSummary,
    QualitySummary,
    RetrainingSummary,
    RunSummary,
    TrainingSummary,
)

__all__ = [
    "DeploymentSummary",
    "FeaturesSummary",
    "MonitoringSummary",
    "PipelineCommand",
    "PipelineFailed",
    "Project",
    "ProjectGroup",
    "QualitySummary",
    "RetrainingSummary",
    "RunSummary",
    "TrainingSummary",
    "no_cache_option",
    "no_retrain_option",
    "report",
    "run_cli",
    "sample_overrides",
    "sample_rows_option",
]
