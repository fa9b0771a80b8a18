"""Idempotent registration of this package's flavors in a ZenML store."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from zenml_integrations.catalog import FLAVOR_SOURCES

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.enums import StackComponentType
    from zenml.models import FlavorFilter
    from zenml.stack.flavor import Flavor


class FlavorAction(StrEnum):
    """What registering a flavor does to the store."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class FlavorChange:
    """One flavor and what registration does (or would do) with it."""

    name: str
    component_type: str
    source: str
    action: FlavorAction


def load_flavor(source: str) -> Flavor:
    """Import a flavor class from its dotted path and instantiate it."""
    from zenml.utils import source_utils

    flavor_class = source_utils.load(source)
    return flavor_class()  # type: ignore[no-any-return]


def plan_flavors(client: Client, sources: tuple[str, ...] = FLAVOR_SOURCES) -> list[FlavorChange]:
    """Compare each flavor with what the store holds, without changing anything."""
    changes = []
    for source in sources:
        flavor = load_flavor(source)
        model = flavor.to_model(integration="custom", is_custom=True)
        existing = client.zen_store.list_flavors(
            _flavor_filter(flavor.name, flavor.type.value)
        ).items
        if not existing:
            action = FlavorAction.CREATE
        elif (
            existing[0].source == model.source and existing[0].config_schema == model.config_schema
        ):
            action = FlavorAction.UNCHANGED
        else:
            action = FlavorAction.UPDATE
        changes.append(FlavorChange(flavor.name, flavor.type.value, source, action))
    return changes


def register_flavors(
    client: Client, sources: tuple[str, ...] = FLAVOR_SOURCES
) -> list[FlavorChange]:
    """Create missing flavors and refresh changed ones; leave the rest alone."""
    from zenml.models import FlavorUpdate

    changes = plan_flavors(client, sources)
    for change in changes:
        if change.action is FlavorAction.CREATE:
            client.create_flavor(
                source=change.source, component_type=_component_type(change.component_type)
            )
        elif change.action is FlavorAction.UPDATE:
            model = load_flavor(change.source).to_model(integration="custom", is_custom=True)
            existing = client.zen_store.list_flavors(
                _flavor_filter(change.name, change.component_type)
            ).items[0]
            client.zen_store.update_flavor(
                existing.id,
                FlavorUpdate(source=model.source, config_schema=model.config_schema),
            )
    return changes


def _component_type(value: str) -> StackComponentType:
    from zenml.enums import StackComponentType

    return StackComponentType(value)


def _flavor_filter(name: str, component_type: str) -> FlavorFilter:
    from zenml.models import FlavorFilter

    return FlavorFilter(name=name, type=component_type)
