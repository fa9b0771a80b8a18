"""A project generated from the template, installed against this checkout, driven as a user would.

Commands run through the project's own Makefile and ``uv run``, with the
project's own ZenML store (``.zenml/`` inside it), so the tests of one module can
share a project that was installed and trained once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from tests.helpers.rendering import render
from tests.helpers.repo import REPO_ROOT

MODEL = "churn_model"  # the package name the default answers give
FEATURES = [
    "tenure_months", "contract_months", "num_products", "monthly_charges", "total_charges",
    "discount_rate", "support_calls_90d", "payment_failures_90d", "days_since_last_login",
    "avg_session_minutes", "age",
]  # fmt: skip

REGISTRY_QUERY = """
import json, sys
from mlflow import MlflowClient
from zenml.client import Client
zenml = Client()
mlflow = MlflowClient(zenml.active_stack.experiment_tracker.get_tracking_uri())
champion = mlflow.get_model_version_by_alias(sys.argv[1], "champion")
print(json.dumps({
    "stack": zenml.active_stack_model.name,
    "runs": [r.status.value for r in zenml.list_pipeline_runs(size=50).items],
    "champion": str(champion.version),
    "champion_tags": dict(champion.tags),
}))
"""

STOP_SERVERS = """
from zenml.client import Client
deployer = Client().active_stack.model_deployer
for service in deployer.find_model_server():
    deployer.delete_model_server(service.uuid)
"""


def kit_requirement(*extras: str) -> str:
    """This checkout as the generated project's dependency, with the given extras."""
    return f"zenml-mlops-kit[{','.join(extras)}] @ file://{REPO_ROOT}"


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """Five of eleven features moved: past the local stack's tolerated drift share of 0.3."""
    moved = frame.copy()
    moved["monthly_charges"] *= 1.8
    moved["total_charges"] *= 1.8
    moved["days_since_last_login"] += 15
    moved["avg_session_minutes"] *= 0.5
    moved["support_calls_90d"] += 3
    return moved


class GeneratedProject:
    """A generated project and the environment its commands run with."""

    def __init__(self, root: Path) -> None:
        uv = os.environ.get("UV") or shutil.which("uv")
        assert uv, "uv is needed to install generated projects: run the suite through `make test`"
        self.root = root
        self.env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"} | {
            "UV": uv,
            "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}",
            # The Makefile's own default: the project keeps its store whichever test
            # drives it (the suite's per-test config path would otherwise win over `?=`).
            "ZENML_CONFIG_PATH": str(root / ".zenml"),
        }

    @classmethod
    def generate(cls, template: Path, destination: Path, **answers: Any) -> GeneratedProject:
        """Render the template at ``template`` with ``answers`` (defaults for the rest)."""
        return cls(render(template, destination, answers))

    def shell(self, script: str, *, expect_success: bool = True, **variables: str) -> str:
        """Run ``script`` with bash in the project; fail the test with its output if it fails."""
        completed = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.root,
            env=self.env | variables,
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        output = completed.stdout + completed.stderr
        assert (completed.returncode == 0) is expect_success, f"{script}\n---\n{output[-6000:]}"
        return output

    def make(self, *targets: str, expect_success: bool = True) -> str:
        """Run the project's Makefile targets."""
        return self.shell(f"make {' '.join(targets)}", expect_success=expect_success)

    def python(self, name: str, script: str, *args: str) -> str:
        """Run ``script`` with ``uv run python`` in the project, saved outside its tree as
        ``name`` (the project's own lint and tests see only its files)."""
        scratch = self.root.parent / "scratch"
        scratch.mkdir(exist_ok=True)
        (scratch / name).write_text(script)
        return self.shell(" ".join(["uv run python", str(scratch / name), *args]))

    def registry(self, model: str) -> dict[str, Any]:
        """The active stack, the pipeline runs' statuses and the registry's champion."""
        output = self.python("registry_query.py", REGISTRY_QUERY, model)
        last = [line for line in output.splitlines() if line.startswith("{")][-1]
        return json.loads(last)  # type: ignore[no-any-return]

    def stop_servers(self) -> None:
        """Delete every model server the project's deployer started."""
        self.python("stop_servers.py", STOP_SERVERS)


@dataclass(frozen=True)
class TrainedProject:
    """A project after its first ``make train``: what the run printed and the registry then."""

    project: GeneratedProject
    training_output: str
    registry_after_training: dict[str, Any]
