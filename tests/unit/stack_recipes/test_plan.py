"""A stack plan as the user reads it, and each component's configuration checked by its flavor.

``plan_stack`` and ``apply_plan`` against a real ZenML store are covered in
tests/integration/test_stack_apply.py; these are the store-free parts.
"""

from __future__ import annotations

import pytest
from zenml_integrations.onnx.flavor import OnnxModelDeployerFlavor
from zenml_integrations.stack_recipes.errors import RecipeError
from zenml_integrations.stack_recipes.flavors import FlavorAction, FlavorChange
from zenml_integrations.stack_recipes.plan import (
    Action,
    ComponentChange,
    StackPlan,
    _validated_configuration,
)
from zenml_integrations.stack_recipes.recipe import ComponentSpec, StackRecipe

ONNX_FLAVOR = "zenml_integrations.onnx.flavor.OnnxModelDeployerFlavor"
DEPLOYER = ComponentSpec(name="onnx_deployer", flavor="onnx", configuration={"port": 8100})
TRACKER = ComponentSpec(name="mlflow_tracker", flavor="mlflow")
RECIPE = StackRecipe(
    name="local",
    components={
        "orchestrator": ComponentSpec(name="local_orchestrator", flavor="local"),
        "artifact_store": ComponentSpec(name="local_artifact_store", flavor="local"),
        "model_deployer": DEPLOYER,
    },
)


def change(action: Action, spec: ComponentSpec = DEPLOYER, **extra: object) -> ComponentChange:
    return ComponentChange("model_deployer", spec, action, dict(spec.configuration), **extra)  # type: ignore[arg-type]


def flavor(action: FlavorAction) -> FlavorChange:
    return FlavorChange("onnx", "model_deployer", ONNX_FLAVOR, action)


def test_given_an_empty_store_then_the_plan_lists_every_creation_and_the_activation() -> None:
    plan = StackPlan(RECIPE, [flavor(FlavorAction.CREATE)], [change(Action.CREATE)], Action.CREATE)

    assert plan.render().splitlines() == [
        "stack 'local':",
        "  + flavor model_deployer/onnx (create)",
        "  + model_deployer 'onnx_deployer' (flavor onnx, create)",
        "  + stack 'local' (create)",
        "  > activate 'local'",
    ]
    assert not plan.is_noop


def test_given_a_store_that_matches_and_an_active_stack_then_the_plan_is_a_noop() -> None:
    plan = StackPlan(
        RECIPE, [flavor(FlavorAction.UNCHANGED)], [change(Action.UNCHANGED)], Action.UNCHANGED,
        already_active=True,
    )  # fmt: skip

    assert plan.is_noop
    assert plan.render().splitlines()[-1] == "  = already active"


@pytest.mark.parametrize(
    ("flavor_action", "stack_action", "active"),
    [
        (FlavorAction.UPDATE, Action.UNCHANGED, True),  # a newer flavor source
        (FlavorAction.UNCHANGED, Action.UPDATE, True),  # a component changed
        (FlavorAction.UNCHANGED, Action.UNCHANGED, False),  # another stack is active
    ],
)
def test_given_any_difference_then_the_plan_is_not_a_noop(
    flavor_action: FlavorAction, stack_action: Action, active: bool
) -> None:
    plan = StackPlan(
        RECIPE, [flavor(flavor_action)], [change(Action.UNCHANGED)], stack_action,
        already_active=active,
    )  # fmt: skip
    assert not plan.is_noop


def test_given_changes_and_gaps_then_each_is_said_with_what_to_do() -> None:
    tracker = ComponentChange(
        "experiment_tracker", TRACKER, Action.CREATE, {}, missing_integration="mlflow",
        unresolved_fields=("tracking_uri",), secret_references=("mlflow.token",),
    )  # fmt: skip
    plan = StackPlan(
        RECIPE,
        [],
        [change(Action.UPDATE, changed_keys=("host", "port")), tracker],
        Action.UPDATE,
        removed_component_types=("feature_store",),
        unresolved_variables=("MLFLOW_TRACKING_URI",),
        missing_secrets=("mlflow.token",),
    )

    lines = plan.render().splitlines()

    assert "  ~ model_deployer 'onnx_deployer' (flavor onnx, update) [host, port]" in lines
    assert "      ! ZenML integration 'mlflow' is not installed here: validated from its " \
        "flavor module only" in lines  # fmt: skip
    assert "      ? holds unset variable(s), checked once set: tracking_uri" in lines
    assert "  - feature_store (not in the recipe: removed from the stack)" in lines
    assert "unset environment variable(s), needed to apply: MLFLOW_TRACKING_URI" in lines
    assert "ZenML secret value(s) to create before applying: mlflow.token" in lines
    assert lines[-1] == "integration(s) to install where pipelines run: " \
        "zenml integration install mlflow"  # fmt: skip
    assert plan.missing_integrations == ("mlflow",)


def test_given_a_valid_configuration_then_it_is_kept_as_the_store_will_hold_it() -> None:
    configuration, pending = _validated_configuration(
        "model_deployer", DEPLOYER, OnnxModelDeployerFlavor()
    )
    assert configuration == {"port": 8100}
    assert pending == ()


def test_given_an_unknown_field_then_it_is_refused_with_the_valid_fields() -> None:
    spec = ComponentSpec(name="onnx_deployer", flavor="onnx", configuration={"prot": 8100})
    with pytest.raises(RecipeError, match=r"unknown configuration field\(s\) \['prot'\]; valid "):
        _validated_configuration("model_deployer", spec, OnnxModelDeployerFlavor())


def test_given_a_value_the_flavor_rejects_then_the_error_names_the_component_and_field() -> None:
    spec = ComponentSpec(name="onnx_deployer", flavor="onnx", configuration={"max_batch_rows": 0})
    with pytest.raises(RecipeError, match=r"model_deployer 'onnx_deployer' \(flavor onnx\): .*"
                       r"max_batch_rows"):  # fmt: skip
        _validated_configuration("model_deployer", spec, OnnxModelDeployerFlavor())


def test_given_an_unset_variable_then_its_field_waits_and_others_are_still_checked() -> None:
    waiting = ComponentSpec(
        name="onnx_deployer", flavor="onnx", configuration={"port": "${SERVING_PORT}"}
    )
    configuration, pending = _validated_configuration(
        "model_deployer", waiting, OnnxModelDeployerFlavor()
    )
    assert configuration == {"port": "${SERVING_PORT}"}
    assert pending == ("port",)

    also_wrong = ComponentSpec(
        name="onnx_deployer", flavor="onnx",
        configuration={"port": "${SERVING_PORT}", "max_batch_rows": 0},
    )  # fmt: skip
    with pytest.raises(RecipeError, match="max_batch_rows"):
        _validated_configuration("model_deployer", also_wrong, OnnxModelDeployerFlavor())


def test_given_a_secret_reference_then_it_is_kept_unless_the_flavor_validates_that_field() -> None:
    referenced = ComponentSpec(
        name="onnx_deployer", flavor="onnx",
        configuration={"admin_token_env": "{{ serving.token_variable }}"},
    )  # fmt: skip
    configuration, _ = _validated_configuration(
        "model_deployer", referenced, OnnxModelDeployerFlavor()
    )
    assert configuration["admin_token_env"] == "{{ serving.token_variable }}"
