"""Compute and apply the difference between a recipe and a ZenML store.

``plan_stack`` only reads; ``apply_plan`` makes the store match the recipe.
Running both twice in a row is a no-op the second time, which is what makes
``mlops-kit stack apply`` safe in Makefiles and CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from zenml_integrations.catalog import FLAVOR_SOURCES
from zenml_integrations.stack_recipes.errors import RecipeError, RecipeNotReady, StackConflict
from zenml_integrations.stack_recipes.flavors import (
    FlavorAction,
    FlavorChange,
    load_flavor,
    plan_flavors,
    register_flavors,
)
from zenml_integrations.stack_recipes.recipe import (
    ComponentSpec,
    StackRecipe,
    describe_validation_error,
    unresolved_variables,
)

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.stack.flavor import Flavor


class Action(StrEnum):
    """What applying a plan does to one stack or component."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


_SYMBOL = {Action.CREATE: "+", Action.UPDATE: "~", Action.UNCHANGED: "="}


@dataclass(frozen=True)
class ComponentChange:
    """One recipe component and how the store differs from it."""

    component_type: str
    spec: ComponentSpec
    action: Action
    configuration: dict[str, Any]
    changed_keys: tuple[str, ...] = ()
    unresolved_fields: tuple[str, ...] = ()
    """Fields holding ``${VAR}`` references to unset variables (dry runs only)."""
    missing_integration: str | None = None
    """The ZenML integration that provides the flavor, when it is not installed here."""
    secret_references: tuple[str, ...] = ()
    """``secret_name.key`` of every ``{{ secret_name.key }}`` in the configuration."""


@dataclass(frozen=True)
class StackPlan:
    """Everything ``apply_plan`` will do, in order."""

    recipe: StackRecipe
    flavors: list[FlavorChange]
    components: list[ComponentChange]
    stack_action: Action
    removed_component_types: tuple[str, ...] = field(default=())
    already_active: bool = False
    unresolved_variables: tuple[str, ...] = field(default=())
    missing_secrets: tuple[str, ...] = field(default=())
    """``secret_name.key`` references that the store cannot resolve yet."""

    @property
    def missing_integrations(self) -> tuple[str, ...]:
        """ZenML integrations that must be installed before the plan can be applied."""
        return tuple(
            sorted(
                {
                    change.missing_integration
                    for change in self.components
                    if change.missing_integration is not None
                }
            )
        )

    @property
    def is_noop(self) -> bool:
        """True when the store already matches the recipe and the stack is active."""
        return (
            self.already_active
            and self.stack_action is Action.UNCHANGED
            and all(change.action is FlavorAction.UNCHANGED for change in self.flavors)
        )

    def render(self) -> str:
        """The plan as the lines a user reads before (or instead of) applying it."""
        lines = [f"stack {self.recipe.name!r}:"]
        for flavor in self.flavors:
            symbol = _SYMBOL[Action(flavor.action.value)]
            lines.append(
                f"  {symbol} flavor {flavor.component_type}/{flavor.name} ({flavor.action})"
            )
        for change in self.components:
            detail = f" [{', '.join(change.changed_keys)}]" if change.changed_keys else ""
            lines.append(
                f"  {_SYMBOL[change.action]} {change.component_type} {change.spec.name!r} "
                f"(flavor {change.spec.flavor}, {change.action}){detail}"
            )
            if change.missing_integration is not None:
                lines.append(
                    f"      ! ZenML integration {change.missing_integration!r} is not "
                    "installed here: validated from its flavor module only"
                )
            if change.unresolved_fields:
                lines.append(
                    f"      ? holds unset variable(s), checked once set: "
                    f"{', '.join(change.unresolved_fields)}"
                )
        for component_type in self.removed_component_types:
            lines.append(f"  - {component_type} (not in the recipe: removed from the stack)")
        lines.append(
            f"  {_SYMBOL[self.stack_action]} stack {self.recipe.name!r} ({self.stack_action})"
        )
        lines.append(
            "  = already active" if self.already_active else f"  > activate {self.recipe.name!r}"
        )
        if self.unresolved_variables:
            lines.append(
                "unset environment variable(s), needed to apply: "
                + ", ".join(self.unresolved_variables)
            )
        if self.missing_secrets:
            lines.append(
                "ZenML secret value(s) to create before applying: "
                + ", ".join(self.missing_secrets)
            )
        if self.missing_integrations:
            lines.append(
                "integration(s) to install where pipelines run: "
                f"zenml integration install {' '.join(self.missing_integrations)}"
            )
        return "\n".join(lines)


