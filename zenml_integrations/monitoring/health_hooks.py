"""ZenML hooks that report a pipeline run's health (``@pipeline(on_success=..., on_failure=...)``).

ZenML hands a static pipeline's hooks to every step, so a run is reported
once: by the success hook of its last step, or by the failure hook of the
step that failed. The settings come from the run config's ``extra.health``
(see ``HealthConfig``); the series are those of ``pipeline_health``.
ZenML logs a hook's exception and carries on, so an unreachable Pushgateway
never fails the run it reports.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError
from zenml_integrations.monitoring.errors import MonitoringConfigError
from zenml_integrations.monitoring.pipeline_health import (
    ChampionReport,
    HealthConfig,
    RunReport,
    champion_metrics,
    export_health,
    run_metrics,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from zenml.models import PipelineRunResponse

logger = logging.getLogger(__name__)

FINISHED = frozenset({"completed", "cached"})


def report_run_success() -> None:
    """Report the run as succeeded when the step that just succeeded was its last one."""
    from zenml import get_step_context
    from zenml.client import Client

    context = get_step_context()
    run = Client().get_pipeline_run(context.pipeline_run.id)
    steps = run.snapshot.step_configurations if run.snapshot else {}
    pending = [
        name
        for name in steps
        if name != context.step_run.name
        and (name not in run.steps or run.steps[name].status.value not in FINISHED)
    ]
    if not pending:
        report_run(run, succeeded=True)


def report_run_failure() -> None:
    """Report the run as failed (a step failed for good: no retry is left)."""
    from zenml import get_step_context
    from zenml.client import Client

    run = Client().get_pipeline_run(get_step_context().pipeline_run.id)
    report_run(run, succeeded=False)


def report_run(run: PipelineRunResponse, *, succeeded: bool) -> list[str]:
    """Export the run's series, and its model's champion when the run names one.

    Raises:
        MonitoringConfigError: when ``extra.health`` holds an unknown key or a bad value.
    """
    config = health_config(run.config.extra)
    now = time.time()
    report = RunReport(
        pipeline=run.pipeline.name if run.pipeline else run.name,
        succeeded=succeeded,
        started=unix_seconds(run.start_time) if run.start_time else now,
        ended=now,
        last_success=now if succeeded else last_success(run),
        rows=artifact_rows(run, config, expected=succeeded),
        max_interval_hours=config.max_interval_hours,
    )
    pushgateway_url = os.environ.get(config.pushgateway_url_env)
    textfile_dir = Path(config.textfile_dir) if config.textfile_dir else None
    where = export_health(
        run_metrics(report),
        ("pipeline", report.pipeline),
        textfile_dir=textfile_dir,
        pushgateway_url=pushgateway_url,
    )
    model_name = (run.config.parameters or {}).get("model_name")
    champion = champion_of(model_name, config) if isinstance(model_name, str) else None
    if champion is not None:
        export_health(
            champion_metrics(champion),
            ("model", champion.model),
            textfile_dir=textfile_dir,
            pushgateway_url=pushgateway_url,
        )
    return where


def health_config(extra: dict[str, object]) -> HealthConfig:
    """The run config's ``extra.health``, validated.

    Raises:
        MonitoringConfigError: naming the key and value that were refused.
    """
    try:
        return HealthConfig.model_validate(extra.get("health") or {})
    except ValidationError as error:
        problem = error.errors()[0]
        raise MonitoringConfigError(
            f"extra.health.{'.'.join(map(str, problem['loc']))}: {problem['msg']} "
            f"(got {problem.get('input')!r}); fix it in configs/<pipeline>.yaml"
        ) from error


def unix_seconds(moment: datetime) -> float:
    """ZenML stores naive UTC times."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def last_success(run: PipelineRunResponse) -> float | None:
    """When the newest completed run of the same pipeline ended, from the ZenML store."""
    from zenml.client import Client

    if run.pipeline is None:
        return None
    newest = Client().list_pipeline_runs(
        pipeline_name=run.pipeline.name, status="completed", sort_by="desc:end_time", size=1
    )
    ended = newest.items[0].end_time if newest.items else None
    return unix_seconds(ended) if ended else None


def artifact_rows(
    run: PipelineRunResponse, config: HealthConfig, *, expected: bool
) -> dict[Literal["in", "out"], int]:
    """Rows of the artifacts ``rows_in`` and ``rows_out`` name, from their ``shape`` metadata.

    A failed run may stop before making them; a succeeded one must have them,
    else the configuration names the wrong artifact and a warning says so.
    """
    outputs = {
        name: versions[-1]
        for step in run.steps.values()
        for name, versions in step.outputs.items()
        if versions
    }
    rows: dict[Literal["in", "out"], int] = {}
    wanted: dict[Literal["in", "out"], str | None] = {"in": config.rows_in, "out": config.rows_out}
    for direction, artifact in wanted.items():
        if artifact is None:
            continue
        shape = outputs[artifact].run_metadata.get("shape") if artifact in outputs else None
        if isinstance(shape, list | tuple) and shape and isinstance(shape[0], int):
            rows[direction] = shape[0]
        elif expected:
            logger.warning(
                "extra.health.rows_%s names %r, which is not a DataFrame output of this run "
                "(outputs: %s); name one of them or remove rows_%s",
                direction, artifact, ", ".join(sorted(outputs)), direction,
            )  # fmt: skip
    return rows


def champion_of(model_name: str, config: HealthConfig) -> ChampionReport | None:
    """The champion in the active stack's registry; None without a registry (with a warning)."""
    from zenml_integrations.mlflow.champion import active_stack_registry
    from zenml_integrations.mlflow.errors import RegistryNotInStack

    try:
        client = active_stack_registry()
    except RegistryNotInStack as error:
        logger.warning("champion age not reported: %s", error)
        return None
    return champion_report(client, model_name, config.max_champion_age_days)


def champion_report(
    client: MlflowClient, model_name: str, max_age_days: float | None
) -> ChampionReport | None:
    """When ``model_name``'s champion version was registered; None while it has no champion."""
    from zenml_integrations.mlflow.registry import CHAMPION, version_by_alias

    champion = version_by_alias(client, model_name, CHAMPION)
    if champion is None:
        return None
    return ChampionReport(
        model=model_name,
        version=str(champion.version),
        registered=champion.creation_timestamp / 1000,
        max_age_days=max_age_days,
    )
