"""Pipeline health as Prometheus series: how each run ended, its duration, rows, champion age.

A training run that failed at 03:00 or a monitoring job nobody restarted
raises no error anyone sees; these series let alert rules notice. They go
where the drift series go (a text file for node_exporter's textfile collector
and/or a Pushgateway), one push group per pipeline and one per model, so a
run of one pipeline never replaces another pipeline's series.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, Gauge
from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.monitoring.exporter import write_and_push

JOB = "pipeline_health"


class HealthConfig(BaseModel):
    """The ``extra.health`` section of a run config: what a run reports, and its limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows_in: str | None = Field(
        default=None, description="Output artifact (a DataFrame) holding the rows the run read."
    )
    rows_out: str | None = Field(
        default=None, description="Output artifact (a DataFrame) holding the rows the run made."
    )
    max_interval_hours: float | None = Field(
        default=None, gt=0, description="No successful run for longer than this: alert."
    )
    max_champion_age_days: float | None = Field(
        default=None, gt=0, description="A champion registered longer ago than this: alert."
    )
    textfile_dir: str | None = Field(
        default="monitoring/metrics",
        description="Folder of node_exporter's textfile collector; relative to cwd; null: none.",
    )
    pushgateway_url_env: str = Field(
        default="PROMETHEUS_PUSHGATEWAY_URL",
        description="Environment variable holding a Pushgateway URL; unset: no push.",
    )


class RunReport(BaseModel):
    """How one pipeline run ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline: str
    succeeded: bool
    started: float = Field(description="Unix seconds.")
    ended: float = Field(description="Unix seconds.")
    last_success: float | None = Field(description="End of the newest successful run, if any.")
    rows: dict[Literal["in", "out"], int] = Field(default_factory=dict)
    max_interval_hours: float | None = None


class ChampionReport(BaseModel):
    """The registry's champion of one model, as a run saw it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    version: str
    registered: float = Field(description="Unix seconds the champion version was registered.")
    max_age_days: float | None = None


def run_metrics(report: RunReport) -> CollectorRegistry:
    """One registry with the run's outcome, timing, rows and the configured interval.

    Timestamps, not ages: a pushed value stands still between runs, while
    ``time() - timestamp`` in a rule keeps growing.
    """
    registry = CollectorRegistry()
    labels = ("pipeline",)
    Gauge(
        "mlops_pipeline_last_run_timestamp_seconds", "When the newest run ended.", labels,
        registry=registry,
    ).labels(report.pipeline).set(report.ended)  # fmt: skip
    Gauge(
        "mlops_pipeline_last_run_success", "1 when the newest run succeeded, 0 when it failed.",
        labels, registry=registry,
    ).labels(report.pipeline).set(1 if report.succeeded else 0)  # fmt: skip
    Gauge(
        "mlops_pipeline_run_duration_seconds", "How long the newest run took.", labels,
        registry=registry,
    ).labels(report.pipeline).set(report.ended - report.started)  # fmt: skip
    if report.last_success is not None:
        Gauge(
            "mlops_pipeline_last_success_timestamp_seconds",
            "When the newest successful run ended.", labels, registry=registry,
        ).labels(report.pipeline).set(report.last_success)  # fmt: skip
    if report.rows:
        rows = Gauge(
            "mlops_pipeline_rows", "Rows the newest run read (in) and made (out).",
            ("pipeline", "direction"), registry=registry,
        )  # fmt: skip
        for direction, count in sorted(report.rows.items()):
            rows.labels(report.pipeline, direction).set(count)
    if report.max_interval_hours is not None:
        Gauge(
            "mlops_pipeline_max_interval_seconds",
            "Configured longest time without a successful run.", labels, registry=registry,
        ).labels(report.pipeline).set(report.max_interval_hours * 3600)  # fmt: skip
    return registry


def champion_metrics(report: ChampionReport) -> CollectorRegistry:
    """One registry with when the champion was registered and the configured age limit."""
    registry = CollectorRegistry()
    Gauge(
        "mlops_champion_registered_timestamp_seconds",
        "When the registry's champion version was registered.", ("model", "version"),
        registry=registry,
    ).labels(report.model, report.version).set(report.registered)  # fmt: skip
    if report.max_age_days is not None:
        Gauge(
            "mlops_champion_max_age_seconds", "Configured oldest acceptable champion.",
            ("model",), registry=registry,
        ).labels(report.model).set(report.max_age_days * 86400)  # fmt: skip
    return registry


def export_health(
    registry: CollectorRegistry,
    group: tuple[Literal["pipeline", "model"], str],
    *,
    textfile_dir: Path | None,
    pushgateway_url: str | None,
) -> list[str]:
    """Write ``<kind>_<name>.prom`` and/or push as job ``pipeline_health``; where it went.

    A push replaces its whole group (``pipeline=<name>`` or ``model=<name>``),
    which is why a report always carries every series of its group.
    """
    kind, name = group
    textfile = textfile_dir / f"{kind}_{name}.prom" if textfile_dir is not None else None
    return write_and_push(
        registry, {kind: name}, textfile=textfile, pushgateway_url=pushgateway_url, job=JOB
    )
