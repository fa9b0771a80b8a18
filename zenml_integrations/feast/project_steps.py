"""What a project's feature steps do: publish a table to Feast, load it online, read it back.

The steps in a generated project only wire ZenML to these functions, so their
guards (a store in the stack, a source path inside the repository, a view
loaded in full before an incremental load) improve with a library upgrade.
Feast itself is imported by the store, only when a function runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict
from zenml_integrations.feast.errors import (
    FeastRetrievalError,
    FeatureServiceNotFound,
    FeatureSourceError,
    FeatureStoreNotInStack,
    NeverMaterializedError,
)
from zenml_integrations.lineage import frame_sha256

if TYPE_CHECKING:
    from zenml_integrations.feast.store import FeastFeatureStore

# Before any event a table can hold: a full materialization loads every row.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class FeatureSourceExport(BaseModel):
    """The parquet file the feature views read, as the export step wrote it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    rows: int
    features: list[str]
    sha256: str


class Materialization(BaseModel):
    """One load of the online store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["full", "incremental"]
    end: datetime
    feature_views: list[str]


def active_feature_store() -> FeastFeatureStore:
    """The active stack's ``feast_store`` component.

    Raises:
        FeatureStoreNotInStack: naming the stack, what it has, and the recipe to apply.
    """
    from zenml.client import Client
    from zenml_integrations.feast.store import FeastFeatureStore

    stack = Client().active_stack
    store = stack.feature_store
    if not isinstance(store, FeastFeatureStore):
        found = "no feature store" if store is None else f"feature store flavor {store.flavor!r}"
        raise FeatureStoreNotInStack(
            f"the active stack {stack.name!r} has {found}; these steps need the 'feast_store' "
            f"flavor: `make stack` applies stacks/local_feast.yaml in a Feast-enabled project"
        )
    return store


def write_feature_source(
    store: FeastFeatureStore,
    frame: pd.DataFrame,
    key_columns: list[str],
    features: list[str],
    feature_source: str,
) -> FeatureSourceExport:
    """Write the key (entity, timestamp) and feature columns where the feature views read them.

    Raises:
        FeatureSourceError: when ``feature_source`` points outside the repository.
    """
    repo = Path(store.feature_store.repo_path)
    path = Path(feature_source)
    if path.is_absolute() or ".." in path.parts:
        raise FeatureSourceError(
            f"feature_source {feature_source!r} must be a path inside the feature repository "
            f"{repo} (as the feature views' FileSource names it), e.g. data/features.parquet"
        )
    exported = frame[[*key_columns, *features]]
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    exported.to_parquet(repo / path, index=False)
    return FeatureSourceExport(
        path=str(repo / path), rows=len(exported), features=features, sha256=frame_sha256(exported)
    )


def materialize_views(
    store: FeastFeatureStore, feature_views: list[str], mode: Literal["full", "incremental"]
) -> Materialization:
    """Load the latest value per entity up to now into the online store.

    ``full`` reloads every row of the source; ``incremental`` only what
    arrived since each view's last load.

    Raises:
        NeverMaterializedError: for an incremental load of a view never loaded, whose
            start would be a guess (one TTL, or a year, before now).
    """
    end = datetime.now(UTC)
    if mode == "full":
        store.materialize(EARLIEST, end, feature_views)
        return Materialization(mode=mode, end=end, feature_views=feature_views)
    never = [
        view.name
        for view in store.feature_store.list_feature_views()
        if view.name in feature_views and view.most_recent_end_time is None
    ]
    if never:
        raise NeverMaterializedError(
            f"feature view(s) {never} were never materialized, so an incremental load has "
            f"no start: run `make features` (a full load) first"
        )
    store.materialize_incremental(end, feature_views)
    return Materialization(mode=mode, end=end, feature_views=feature_views)


def training_frame(
    store: FeastFeatureStore,
    table: pd.DataFrame,
    key_columns: list[str],
    timestamp_column: str,
    feature_service: str | None,
) -> pd.DataFrame:
    """``table``'s ``key_columns`` with the feature service's values at each row's timestamp.

    Rows come back in the table's order; ``key_columns`` (entity, timestamp,
    target) must include ``timestamp_column``.

    Raises:
        FeatureServiceNotFound: when no service is named or it is not registered.
        FeastRetrievalError: when the table lacks a key column.
    """
    services = {service.name: service for service in store.get_feature_services()}
    service = services.get(feature_service or "")
    if service is None:
        raise FeatureServiceNotFound(
            f"feature service {feature_service!r} is not registered in the feature "
            f"store (registered: {sorted(services)}); run `make features` first"
        )
    missing = [column for column in key_columns if column not in table.columns]
    if missing:
        raise FeastRetrievalError(
            f"the training table has no column(s) {missing}; its columns are "
            f"{sorted(map(str, table.columns))}"
        )
    store_timestamp = store.config.timestamp_column
    entity_frame = table[key_columns].rename(columns={timestamp_column: store_timestamp})
    frame = store.get_historical_features(entity_frame, service)
    return frame.rename(columns={store_timestamp: timestamp_column})
