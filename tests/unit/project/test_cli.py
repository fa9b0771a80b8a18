"""The project command line: --env on every command, failures on one line."""

from __future__ import annotations

import logging
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel
from zenml_integrations.project.cli import ProjectGroup, run_cli
from zenml_integrations.project.launch import PipelineFailed


class Parameters(BaseModel):
    test_fraction: float


def _cli() -> click.Group:
    cli = ProjectGroup(help="Project pipelines.")

    @cli.command()
    def show(environment: str) -> None:
        click.echo(f"env={environment}")

    @cli.command()
    @click.option("--kind", default="step")
    def fail(environment: str, kind: str) -> None:
        if kind == "step":
            raise PipelineFailed("run r: step train_model failed: bad value -1")
        try:
            Parameters.model_validate({"test_fraction": "half"})
        except ValueError as error:
            raise RuntimeError("pipeline parameters refused") from error

    return cli


@pytest.mark.parametrize(
    ("args", "shown"), [([], "env=local"), (["--env", "staging"], "env=staging")]
)
def test_given_a_project_command_then_it_takes_env_defaulting_to_local(
    args: list[str], shown: str
) -> None:
    result = CliRunner().invoke(_cli(), ["show", *args])
    assert result.exit_code == 0, result.output
    assert result.output == f"{shown}\n"


def test_given_an_unknown_environment_then_click_refuses_it_naming_the_choices() -> None:
    result = CliRunner().invoke(_cli(), ["show", "--env", "prod"])
    assert result.exit_code == 2
    assert "'local', 'staging', 'production'" in result.output


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("step", "error: run r: step train_model failed: bad value -1"),
        (
            "config",
            "error: RuntimeError: configs/ refused: parameters.test_fraction: Input should be a "
            "valid number, unable to parse string as a number (got 'half')",
        ),
    ],
)
def test_given_a_failure_when_run_then_one_error_line_and_exit_1(
    kind: str, line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ZENML_LOGGING_VERBOSITY", raising=False)
    monkeypatch.setattr(sys, "argv", ["run.py", "fail", "--kind", kind])
    with pytest.raises(SystemExit) as exited:
        run_cli(_cli())
    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [line]


def test_given_a_failed_step_log_when_run_then_zenml_keeps_the_message_not_the_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZENML_LOGGING_VERBOSITY", raising=False)
    monkeypatch.setattr(sys, "argv", ["run.py", "show"])
    logger = logging.getLogger("zenml.orchestrators.local.local_orchestrator")
    monkeypatch.setattr(logger, "filters", [])
    run_cli(_cli())
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord(logger.name, logging.ERROR, "f", 1, "failed", (), sys.exc_info())
    assert logger.filter(record)
    assert record.exc_info is None


def test_given_run_py_imports_the_helper_then_neither_zenml_nor_pandas_loads() -> None:
    probe = (
        "import sys, zenml_integrations.project; "
        "print(sorted({'zenml', 'pandas'} & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
