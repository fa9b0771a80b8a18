"""Launching a project's pipeline: layered config in a file that lives as long as the launch."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import pytest
import yaml
from zenml_integrations.project import launch
from zenml_integrations.project.launch import (
    PipelineFailed,
    Project,
    failed_steps,
    report,
    sample_overrides,
)
from zenml_integrations.project.summaries import RunSummary


class FakePipeline:
    """Records the run config ZenML would read; fails like a run whose step failed."""

    name = "training_pipeline"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.seen: dict[str, Any] = {}

    def with_options(self, config_path: str) -> FakePipeline:
        self.path = Path(config_path)
        return self

    def __call__(self) -> Any:
        self.seen = yaml.safe_load(self.path.read_text())
        if self.error is not None:
            raise self.error
        return SimpleNamespace(name="training-run-2", status=SimpleNamespace(value="completed"))


def _run(name: str, run_id: int, **failed: str | None) -> Any:
    steps = {
        "load_data": SimpleNamespace(status=SimpleNamespace(value="completed")),
        **{
            step: SimpleNamespace(
                status=SimpleNamespace(value="failed"),
                exception_info=None if message is None else SimpleNamespace(message=message),
            )
            for step, message in failed.items()
        },
    }
    return SimpleNamespace(id=run_id, name=name, steps=steps)


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "training.yaml").write_text("parameters: {model_name: churn, test_fraction: 0.2}\n")
    (folder / "monitoring.yaml").write_text("schedules: {monitoring: '0 * * * *'}\n")
    staging = "pipelines: {training: {parameters: {test_fraction: 0.3}}}\n"
    (folder / "staging.yaml").write_text(staging)
    (folder / "schema.yaml").write_text("parameters: {dataset: {columns: {age: numeric}}}\n")
    return folder


def test_given_layers_when_launched_then_the_pipeline_reads_them_merged_and_the_file_goes(
    configs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "newest_run", lambda name: None)
    pipeline = FakePipeline()

    overrides = sample_overrides(500)
    run = Project(configs).launch(pipeline, "training", "staging", overrides, cache=False)

    assert run.name == "training-run-2"
    assert pipeline.seen == {
        "parameters": {
            "model_name": "churn",
            "test_fraction": 0.3,
            "source": {"sample_rows": 500},
            "features": {"source": "table"},
            "dataset": {"columns": {"age": "numeric"}},
        },
        "enable_cache": False,
    }
    assert not pipeline.path.exists()


def test_given_a_failed_step_when_launched_then_one_line_names_run_step_and_message(
    configs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = iter([_run("old", 1), _run("training-run-2", 2, train_model="bad\n  value:   -1")])
    monkeypatch.setattr(launch, "newest_run", lambda name: next(runs))
    pipeline = FakePipeline(RuntimeError("step train_model failed"))

    with pytest.raises(PipelineFailed) as raised:
        Project(configs).launch(pipeline, "training", "staging")

    assert raised.value.message == "run training-run-2: step train_model failed: bad value: -1"
    assert not pipeline.path.exists()


def test_given_a_failure_before_any_run_when_launched_then_the_error_itself_is_raised(
    configs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "newest_run", lambda name: _run("old", 1, train_model="old"))
    with pytest.raises(ValueError, match="refused"):
        Project(configs).launch(FakePipeline(ValueError("refused")), "training", "staging")


def test_given_runs_when_failed_steps_read_then_only_a_newer_run_with_failures_counts() -> None:
    before = _run("old", 1, train_model="x")
    assert failed_steps(before, before) is None
    assert failed_steps(None, before) is None
    assert failed_steps(_run("new", 2), before) is None
    assert failed_steps(_run("new", 2, a="one", b=None), None) == (
        "run new: step a failed: one; step b failed: no message recorded"
    )


def test_given_no_sample_when_overridden_then_the_configured_data_serves() -> None:
    assert sample_overrides(None) == {}


def test_given_a_run_that_did_not_complete_when_reported_then_printed_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        report(RunSummary(run_name="r", status="running"))
    assert exited.value.code == 1
    assert capsys.readouterr().out == "run r: running\n"
    assert report(RunSummary(run_name="r", status="completed")).completed


def test_given_the_feature_command_then_it_publishes_the_training_table_source_and_dataset(
    configs: Path,
) -> None:
    (configs / "training.yaml").write_text(
        "parameters: {source: {kind: sample}, dataset: {target_column: y}, model_name: m}\n"
    )
    (configs / "local.yaml").write_text("")
    assert Project(configs).feature_parameters("local", incremental=True) == {
        "parameters": {
            "source": {"kind": "sample"},
            "dataset": {"target_column": "y"},
            "mode": "incremental",
        }
    }
    assert "mode" not in Project(configs).feature_parameters("local", False)["parameters"]


def test_given_schedules_in_the_monitoring_config_then_they_are_no_run_setting(
    configs: Path,
) -> None:
    assert "schedules" not in Project(configs).run_config("monitoring", "staging")


def test_given_a_pipeline_without_a_cron_when_scheduled_then_refused_naming_it(
    configs: Path,
) -> None:
    with pytest.raises(click.ClickException, match=r"no cron expression for \['nightly'\]"):
        Project(configs).schedule("local", monitoring=FakePipeline(), nightly=FakePipeline())
