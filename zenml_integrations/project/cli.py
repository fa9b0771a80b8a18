"""The options a project's commands share, and the entry point that keeps failures to one line.

``run_cli`` silences the libraries' noise, drops ZenML's step tracebacks from
the console (``ZENML_LOGGING_VERBOSITY=DEBUG`` keeps them) and ends any
failure with one ``error:`` line: what failed, the value seen, what to change.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any

import click
from zenml_integrations.project.launch import one_line

ENVIRONMENTS = ("local", "staging", "production")


class PipelineCommand(click.Command):
    """A project command: it takes ``--env``, passed to the function as ``environment``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Declare the command as click does, with ``--env`` first among its options."""
        super().__init__(*args, **kwargs)
        environment = click.Option(
            ["--env", "environment"],
            type=click.Choice(ENVIRONMENTS),
            default="local",
            show_default=True,
            help="The configs/<env>.yaml laid over the pipeline's own config.",
        )
        self.params.insert(0, environment)


class ProjectGroup(click.Group):
    """A project's commands, each declared with ``--env`` (see ``PipelineCommand``)."""

    command_class = PipelineCommand


no_cache_option = click.option(
    "--no-cache", is_flag=True, help="Re-run every step even if its inputs are unchanged."
)
no_retrain_option = click.option(
    "--no-retrain", is_flag=True, help="Report what the run found but do not start training."
)
sample_rows_option = click.option(
    "--sample-rows",
    type=click.IntRange(min=100),
    help="Train on a sample of this size, with its own feature columns (no feature store).",
)


def run_cli(cli: click.Group) -> None:
    """Run the project's command line; a failure ends with one line and exit status 1."""
    quiet_library_warnings()
    if os.environ.get("ZENML_LOGGING_VERBOSITY", "").upper() == "DEBUG":
        cli()
        return
    # ZenML logs a failed step's traceback; its message is what people act on.
    logging.getLogger("zenml.orchestrators.local.local_orchestrator").addFilter(_without_traceback)
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


def quiet_library_warnings() -> None:
    """Silence warnings that come from libraries, not from the project, before they load."""
    # Python 3.12's sqlite3, used by SQLAlchemy and MLflow for the local stores.
    warnings.filterwarnings(
        "ignore", message=r"The default (date|datetime|timestamp) (adapter|converter)"
    )
    # scipy's tests divide by empty bins of a category that one frame lacks.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.stats")


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


def _without_traceback(record: logging.LogRecord) -> bool:
    record.exc_info, record.exc_text = None, None
    return True
