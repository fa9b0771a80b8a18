"""Feature vectors for the ONNX server's predict-by-entity-key path.

The server loads ``FeastOnlineFeatures`` by import path from its
``feature_lookup`` settings (it never imports this plugin)::

    feature_lookup:
      provider: zenml_integrations.feast.serving:FeastOnlineFeatures
      entity_column: customer_id
      options:
        feature_service: churn_model_v1   # the service the model was trained on
        repo_path: feature_repo           # or inline: project, registry_path, online_store...

``options`` other than ``feature_service`` are ``feast_store`` flavor settings
(``FeastFeatureStoreConfig``); relative paths resolve against the server's
``base_dir`` unless they set their own. The read plan (views, column order,
TTLs) is fixed at start-up, so the order the server checked against the
model cannot change under it when the registry is edited.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from zenml_integrations.feast.errors import FeastStoreError
from zenml_integrations.feast.features import resolve_features
from zenml_integrations.feast.flavor import FeastFeatureStoreConfig
from zenml_integrations.feast.online import OnlineVectorReader
from zenml_integrations.feast.store import FeastFeatureStore


class FeatureRows:
    """Float32 features with found/stale masks (the server's ``FeatureRows`` shape)."""

    __slots__ = ("found", "stale", "values")

    def __init__(self, values: np.ndarray, found: np.ndarray, stale: np.ndarray) -> None:
        """Hold one lookup's result."""
        self.values = values
        self.found = found
        self.stale = stale


class FeastOnlineFeatures:
    """Reads one feature service's features for entity ids from the online store."""

    def __init__(
        self, options: dict[str, Any], *, entity_column: str, base_dir: Path | None = None
    ) -> None:
        """Build the store and the read plan for the feature service.

        Args:
            options: ``feature_service`` plus ``feast_store`` settings.
            entity_column: The join key requests send ids for.
            base_dir: Default base folder of relative paths in ``options``.

        Raises:
            FeastStoreError: unknown option, unknown feature service, or a
                service keyed by another column than ``entity_column``.
        """
        from feast.value_type import ValueType

        settings = dict(options)
        service_name = settings.pop("feature_service", None)
        if not isinstance(service_name, str) or not service_name:
            raise FeastStoreError("feature_lookup options need 'feature_service' (its name)")
        known = set(FeastFeatureStoreConfig.model_fields)
        unknown = sorted(set(settings) - known)
        if unknown:
            # The flavor config ignores unknown keys (ZenML's rule); a typo must not pass.
            raise FeastStoreError(
                f"unknown feature_lookup option(s) {unknown}; use 'feature_service' and "
                f"feast_store settings such as repo_path, base_dir, project"
            )
        if base_dir is not None:
            settings.setdefault("base_dir", str(base_dir))
        if settings.get("repo_path") is None and settings.get("base_dir") is None:
            # A standalone store would otherwise fall back to a fresh, empty folder.
            raise FeastStoreError(
                "inline feast_store settings in feature_lookup need a base_dir (in options or "
                "feature_lookup.base_dir) where the registry and online store files live"
            )
        store = FeastFeatureStore.standalone(FeastFeatureStoreConfig(**settings))
        feast = store.feature_store
        services = {service.name: service for service in feast.list_feature_services()}
        if service_name not in services:
            raise FeastStoreError(
                f"feature service {service_name!r} is not registered in project "
                f"{feast.project!r} (registered: {sorted(services)}); apply the feature repo first"
            )
        views = resolve_features(feast, services[service_name])
        self._reader = OnlineVectorReader(feast, views)
        if self._reader.join_key != entity_column:
            raise FeastStoreError(
                f"feature service {service_name!r} is keyed by {self._reader.join_key!r}, but "
                f"feature_lookup.entity_column is {entity_column!r}"
            )
        key_field = next(c for c in views[0].view.entity_columns if c.name == entity_column)
        is_string = key_field.dtype.to_value_type() == ValueType.STRING
        self._entity_type: type[int] | type[str] = str if is_string else int
        self._feature_names = tuple(self._reader.feature_names)

    @property
    def feature_names(self) -> Sequence[str]:
        """Feature order of the service, the order the model must take them in."""
        return self._feature_names

    @property
    def entity_type(self) -> type[int] | type[str]:
        """``int`` for INT64/INT32 join keys, ``str`` for string keys."""
        return self._entity_type

    def lookup(self, entity_ids: Sequence[int | str]) -> FeatureRows:
        """Latest online values of ``entity_ids``; TTL-expired values count as stale."""
        vectors = self._reader.read(entity_ids)
        return FeatureRows(vectors.values.astype(np.float32), vectors.found, vectors.stale)
