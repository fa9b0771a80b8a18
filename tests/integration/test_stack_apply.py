"""``mlops-kit stack apply`` and ``flavors register`` against a real ZenML store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import REPO_ROOT, mlops_kit, run_python

pytestmark = pytest.mark.slow

LOCAL_RECIPE = REPO_ROOT / "stacks" / "local.yaml"


def _store_state() -> dict[str, object]:
    script = (
        "import json; from zenml.client import Client; c = Client();"
        "print(json.dumps({'active': c.active_stack_model.name,"
        " 'stacks': sorted(s.name for s in c.list_stacks(size=100).items),"
        " 'trackers': {t.name: t.configuration for t in "
        "c.list_stack_components(type='experiment_tracker').items}}))"
    )
    return json.loads(run_python("-c", script).stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_given_a_fresh_store_when_dry_run_then_plan_is_printed_and_nothing_changes() -> None:
    output = mlops_kit("stack", "apply", "--dry-run", str(LOCAL_RECIPE))
    assert "+ experiment_tracker 'mlflow_tracker' (flavor mlflow, create)" in output
    assert "dry run: nothing changed." in output
    state = _store_state()
    assert state["stacks"] == ["default"]
    assert state["active"] == "default"


def test_given_a_recipe_when_applied_twice_then_second_apply_is_a_noop(tmp_path: Path) -> None:
    first = mlops_kit("stack", "apply", str(LOCAL_RECIPE))
    assert "stack 'local' applied and active." in first
    second = mlops_kit("stack", "apply", str(LOCAL_RECIPE))
    assert "stack 'local' is up to date and active." in second
    assert "create" not in second
    state = _store_state()
    assert state["active"] == "local"
    assert sorted(state["stacks"]) == ["default", "local"]  # type: ignore[arg-type]

    changed = tmp_path / "local.yaml"
    changed.write_text(
        LOCAL_RECIPE.read_text().replace(
            "    name: mlflow_tracker\n    flavor: mlflow\n",
            "    name: mlflow_tracker\n    flavor: mlflow\n"
            "    configuration:\n      experiment_name: churn\n",
        )
    )
    third = mlops_kit("stack", "apply", str(changed))
    assert (
        "~ experiment_tracker 'mlflow_tracker' (flavor mlflow, update) [experiment_name]" in third
    )
    assert _store_state()["trackers"] == {"mlflow_tracker": {"experiment_name": "churn"}}
    # Removing the key from the recipe removes it from the store too.
    mlops_kit("stack", "apply", str(LOCAL_RECIPE))
    assert _store_state()["trackers"] == {"mlflow_tracker": {}}


def test_given_an_unknown_flavor_when_applied_then_refused_naming_it(tmp_path: Path) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(LOCAL_RECIPE.read_text().replace("flavor: mlflow", "flavor: mlfloww"))
    output = mlops_kit("stack", "apply", str(recipe), expect_success=False)
    assert "unknown flavor 'mlfloww'" in output
    assert "'mlflow'" in output  # the available flavors are listed
    assert _store_state()["stacks"] == ["default"]


def test_given_a_wrong_config_field_when_applied_then_refused_naming_it(tmp_path: Path) -> None:
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(
        LOCAL_RECIPE.read_text().replace(
            "    name: mlflow_tracker\n    flavor: mlflow\n",
            "    name: mlflow_tracker\n    flavor: mlflow\n"
            "    configuration:\n      tracking_url: http://127.0.0.1:5000\n",
        )
    )
    output = mlops_kit("stack", "apply", "--dry-run", str(recipe), expect_success=False)
    assert "unknown configuration field(s) ['tracking_url']" in output
    assert "tracking_uri" in output  # the valid fields are listed


def test_given_a_component_with_another_flavor_when_applied_then_refused(tmp_path: Path) -> None:
    mlops_kit("stack", "apply", str(LOCAL_RECIPE))
    recipe = tmp_path / "clash.yaml"
    recipe.write_text(
        LOCAL_RECIPE.read_text().replace(
            "    name: local_orchestrator\n    flavor: local\n",
            "    name: local_orchestrator\n    flavor: local_docker\n",
        )
    )
    output = mlops_kit("stack", "apply", str(recipe), expect_success=False)
    assert "already exists with flavor 'local'" in output


def test_given_a_flavor_source_when_registered_twice_then_created_once() -> None:
    script = (
        "import os; from zenml.utils import source_utils;"
        "source_utils.set_custom_source_root(os.getcwd());"
        "from zenml.client import Client;"
        "from zenml_integrations.stack_recipes.flavors import register_flavors;"
        "c = Client();"
        "source = ('tests.helpers.flavors.RowCountValidatorFlavor',);"
        "print([str(x.action) for x in register_flavors(c, source)]);"
        "print([str(x.action) for x in register_flavors(c, source)]);"
        "print(len(c.get_flavors_by_type('data_validator').items and "
        "[f for f in c.get_flavors_by_type('data_validator').items if f.name == 'row_count_test']))"
    )
    lines = run_python("-c", script).stdout.strip().splitlines()[-3:]
    assert lines == ["['create']", "['unchanged']", "1"]
