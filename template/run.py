"""Run this project's pipelines on the active ZenML stack.

    python run.py train --env local            # configs/training.yaml + configs/local.yaml
    python run.py train --env staging --no-cache
    python run.py train --sample-rows 2000     # a quick smoke run
    python run.py schema                       # record the data's columns in configs/schema.yaml
    python run.py features                     # Feast: export, apply, load the online store
    python run.py features --incremental       # Feast: load only what arrived since last time
    python run.py deploy                       # serve the registry's champion
    python run.py monitor                      # drift check on served traffic, retrain if it lasts
    python run.py schedule                     # apply configs/monitoring.yaml's schedules

The same command runs on any stack; only `zenml stack set` (or
`make stack STACK=...`) changes where the steps execute.

A failed run ends with one line: the step that failed and its message (what
was seen, what to change). ZENML_LOGGING_VERBOSITY=DEBUG keeps the tracebacks.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

# Noise from libraries, not from this project: silenced here, before they load.
# Python 3.12's sqlite3, used by SQLAlchemy and MLflow for the local stores.
warnings.filterwarnings(
    "ignore", message=r"The default (date|datetime|timestamp) (adapter|converter)"
)
# scipy's tests divide by empty bins of a category that one frame lacks.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.stats")

import click  # noqa: E402
import yaml  # noqa: E402
from zenml_integrations.run_config import pipeline_run_config, write_run_config  # noqa: E402
from zenml_integrations.training.schema_file import (  # noqa: E402
    record_columns,
    with_recorded_columns,
)

CONFIGS = Path(__file__).parent / "configs"
ENVIRONMENTS = ("local", "staging", "production")


@click.group()
def cli() -> None:
    """Project pipelines."""


@cli.command()
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default="local", show_default=True
)
@click.option(
    "--no-cache", is_flag=True, help="Re-run every step even if its inputs are unchanged."
)
@click.option(
    "--sample-rows",
    type=click.IntRange(min=100),
    help="Train on a sample of this size, with its own feature columns (no feature store).",
)
def train(environment: str, no_cache: bool, sample_rows: int | None) -> None:
    """Train, gate and register a model; promote it only if it beats the champion."""
    from pipelines.training import training_pipeline

    overrides: dict[str, Any] = {}
    if sample_rows is not None:
        # A smaller sample is other data than the feature store holds: its own columns serve.
        overrides["parameters"] = {
            "source": {"sample_rows": sample_rows},
            "features": {"source": "table"},
        }
    if no_cache:
        overrides["enable_cache"] = False
    run = launch(training_pipeline, "training", environment, overrides)
    click.echo(describe(run))
    if run.status.value != "completed":
        raise SystemExit(1)


@cli.command()
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default="local", show_default=True
)
def schema(environment: str) -> None:
    """Record the training data's columns in configs/schema.yaml; review it, then commit it.

    The first training run records them by itself; run this after an intended
    change of the data's columns, which training otherwise refuses.
    """
    config = pipeline_run_config(CONFIGS, "training", environment, {})
    click.echo(record_columns(CONFIGS, config["parameters"]))


@cli.command()
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default="local", show_default=True
)
@click.option("--incremental", is_flag=True, help="Load only values newer than the last load.")
def features(environment: str, incremental: bool) -> None:
    """Publish the training table's features to Feast (configs/features.yaml)."""
    from pipelines.features import materialize_pipeline

    if not (CONFIGS / "features.yaml").is_file():
        raise click.ClickException(
            "configs/features.yaml does not exist: this project was generated without Feast "
            "(regenerate it with enable_feast=true)"
        )
    training = pipeline_run_config(CONFIGS, "training", environment, {})["parameters"]
    parameters: dict[str, Any] = {"source": training["source"], "dataset": training["dataset"]}
    if incremental:
        parameters["mode"] = "incremental"
    run = launch(materialize_pipeline, "features", environment, {"parameters": parameters})
    if run.status.value != "completed":
        click.echo(f"run {run.name}: {run.status.value}")
        raise SystemExit(1)
    exported = run.steps["export_feature_source"].output.load()
    loaded = run.steps["materialize_features"].output.load()
    click.echo(
        f"run {run.name}: completed\n"
        f"feature source: {exported['rows']} rows -> {exported['path']}\n"
        f"online store: {loaded['mode']} load of {loaded['feature_views']} up to {loaded['end']}"
    )


