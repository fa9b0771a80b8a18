"""Features: training table → feature source → Feast definitions → online store."""

from __future__ import annotations

from typing import Literal

from zenml import pipeline
from zenml_integrations.monitoring.health_hooks import report_run_failure, report_run_success
from zenml_integrations.training.dataset import DatasetSchema, DataSource, source_fingerprint

from steps.data import load_data
from steps.features import apply_feature_definitions, export_feature_source, materialize_features


@pipeline(on_success=report_run_success, on_failure=report_run_failure)
def materialize_pipeline(
    source: DataSource,
    dataset: DatasetSchema,
    feature_source: str,
    mode: Literal["full", "incremental"] = "full",
) -> None:
    """Publish the training table's features and load them into the online store.

    ``feature_source`` is the parquet file, inside the feature repository, that
    the feature views read. ``full`` reloads every value; ``incremental`` loads
    what arrived since the last run.
    """
    raw_data = load_data(source=source, dataset=dataset, fingerprint=source_fingerprint(source))
    exported = export_feature_source(
        raw_data=raw_data, dataset=dataset, feature_source=feature_source
    )
    feature_views = apply_feature_definitions(feature_source_export=exported)
    materialize_features(feature_views=feature_views, mode=mode)
