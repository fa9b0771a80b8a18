"""Idempotent registration of this package's flavors in a ZenML store."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from zenml_integrations.catalog import FLAVOR_SOURCES

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.models import FlavorFilter, FlavorRequest
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


def flavor_request(source: str) -> FlavorRequest:
    """The store model of a flavor, keeping ``source`` as the import path.

    ZenML would resolve the class against the current source root, which
    turns ``zenml_integrations.onnx.flavor.X`` into ``onnx.flavor.X`` when the
    CLI runs from inside the package; the dotted path we were given is the
    one every process can import.
    """
    request = load_flavor(source).to_model(integration="custom", is_custom=True)
    request.source = source
    return request


def load_flavor(source: str) -> Flavor:
    """Import a flavor class from its dotted path and instantiate it."""
    from zenml.utils import source_utils

    flavor_class = source_utils.load(source)
    return flavor_class()  # type: ignore[no-any-return]


def plan_flavors(client: Client, sources: tuple[str, ...] = FLAVOR_SOURCES) -> list[FlavorChange]:
    """Compare each flavor with what the store holds, without changing anything."""
    changes = []
    for source in sources:
        model = flavor_request(source)
        existing = client.zen_store.list_flavors(_flavor_filter(model.name, model.type.value)).items
        if not existing:
            action = FlavorAction.CREATE
        elif (
            existing[0].source == model.source and existing[0].config_schema == model.config_schema
        ):
            action = FlavorAction.UNCHANGED
        else:
            action = FlavorAction.UPDATE
        changes.append(FlavorChange(model.name, model.type.value, source, action))
    return changes


def register_flavors(
    client: Client, sources: tuple[str, ...] = FLAVOR_SOURCES
) -> list[FlavorChange]:
    """Create missing flavors and refresh changed ones; leave the rest alone."""
    from zenml.models import FlavorUpdate

    changes = plan_flavors(client, sources)
    for change in changes:
        model = flavor_request(change.source)
        if change.action is FlavorAction.CREATE:
            client.zen_store.create_flavor(flavor=model)
        elif change.action is FlavorAction.UPDATE:
            existing = client.zen_store.list_flavors(
                _flavor_filter(change.name, change.component_type)
            ).items[0]
            client.zen_store.update_flavor(
                existing.id,
                FlavorUpdate(source=model.source, config_schema=model.config_schema),
            )
    return changes


def _flavor_filter(name: str, component_type: str) -> FlavorFilter:
    from zenml.models import FlavorFilter

    return FlavorFilter(name=name, type=component_type)