@cli.command()
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default="local", show_default=True
)
def deploy(environment: str) -> None:
    """Serve the registry's champion with the stack's model deployer."""
    from pipelines.deployment import deployment_pipeline

    run = launch(deployment_pipeline, "deployment", environment, {"enable_cache": False})
    if run.status.value != "completed":
        click.echo(f"run {run.name}: {run.status.value}")
        raise SystemExit(1)
    deployment = run.steps["deploy_model"].output.load()
    click.echo(
        f"run {run.name}: completed\n"
        f"{deployment['model_name']} v{deployment['version']}: {deployment['outcome']} "
        f"({deployment['strategy']})\nendpoint: {deployment['prediction_url']}"
    )


@cli.command()
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default="local", show_default=True
)
@click.option("--no-retrain", is_flag=True, help="Report drift but do not start training.")
def monitor(environment: str, no_retrain: bool) -> None:
    """Check served traffic for drift, export metrics, and retrain when drift persists."""
    from pipelines.monitoring import monitoring_pipeline
    from pipelines.training import training_pipeline

    run = launch(monitoring_pipeline, "monitoring", environment, {"enable_cache": False})
    if run.status.value != "completed":
        click.echo(f"run {run.name}: {run.status.value}")
        raise SystemExit(1)
    outcome = run.steps["publish_drift"].output.load()
    drifted = ", ".join(outcome["drifted_columns"]) or "none"
    click.echo(
        f"run {run.name}: completed\n"
        f"{outcome['model_name']} v{outcome['version']}: drift gate "
        f"{'passed' if outcome['drift_passed'] else 'FAILED'} ({outcome['reason']})\n"
        f"drifted features: {drifted}\n"
        f"metrics: {', '.join(outcome['metrics_exported_to']) or 'not exported'}"
    )
    if outcome["retrain"] and not no_retrain:
        click.echo("drift persists: starting the training pipeline")
        training = launch(training_pipeline, "training", environment, {})
        click.echo(describe(training))


@cli.command()
@click.option(
    "--env", "environment", type=click.Choice(ENVIRONMENTS), default="local", show_default=True
)
def schedule(environment: str) -> None:
    """Schedule monitoring and retraining with the cron expressions in configs/monitoring.yaml."""
    from zenml.client import Client
    from zenml.config.schedule import Schedule

    from pipelines.monitoring import monitoring_pipeline
    from pipelines.training import training_pipeline

    schedules = yaml.safe_load((CONFIGS / "monitoring.yaml").read_text())["schedules"]
    orchestrator = Client().active_stack.orchestrator
    if not orchestrator.config.is_schedulable:
        click.echo(
            f"orchestrator {orchestrator.name!r} ({orchestrator.flavor}) cannot run schedules.\n"
            "Add these lines to your crontab (crontab -e) instead:\n"
            f"{schedules['monitoring']} cd {Path.cwd()} && make monitor\n"
            f"{schedules['training']} cd {Path.cwd()} && make train"
        )
        return
    for name, pipeline in (("monitoring", monitoring_pipeline), ("training", training_pipeline)):
        config = run_config(name, environment, {})
        scheduled = pipeline.with_options(
            config_path=str(write_run_config(config)),
            schedule=Schedule(name=f"{name}-{environment}", cron_expression=schedules[name]),
        )
        scheduled()
        click.echo(f"scheduled {name}: {schedules[name]}")


def launch(pipeline: Any, name: str, environment: str, overrides: dict[str, Any]) -> Any:
    """Run ``pipeline`` with configs/<name>.yaml, configs/<environment>.yaml and overrides.

    Raises:
        PipelineFailed: naming the failed step and its error, when a step failed.
    """
    config = run_config(name, environment, overrides)
    configured = pipeline.with_options(config_path=str(write_run_config(config)))
    before = newest_run(pipeline.name)
    try:
        return configured()
    except Exception as error:
        run = newest_run(pipeline.name)
        failure = (
            failed_steps(run) if run is not None and run.id != getattr(before, "id", None) else None
        )
        if not failure:
            raise
        raise PipelineFailed(failure) from error


