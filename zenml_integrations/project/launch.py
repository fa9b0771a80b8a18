"""Launch a project's pipelines with configs/<pipeline>.yaml + configs/<env>.yaml.

A generated project's ``run.py`` declares its commands; what they share lives
here, so a fix reaches every project with a library upgrade: the layered run
config (with the recorded columns of ``configs/schema.yaml`` for training),
the launch, and a failed step turned into one line naming it and its error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from zenml_integrations.project.summaries import RetrainingSummary, RunSummary, TrainingSummary
from zenml_integrations.run_config import (
    deep_merge,
    load_layers,
    pipeline_run_config,
    write_run_config,
)

if TYPE_CHECKING:
    from zenml.models import PipelineRunResponse
    from zenml.pipelines.pipeline_definition import Pipeline

# `make` targets that run a scheduled pipeline, for the crontab lines of an unschedulable stack.
MAKE_TARGETS = {"monitoring": "monitor", "training": "train"}
# Pipelines whose config is a section of another pipeline's file: quality sits with monitoring.
CONFIG_SECTIONS = {"quality": "monitoring"}

Summary = TypeVar("Summary", bound=RunSummary)


class PipelineFailed(click.ClickException):
    """A step failed; the message is the step's own error on one line."""

    def show(self, file: Any = None) -> None:
        """Print the message alone: the step's logs above already say the rest."""
        click.secho(f"error: {self.message}", err=True, fg="red")


