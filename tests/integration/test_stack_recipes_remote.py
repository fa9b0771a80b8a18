"""Dry runs of the Kubernetes and cloud recipes on a machine with neither.

One subprocess runs every case through the CLI against one fresh store: a
ZenML store start costs seconds, the checks themselves milliseconds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.cli import REPO_ROOT, run_python

REMOTE_RECIPES = ("kubernetes", "aws", "gcp", "azure")

_SCRIPT = """
import json, os, sys
from click.testing import CliRunner
from zenml.client import Client
from zenml.utils import source_utils
from zenml_integrations.cli import main

source_utils.set_custom_source_root(os.getcwd())  # `python -c` has no main file

for name in ("KUBERNETES_CONTEXT", "ARTIFACT_BUCKET", "MLFLOW_TRACKING_URI"):
    os.environ.pop(name, None)
results = {}
for case, path in json.loads(sys.argv[1]).items():
    outcome = CliRunner().invoke(main, ["stack", "apply", "--dry-run", path])
    results[case] = {
        "exit_code": outcome.exit_code,
        "output": outcome.output + (repr(outcome.exception) if outcome.exception else ""),
    }
client = Client()
results["store"] = {
    "active": client.active_stack_model.name,
    "stacks": sorted(stack.name for stack in client.list_stacks(size=100).items),
    "components": sorted(c.name for c in client.list_stack_components(size=100).items),
}
print("RESULTS " + json.dumps(results))
"""


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Given the four recipes and two broken copies, when each is dry-run, what happened."""
    folder = tmp_path_factory.mktemp("recipes")
    kubernetes = (REPO_ROOT / "stacks" / "kubernetes.yaml").read_text()
    misspelled = folder / "misspelled.yaml"
    misspelled.write_text(kubernetes.replace("kubernetes_namespace:", "kubernetes_namespce:"))
    unknown = folder / "unknown.yaml"
    unknown.write_text(kubernetes.replace("flavor: kaniko", "flavor: kanikoo"))
    cases = {name: str(REPO_ROOT / "stacks" / f"{name}.yaml") for name in REMOTE_RECIPES}
    cases |= {"misspelled": str(misspelled), "unknown": str(unknown)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZENML_CONFIG_PATH", str(folder / "zenml-config"))
        patch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
        patch.setenv("DO_NOT_TRACK", "true")
        stdout = run_python("-c", _SCRIPT, json.dumps(cases)).stdout
    line = next(line for line in stdout.splitlines() if line.startswith("RESULTS "))
    results: dict[str, Any] = json.loads(line.removeprefix("RESULTS "))
    return results


@pytest.mark.parametrize("name", REMOTE_RECIPES)
def test_given_a_remote_recipe_when_dry_run_then_components_are_planned(
    dry_runs: dict[str, Any], name: str
) -> None:
    result = dry_runs[name]
    output = result["output"]
    assert result["exit_code"] == 0, output
    assert "+ orchestrator 'k8s_orchestrator' (flavor kubernetes, create)" in output
    assert "+ data_validator 'drift_gate' (flavor evidently_gate, create)" in output
    assert "+ model_deployer 'onnx_deployer' (flavor onnx, create)" in output
    assert "+ experiment_tracker 'mlflow_tracker' (flavor mlflow, create)" in output
    assert "+ image_builder 'kaniko_builder' (flavor kaniko, create)" in output
    store_flavor = {"kubernetes": "s3", "aws": "s3", "gcp": "gcp", "azure": "azure"}[name]
    registry_flavor = {"kubernetes": "default"}.get(name, name)
    assert f"(flavor {store_flavor}, create)" in output
    assert f"(flavor {registry_flavor}, create)" in output
    # Unset variables are listed, not fatal, in a dry run.
    assert "unset environment variable(s), needed to apply: " in output
    assert "KUBERNETES_CONTEXT" in output
    assert "mlflow_secret.password" in output
    assert "dry run: nothing changed." in output


def test_given_remote_dry_runs_when_done_then_the_store_is_unchanged(
    dry_runs: dict[str, Any],
) -> None:
    assert dry_runs["store"]["active"] == "default"
    assert dry_runs["store"]["stacks"] == ["default"]
    # Only the default stack's own components: none of the recipes' names.
    assert set(dry_runs["store"]["components"]) == {"default"}


def test_given_a_misspelled_field_when_dry_run_then_refused_naming_it(
    dry_runs: dict[str, Any],
) -> None:
    result = dry_runs["misspelled"]
    assert result["exit_code"] != 0
    assert "unknown configuration field(s) ['kubernetes_namespce']" in result["output"]
    assert "kubernetes_namespace" in result["output"]  # the valid fields are listed


def test_given_an_unknown_flavor_when_dry_run_then_refused_naming_it(
    dry_runs: dict[str, Any],
) -> None:
    result = dry_runs["unknown"]
    assert result["exit_code"] != 0
    assert "unknown flavor 'kanikoo'" in result["output"]
    assert "'kaniko'" in result["output"]  # the available flavors are listed