def run_config(name: str, environment: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The merged run config; training's carries the columns of configs/schema.yaml."""
    config = pipeline_run_config(CONFIGS, name, environment, overrides)
    config.pop("schedules", None)  # applied by `run.py schedule`, not a run setting
    if name == "training":
        config, recorded = with_recorded_columns(CONFIGS, config)
        if recorded:
            click.echo(recorded)
    return config


class PipelineFailed(click.ClickException):
    """A step failed; the message is the step's own error on one line."""

    def show(self, file: Any = None) -> None:
        """Print the message alone: the step's logs above already say the rest."""
        click.secho(f"error: {self.message}", err=True, fg="red")


def newest_run(pipeline_name: str) -> Any:
    """The pipeline's most recent run, or None."""
    from zenml.client import Client

    runs = Client().list_pipeline_runs(pipeline_name=pipeline_name, sort_by="desc:created", size=1)
    return runs.items[0] if runs.items else None


def failed_steps(run: Any) -> str | None:
    """The run's failed steps, each with its error message, on one line."""
    failures = []
    for name, step in run.steps.items():
        if step.status.value == "failed":
            info = step.exception_info
            failures.append(f"step {name} failed: {one_line(info.message if info else None)}")
    return f"run {run.name}: {'; '.join(failures)}" if failures else None


def one_line(message: str | None) -> str:
    """A message with its line breaks and runs of spaces folded."""
    return " ".join((message or "no message recorded").split())


def explain(error: Exception) -> str:
    """The error on one line; for refused parameters, each one's place, problem and value."""
    from pydantic import ValidationError

    cause = error.__cause__
    if not isinstance(cause, ValidationError):
        return one_line(str(error))
    problems = [
        f"parameters.{'.'.join(map(str, problem['loc']))}: {problem['msg']} "
        f"(got {str(problem.get('input'))[:80]!r})"
        for problem in cause.errors()
    ]
    return f"configs/ refused: {'; '.join(problems)}"


def describe(run: Any) -> str:
    """What a user wants to know after a training run, and where to find it."""
    lines = [f"run {run.name}: {run.status.value}"]
    steps = run.steps
    if "historical_features" in steps:
        frame = steps["historical_features"].output.load()
        lines.append(f"features: {len(frame)} rows point-in-time from the feature store")
    if "export_onnx" in steps:
        parity = steps["export_onnx"].outputs["onnx_parity"][0].load()
        lines.append(
            f"onnx parity: max |sklearn - onnx| = {float(parity['max_abs_diff']):.2e} "
            f"on {parity['rows']} held-out rows (passed: {parity['passed']})"
        )
    if "drift_gate" in steps:
        verdict = steps["drift_gate"].outputs["drift_verdict"][0].load()
        lines.append(f"drift gate (held-out vs training rows): {verdict.reason}")
    if "register_model" in steps:
        version = steps["register_model"].output.load()
        lines.append(
            f"registered: {version['name']} v{version['version']} (semver {version['semver']}, "
            f"{'new' if version['newly_registered'] else 'identical model already registered'})"
        )
        lines.append(f"onnx file: {version['artifact_location']}/model.onnx")
    if "quality_gate" in steps:
        decision = steps["quality_gate"].output.load()
        lines.append(f"quality gate: {decision['reason']}")
        lines.append(f"champion: v{decision['champion_after']}")
    return "\n".join(lines)


def main() -> None:
    """The command line, with tracebacks kept for ZENML_LOGGING_VERBOSITY=DEBUG."""
    if os.environ.get("ZENML_LOGGING_VERBOSITY", "").upper() != "DEBUG":
        # ZenML logs a failed step's traceback; its message is what people act on.
        logging.getLogger("zenml.orchestrators.local.local_orchestrator").addFilter(
            _without_traceback
        )
        try:
            cli(standalone_mode=False)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            sys.exit("aborted")
        except Exception as error:  # a failure outside any step: config, store, stack
            click.secho(f"error: {type(error).__name__}: {explain(error)}", err=True, fg="red")
            sys.exit(1)
    else:
        cli()


def _without_traceback(record: logging.LogRecord) -> bool:
    record.exc_info, record.exc_text = None, None
    return True


if __name__ == "__main__":
    main()
