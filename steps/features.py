"""Feature store steps: publish the training table's features to Feast, read them back.

The stack's ``feast_store`` component points at the project's ``feature_repo/``.
``make features`` exports the table the project trains on (without its
target) as the feature views' parquet source, applies the definitions and
loads the latest values into the online store; with ``features.source:
feast`` the training pipeline then takes its features from historical
(point-in-time) retrieval of the model's feature service, the same service
the model server reads online.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, model_validator
from zenml import step
from zenml.client import Client
from zenml_integrations.feast.store import FeastFeatureStore
from zenml_integrations.lineage import frame_sha256
from zenml_integrations.training.dataset import DatasetSchema, check_table

# Before any event a table can hold: a full materialization loads every row.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


class TrainingFeatures(BaseModel):
    """Where the training pipeline takes feature values from.

    ``table``: the training table's own columns. ``feast``: the feature
    service's features at each row's timestamp, from the stack's feature store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["table", "feast"] = "table"
    feature_service: str | None = None

    @model_validator(mode="after")
    def _service_for_feast(self) -> TrainingFeatures:
        if self.source == "feast" and not self.feature_service:
            raise ValueError(
                "features.source 'feast' needs features.feature_service: the name of the "
                "FeatureService in feature_repo/ that lists the model's features"
            )
        return self


def active_feature_store() -> FeastFeatureStore:
    """The active stack's ``feast_store`` component, or an error saying which stack to use."""
    stack = Client().active_stack
    store = stack.feature_store
    if not isinstance(store, FeastFeatureStore):
        found = "no feature store" if store is None else f"feature store flavor {store.flavor!r}"
        raise RuntimeError(
            f"the active stack {stack.name!r} has {found}; these steps need the 'feast_store' "
            f"flavor: `make stack` applies stacks/local_feast.yaml in a Feast-enabled project"
        )
    return store


@step(enable_cache=False)
def export_feature_source(
    raw_data: pd.DataFrame, dataset: DatasetSchema, feature_source: str
) -> Annotated[dict[str, str], "feature_source_export"]:
    """Write the entity, timestamp and feature columns where the feature views read them.

    Never cached: the file is the step's effect. The target stays out, so the
    online store never serves a label.
    """
    features = check_table(raw_data, dataset)
    repo = Path(active_feature_store().feature_store.repo_path)
    path = Path(feature_source)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(
            f"feature_source {feature_source!r} must be a path inside the feature repository "
            f"{repo} (as the feature views' FileSource names it), e.g. data/features.parquet"
        )
    exported = raw_data[[dataset.entity_column, dataset.timestamp_column, *features]]
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    exported.to_parquet(repo / path, index=False)
    return {
        "path": str(repo / path),
        "rows": str(len(exported)),
        "features": ",".join(features),
        "sha256": frame_sha256(exported),
    }


@step(enable_cache=False)
def apply_feature_definitions(
    feature_source_export: dict[str, str],
) -> Annotated[list[str], "feature_views"]:
    """Register feature_repo/'s entities, views and services, and create their online tables."""
    store = active_feature_store()
    store.apply()
    return store.get_feature_views()


@step(enable_cache=False)
def materialize_features(
    feature_views: list[str], mode: Literal["full", "incremental"] = "full"
) -> Annotated[dict[str, str], "materialization"]:
    """Load the latest value per entity up to now into the online store.

    ``full`` reloads every row of the source; ``incremental`` only what
    arrived since each view's last load, and refuses a view never loaded (its
    start would be a guess: one TTL, or a year, before now).
    """
    store = active_feature_store()
    end = datetime.now(UTC)
    if mode == "full":
        store.materialize(EARLIEST, end, feature_views)
    else:
        views = store.feature_store.list_feature_views()
        never = [
            view.name
            for view in views
            if view.name in feature_views and view.most_recent_end_time is None
        ]
        if never:
            raise RuntimeError(
                f"feature view(s) {never} were never materialized, so an incremental load has "
                f"no start: run `make features` (a full load) first"
            )
        store.materialize_incremental(end, feature_views)
    return {"mode": mode, "end": end.isoformat(), "feature_views": ",".join(feature_views)}


@step(enable_cache=False)
def historical_features(
    raw_data: pd.DataFrame, dataset: DatasetSchema, features: TrainingFeatures
) -> Annotated[pd.DataFrame, "training_frame"]:
    """Each row's entity, timestamp and target with the feature service's values at that time.

    Never cached: the feature store changes outside the pipeline. Rows come
    back in the table's order; a row without features at its time fails the
    run (the store's ``on_missing_point_in_time`` decides).
    """
    assert features.feature_service is not None  # TrainingFeatures guarantees it
    store = active_feature_store()
    services = {service.name: service for service in store.get_feature_services()}
    service = services.get(features.feature_service)
    if service is None:
        raise RuntimeError(
            f"feature service {features.feature_service!r} is not registered in the feature "
            f"store (registered: {sorted(services)}); run `make features` first"
        )
    roles = [dataset.entity_column, dataset.timestamp_column, dataset.target_column]
    missing = [column for column in roles if column not in raw_data.columns]
    if missing:
        raise ValueError(
            f"the training table has no column(s) {missing}; its columns are "
            f"{sorted(map(str, raw_data.columns))}"
        )
    store_timestamp = store.config.timestamp_column
    entity_frame = raw_data[roles].rename(columns={dataset.timestamp_column: store_timestamp})
    frame = store.get_historical_features(entity_frame, service)
    return frame.rename(columns={store_timestamp: dataset.timestamp_column})