def plan_stack(
    recipe: StackRecipe, client: Client, flavor_sources: tuple[str, ...] = FLAVOR_SOURCES
) -> StackPlan:
    """Validate every component against its flavor and diff the recipe with the store.

    Raises:
        RecipeError: when a flavor is unknown, a configuration does not fit its
            flavor's config class, or an existing component has another flavor.
    """
    flavor_changes = plan_flavors(client, flavor_sources)
    own_flavors = {
        (flavor.name, flavor.type.value): flavor
        for flavor in (load_flavor(source) for source in flavor_sources)
    }
    components = [
        _plan_component(component_type, spec, client, own_flavors)
        for component_type, spec in recipe.components.items()
    ]
    existing_stack = _find_stack(client, recipe.name)
    removed: tuple[str, ...] = ()
    if existing_stack is None:
        stack_action = Action.CREATE
    else:
        current = {
            component_type.value: [component.name for component in members]
            for component_type, members in existing_stack.components.items()
            if members
        }
        wanted = {ctype: [spec.name] for ctype, spec in recipe.components.items()}
        removed = tuple(sorted(set(current) - set(wanted)))
        unchanged = current == wanted and all(
            change.action is Action.UNCHANGED for change in components
        )
        stack_action = Action.UNCHANGED if unchanged else Action.UPDATE
    already_active = (
        existing_stack is not None and client.active_stack_model.id == existing_stack.id
    )
    return StackPlan(
        recipe=recipe,
        flavors=flavor_changes,
        components=components,
        stack_action=stack_action,
        removed_component_types=removed,
        already_active=already_active,
        unresolved_variables=unresolved_variables(recipe.model_dump()),
        missing_secrets=_missing_secrets(
            client, sorted({ref for change in components for ref in change.secret_references})
        ),
    )


def apply_plan(plan: StackPlan, client: Client) -> None:
    """Make the store match the plan's recipe and activate the stack.

    Raises:
        RecipeError: when a variable is still unset or a referenced secret
            does not exist; the store is left untouched.
    """
    from zenml.enums import StackComponentType

    if plan.unresolved_variables:
        raise RecipeNotReady(
            f"stack {plan.recipe.name!r}: environment variable(s) "
            f"{', '.join(plan.unresolved_variables)} not set; export them and apply again"
        )
    if plan.missing_secrets:
        raise RecipeNotReady(
            f"stack {plan.recipe.name!r} references ZenML secret value(s) that do not exist: "
            f"{', '.join(plan.missing_secrets)}; create them with `zenml secret create "
            "NAME --KEY=VALUE` and apply again"
        )
    register_flavors(client, tuple(change.source for change in plan.flavors))
    for change in plan.components:
        component_type = StackComponentType(change.component_type)
        if change.action is Action.CREATE:
            client.create_stack_component(
                name=change.spec.name,
                flavor=change.spec.flavor,
                component_type=component_type,
                configuration=change.configuration,
            )
        elif change.action is Action.UPDATE:
            existing = client.get_stack_component(
                component_type, change.spec.name, allow_name_prefix_match=False
            ).configuration
            dropped = {key: None for key in existing if key not in change.configuration}
            client.update_stack_component(
                change.spec.name,
                component_type,
                configuration={**dropped, **change.configuration},
            )
    components: dict[StackComponentType, list[str]] = {
        StackComponentType(ctype): [spec.name] for ctype, spec in plan.recipe.components.items()
    }
    if plan.stack_action is Action.CREATE:
        client.create_stack(name=plan.recipe.name, components=components)
    elif plan.stack_action is Action.UPDATE:
        for removed_type in plan.removed_component_types:
            components[StackComponentType(removed_type)] = []
        client.update_stack(plan.recipe.name, component_updates=components)
    if not plan.already_active:
        client.activate_stack(plan.recipe.name)


def _plan_component(
    component_type: str,
    spec: ComponentSpec,
    client: Client,
    own_flavors: dict[tuple[str, str], Flavor],
) -> ComponentChange:
    from zenml.enums import StackComponentType

    ctype = StackComponentType(component_type)
    own = own_flavors.get((spec.flavor, component_type))
    flavor, missing_integration = (own, None) if own else _store_flavor(client, spec, ctype)
    configuration, unresolved = _validated_configuration(component_type, spec, flavor)
    secret_refs = _secret_references(spec.configuration)
    existing = _find_component(client, ctype, spec.name)
    if existing is None:
        return ComponentChange(
            component_type,
            spec,
            Action.CREATE,
            configuration,
            unresolved_fields=unresolved,
            missing_integration=missing_integration,
            secret_references=secret_refs,
        )
    if existing.flavor_name != spec.flavor:
        raise StackConflict(
            f"{component_type} {spec.name!r} already exists with flavor "
            f"{existing.flavor_name!r}, the recipe asks for {spec.flavor!r}: rename it in "
            f"the recipe or delete it with `zenml {component_type.replace('_', '-')} "
            f"delete {spec.name}`"
        )
    current = existing.configuration
    changed = tuple(
        sorted(
            key
            for key in set(current) | set(configuration)
            if current.get(key) != configuration.get(key)
        )
    )
    action = Action.UPDATE if changed else Action.UNCHANGED
    return ComponentChange(
        component_type,
        spec,
        action,
        configuration,
        changed,
        unresolved_fields=unresolved,
        missing_integration=missing_integration,
        secret_references=secret_refs,
    )


