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

from typing import Annotated, Literal

import pandas as pd
from zenml import step
from zenml_integrations.feast.project_steps import (
    FeatureSourceExport,
    Materialization,
    active_feature_store,
    materialize_views,
    training_frame,
    write_feature_source,
)
from zenml_integrations.training.dataset import DatasetSchema, check_table
from zenml_integrations.training.features import TrainingFeatures


@step(enable_cache=False)
def export_feature_source(
    raw_data: pd.DataFrame, dataset: DatasetSchema, feature_source: str
) -> Annotated[FeatureSourceExport, "feature_source_export"]:
    """Write the entity, timestamp and feature columns where the feature views read them.

    Never cached: the file is the step's effect. The target stays out, so the
    online store never serves a label.
    """
    features = check_table(raw_data, dataset)
    keys = [dataset.entity_column, dataset.timestamp_column]
    return write_feature_source(active_feature_store(), raw_data, keys, features, feature_source)


@step(enable_cache=False)
def apply_feature_definitions(
    feature_source_export: FeatureSourceExport,
) -> Annotated[list[str], "feature_views"]:
    """Register feature_repo/'s entities, views and services, and create their online tables."""
    store = active_feature_store()
    store.apply()
    return store.get_feature_views()


@step(enable_cache=False)
def materialize_features(
    feature_views: list[str], mode: Literal["full", "incremental"] = "full"
) -> Annotated[Materialization, "materialization"]:
    """Load the latest value per entity up to now into the online store.

    ``full`` reloads every row of the source; ``incremental`` only what
    arrived since each view's last load, and refuses a view never loaded.
    """
    return materialize_views(active_feature_store(), feature_views, mode)


@step(enable_cache=False)
def historical_features(
    raw_data: pd.DataFrame, dataset: DatasetSchema, features: TrainingFeatures
) -> Annotated[pd.DataFrame, "training_frame"]:
    """Each row's entity, timestamp and target with the feature service's values at that time.

    Never cached: the feature store changes outside the pipeline. Rows come
    back in the table's order; a row without features at its time fails the
    run (the store's ``on_missing_point_in_time`` decides).
    """
    keys = [dataset.entity_column, dataset.timestamp_column, dataset.target_column]
    store = active_feature_store()
    return training_frame(store, raw_data, keys, dataset.timestamp_column, features.feature_service)
