"""The guards of the project's feature steps, against stand-ins for the store's few calls.

The real store behind them is exercised by tests/integration/test_feature_steps.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from zenml_integrations.feast.errors import (
    FeastRetrievalError,
    FeastStoreError,
    FeatureServiceNotFound,
    FeatureSourceError,
    FeatureStoreNotInStack,
    NeverMaterializedError,
)
from zenml_integrations.feast.project_steps import (
    EARLIEST,
    active_feature_store,
    materialize_views,
    training_frame,
    write_feature_source,
)
from zenml_integrations.lineage import frame_sha256


class StandInStore:
    """The calls the project functions make on a FeastFeatureStore, recorded."""

    def __init__(self, repo: Path, views: dict[str, Any] | None = None) -> None:
        self.feature_store = SimpleNamespace(
            repo_path=str(repo), list_feature_views=lambda: list((views or {}).values())
        )
        self.config = SimpleNamespace(timestamp_column="ts")
        self.calls: list[tuple[Any, ...]] = []

    def materialize(self, start: Any, end: Any, views: list[str]) -> None:
        self.calls.append(("full", start, views))

    def materialize_incremental(self, end: Any, views: list[str]) -> None:
        self.calls.append(("incremental", views))

    def get_feature_services(self) -> list[Any]:
        return [SimpleNamespace(name="churn")]

    def get_historical_features(self, entity_frame: pd.DataFrame, service: Any) -> pd.DataFrame:
        self.calls.append(("historical", list(entity_frame.columns), service.name))
        return entity_frame.assign(age=1.0)


def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [1, 2],
            "event_timestamp": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
            "age": [30.0, 40.0],
            "churned": [0, 1],
        }
    )


@pytest.mark.parametrize("source", ["../outside.parquet", "/tmp/features.parquet"])
def test_given_a_source_outside_the_repo_when_exported_then_refused_and_nothing_written(
    tmp_path: Path, source: str
) -> None:
    store: Any = StandInStore(tmp_path / "repo")
    with pytest.raises(FeatureSourceError, match="must be a path inside the feature repository"):
        write_feature_source(store, table(), ["customer_id", "event_timestamp"], ["age"], source)
    assert not (tmp_path / "outside.parquet").exists()


def test_given_a_table_when_exported_then_keys_and_features_only_and_typed_result(
    tmp_path: Path,
) -> None:
    store: Any = StandInStore(tmp_path / "repo")

    export = write_feature_source(
        store, table(), ["customer_id", "event_timestamp"], ["age"], "data/features.parquet"
    )

    written = pd.read_parquet(export.path)
    assert Path(export.path) == tmp_path / "repo" / "data" / "features.parquet"
    assert list(written.columns) == ["customer_id", "event_timestamp", "age"]
    assert (export.rows, export.features) == (2, ["age"])
    assert export.sha256 == frame_sha256(table()[["customer_id", "event_timestamp", "age"]])


def test_given_a_view_never_loaded_when_loaded_incrementally_then_refused(tmp_path: Path) -> None:
    never_loaded = SimpleNamespace(name="customer_features", most_recent_end_time=None)
    views = {"customer_features": never_loaded}
    store: Any = StandInStore(tmp_path, views)

    with pytest.raises(NeverMaterializedError, match=r"a full load\) first"):
        materialize_views(store, ["customer_features"], "incremental")
    full = materialize_views(store, ["customer_features"], "full")

    assert store.calls == [("full", EARLIEST, ["customer_features"])]
    assert (full.mode, full.feature_views) == ("full", ["customer_features"])


def test_given_a_service_when_training_frame_read_then_timestamps_renamed_both_ways(
    tmp_path: Path,
) -> None:
    store: Any = StandInStore(tmp_path)
    keys = ["customer_id", "event_timestamp", "churned"]

    frame = training_frame(store, table(), keys, "event_timestamp", "churn")

    assert store.calls == [("historical", ["customer_id", "ts", "churned"], "churn")]
    assert list(frame.columns) == [*keys, "age"]


def test_given_an_unknown_service_or_missing_key_when_read_then_refused(tmp_path: Path) -> None:
    store: Any = StandInStore(tmp_path)
    keys = ["customer_id", "event_timestamp", "churned"]

    with pytest.raises(FeatureServiceNotFound, match=r"registered: \['churn'\]"):
        training_frame(store, table(), keys, "event_timestamp", "other")
    with pytest.raises(FeatureServiceNotFound, match="None is not registered"):
        training_frame(store, table(), keys, "event_timestamp", None)
    with pytest.raises(FeastRetrievalError, match=r"has no column\(s\) \['churned'\]"):
        training_frame(store, table().drop(columns="churned"), keys, "event_timestamp", "churn")


def test_given_a_stack_without_feast_when_asked_for_the_store_then_error_names_the_recipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = SimpleNamespace(name="default", feature_store=None)
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(active_stack=stack))

    with pytest.raises(FeatureStoreNotInStack, match="'default' has no feature store") as raised:
        active_feature_store()
    assert "stacks/local_feast.yaml" in str(raised.value)
    assert isinstance(raised.value, FeastStoreError)