def _store_flavor(
    client: Client, spec: ComponentSpec, ctype: StackComponentType
) -> tuple[Flavor, str | None]:
    """The flavor from the store, and its ZenML integration if not installed here.

    ZenML's store lists every integration's flavors whether or not the
    integration's packages are installed, and its flavor modules import
    without them: enough to validate a recipe for a cluster or cloud on a
    machine that will never run it.
    """
    from zenml.stack.flavor import Flavor

    try:
        model = client.get_flavor_by_name_and_type(name=spec.flavor, component_type=ctype)
    except KeyError:
        available = sorted(
            flavor.name for flavor in client.get_flavors_by_type(component_type=ctype).items
        )
        raise RecipeError(
            f"{ctype.value} {spec.name!r}: unknown flavor {spec.flavor!r}; "
            f"available {ctype.value} flavors: {available}"
        ) from None
    try:
        flavor = Flavor.from_model(model)
    except ImportError as error:
        raise RecipeError(
            f"{ctype.value} {spec.name!r}: flavor {spec.flavor!r} cannot be imported "
            f"({error}); install the integration that provides it"
        ) from error
    return flavor, _uninstalled_integration(model.integration)


def _uninstalled_integration(name: str | None) -> str | None:
    from zenml.integrations.registry import integration_registry

    integration = integration_registry.integrations.get(name or "")
    if integration is None or integration.check_installation():
        return None
    return name


def _validated_configuration(
    component_type: str, spec: ComponentSpec, flavor: Flavor
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The configuration as the store will hold it, and the fields left unvalidated.

    A field whose value still holds a ``${VAR}`` reference (a dry run with the
    variable unset) cannot be checked; errors on such fields are waived and
    the field is reported instead. Every other error is refused.
    """
    config_class = flavor.config_class
    unknown = sorted(set(spec.configuration) - set(config_class.model_fields))
    if unknown:
        raise RecipeError(
            f"{component_type} {spec.name!r} (flavor {spec.flavor}): unknown configuration "
            f"field(s) {unknown}; valid fields: {sorted(config_class.model_fields)}"
        )
    pending = tuple(
        sorted(key for key, value in spec.configuration.items() if unresolved_variables(value))
    )
    # ZenML's config validators read attributes, and reading one resolves a
    # secret reference against the store: validate with stand-ins instead, so
    # a dry run works before the secrets exist (the plan lists missing ones).
    from zenml.utils import pydantic_utils

    secret_fields = _secret_fields(spec.configuration)
    for key in secret_fields:
        if pydantic_utils.has_validators(pydantic_class=config_class, field_name=key):
            raise RecipeError(
                f"{component_type} {spec.name!r} (flavor {spec.flavor}): {key} cannot be a "
                "secret reference, the flavor validates its value; write it in the recipe"
            )
    probe: dict[str, Any] = {
        key: _SECRET_STAND_IN if key in secret_fields else value
        for key, value in spec.configuration.items()
    }
    try:
        config = config_class(**probe)
    except ValidationError as error:
        if not pending or any(
            not issue["loc"] or issue["loc"][0] not in pending for issue in error.errors()
        ):
            raise RecipeError(
                f"{component_type} {spec.name!r} (flavor {spec.flavor}): "
                f"{describe_validation_error(error)}"
            ) from error
        return dict(spec.configuration), pending
    dumped: dict[str, Any] = config.model_dump(mode="json", exclude_unset=True)
    dumped.update({key: spec.configuration[key] for key in secret_fields})
    return dumped, pending


_SECRET_STAND_IN = "secret-reference-stand-in"


def _secret_fields(configuration: dict[str, Any]) -> dict[str, str]:
    """Each field given as ``{{ secret_name.key }}``, with its ``secret_name.key``."""
    from zenml.utils import secret_utils

    fields = {}
    for key, value in configuration.items():
        if secret_utils.is_secret_reference(value):
            reference = secret_utils.parse_secret_reference(value)
            fields[key] = f"{reference.name}.{reference.key}"
    return fields


def _secret_references(configuration: dict[str, Any]) -> tuple[str, ...]:
    """``secret_name.key`` of every value the component reads from a ZenML secret.

    A container registry's ``authentication_secret`` names a whole secret, read as
    ZenML's basic-auth schema (username, password).
    """
    references = set(_secret_fields(configuration).values())
    registry_secret = configuration.get("authentication_secret")
    if isinstance(registry_secret, str) and registry_secret:
        references |= {f"{registry_secret}.username", f"{registry_secret}.password"}
    return tuple(sorted(references))


def _missing_secrets(client: Client, references: list[str]) -> tuple[str, ...]:
    """The ``secret_name.key`` references that the store cannot resolve."""
    missing = []
    for reference in references:
        name, key = reference.split(".", 1)
        try:
            secret = client.get_secret_by_name_and_private_status(name=name)
        except KeyError:
            missing.append(reference)
            continue
        if key not in secret.values:
            missing.append(reference)
    return tuple(missing)


def _find_component(client: Client, ctype: StackComponentType, name: str) -> Any:
    try:
        return client.get_stack_component(ctype, name, allow_name_prefix_match=False)
    except KeyError:
        return None


def _find_stack(client: Client, name: str) -> Any:
    try:
        return client.get_stack(name, allow_name_prefix_match=False)
    except KeyError:
        return None