class Project:
    """A project's ``configs/`` folder, and its pipelines launched from it."""

    def __init__(self, configs: Path) -> None:
        """Read configurations from ``configs`` (the project's ``configs/`` folder)."""
        self.configs = configs

    def run_config(
        self, name: str, environment: str, overrides: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The merged run config; training's carries the columns of configs/schema.yaml.

        The first training run records those columns and says so.
        """
        # Imported here, as ZenML is: `run.py --help` need not load pandas.
        from zenml_integrations.training.schema_file import with_recorded_columns

        host = CONFIG_SECTIONS.get(name)
        if host is None:
            config = pipeline_run_config(self.configs, name, environment, overrides)
        else:
            config = section_run_config(self.configs, host, name, environment, overrides)
        config.pop("schedules", None)  # applied by `run.py schedule`, not a run setting
        for section in CONFIG_SECTIONS:  # another pipeline's config, not a run setting
            config.pop(section, None)
        if name == "training":
            config, recorded = with_recorded_columns(self.configs, config)
            if recorded:
                click.echo(recorded)
        return config

    def launch(
        self,
        pipeline: Pipeline,
        name: str,
        environment: str,
        overrides: dict[str, Any] | None = None,
        *,
        cache: bool = True,
    ) -> PipelineRunResponse:
        """Run ``pipeline`` with configs/<name>.yaml, configs/<environment>.yaml and overrides.

        ``cache=False`` re-runs every step even if its inputs are unchanged.

        Raises:
            PipelineFailed: naming the failed step and its error, when a step failed.
        """
        uncached = {} if cache else {"enable_cache": False}
        config = self.run_config(name, environment, deep_merge(overrides or {}, uncached))
        before = newest_run(pipeline.name)
        with write_run_config(config) as path:
            try:
                run = pipeline.with_options(config_path=str(path))()
            except Exception as error:
                failure = failed_steps(newest_run(pipeline.name), before)
                if failure is None:
                    raise
                raise PipelineFailed(failure) from error
        if run is None:  # an orchestrator that returns before the run exists
            raise click.ClickException(f"{pipeline.name} was submitted but returned no run")
        return run

    def watch(
        self,
        pipeline: Pipeline,
        name: str,
        summary: type[RetrainingSummary],
        environment: str,
        training: Pipeline | None,
    ) -> None:
        """Run a pipeline that watches the model, print its summary, retrain when it asks.

        ``training`` None only reports (``--no-retrain``).

        Raises:
            PipelineFailed: when a step of either run failed.
        """
        run = self.launch(pipeline, name, environment, cache=False)
        if report(summary.of(run)).retrain and training is not None:
            click.echo(f"{summary.retrain_reason}: starting the training pipeline")
            report(TrainingSummary.of(self.launch(training, "training", environment)))

    def record_columns(self, environment: str) -> str:
        """Record the training data's columns in configs/schema.yaml; the line to show."""
        from zenml_integrations.training.schema_file import record_columns

        config = pipeline_run_config(self.configs, "training", environment)
        return record_columns(self.configs, config["parameters"])

    def feature_parameters(self, environment: str, incremental: bool) -> dict[str, Any]:
        """The feature pipeline's overrides: the training table's source and dataset, the mode."""
        training = pipeline_run_config(self.configs, "training", environment)["parameters"]
        parameters = {key: training[key] for key in ("source", "dataset")}
        if incremental:
            parameters["mode"] = "incremental"
        return {"parameters": parameters}

    def schedule(self, environment: str, **pipelines: Pipeline) -> None:
        """Schedule each pipeline with its cron expression in configs/monitoring.yaml.

        On an orchestrator that runs no schedules, print the crontab lines instead.
        """
        schedules = load_layers(self.configs / "monitoring.yaml").get("schedules") or {}
        unscheduled = sorted(set(pipelines) - set(schedules))
        if unscheduled:
            raise click.ClickException(
                f"configs/monitoring.yaml: schedules has no cron expression for {unscheduled} "
                f"(it has {sorted(schedules)}); add one per scheduled pipeline"
            )
        from zenml.client import Client
        from zenml.config.schedule import Schedule

        orchestrator = Client().active_stack.orchestrator
        if not orchestrator.config.is_schedulable:
            click.echo(
                f"orchestrator {orchestrator.name!r} ({orchestrator.flavor}) cannot run "
                "schedules.\nAdd these lines to your crontab (crontab -e) instead:"
            )
            for name in pipelines:
                target = MAKE_TARGETS.get(name, name)  # a pipeline of yours: a target of its name
                click.echo(f"{schedules[name]} cd {Path.cwd()} && make {target}")
            return
        for name, pipeline in pipelines.items():
            cron = Schedule(name=f"{name}-{environment}", cron_expression=schedules[name])
            with write_run_config(self.run_config(name, environment)) as path:
                pipeline.with_options(config_path=str(path), schedule=cron)()
            click.echo(f"scheduled {name}: {schedules[name]}")


def section_run_config(
    configs: Path, host: str, name: str, environment: str, overrides: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``name:`` section of configs/<host>.yaml, layered like a pipeline's own file.

    Raises:
        click.ClickException: when the host file has no such section.
    """
    section = load_layers(configs / f"{host}.yaml").get(name)
    if not isinstance(section, dict):
        raise click.ClickException(
            f"configs/{host}.yaml has no '{name}:' section (got {section!r}); add one with "
            f"the {name} pipeline's parameters"
        )
    environment_layer = load_layers(configs / f"{environment}.yaml")
    per_pipeline = (environment_layer.pop("pipelines", None) or {}).get(name) or {}
    merged = deep_merge(deep_merge(section, environment_layer), per_pipeline)
    return deep_merge(merged, overrides or {})


def report(summary: Summary) -> Summary:
    """Print a run's summary; exit with status 1 when the run did not complete."""
    click.echo(str(summary))
    if not summary.completed:
        raise SystemExit(1)
    return summary


def sample_overrides(sample_rows: int | None) -> dict[str, Any]:
    """Training on a generated sample of ``sample_rows`` rows (None: the configured data).

    A sample is other data than the feature store holds: its own columns serve.
    """
    if sample_rows is None:
        return {}
    features = {"source": "table"}
    return {"parameters": {"source": {"sample_rows": sample_rows}, "features": features}}


def newest_run(pipeline_name: str) -> PipelineRunResponse | None:
    """The pipeline's most recent run, or None."""
    from zenml.client import Client

    runs = Client().list_pipeline_runs(pipeline_name=pipeline_name, sort_by="desc:created", size=1)
    return runs.items[0] if runs.items else None


def failed_steps(run: PipelineRunResponse | None, before: PipelineRunResponse | None) -> str | None:
    """The failed steps of ``run``, if newer than ``before``, each with its error, on one line."""
    if run is None or (before is not None and run.id == before.id):
        return None
    failures = []
    for name, step in run.steps.items():
        if step.status.value == "failed":
            info = step.exception_info
            failures.append(f"step {name} failed: {one_line(info.message if info else None)}")
    return f"run {run.name}: {'; '.join(failures)}" if failures else None


def one_line(message: str | None) -> str:
    """A message with its line breaks and runs of spaces folded."""
    return " ".join((message or "no message recorded").split())
