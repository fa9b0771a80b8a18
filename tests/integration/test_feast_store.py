"""The Feast flavor against real Feast: SQLite online store, file offline store, tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from zenml_integrations.feast import materialize
from zenml_integrations.feast.errors import (
    FeastApplyError,
    FeastRetrievalError,
    MissingPointInTimeError,
)
from zenml_integrations.feast.flavor import FeastFeatureStoreConfig
from zenml_integrations.feast.materialize import fast_path_blocker
from zenml_integrations.feast.store import FeastFeatureStore, clear_feature_store_cache
from zenml_integrations.training.sample_data import generate_sample

pytest.importorskip("feast")

ENTITY = "customer_id"
TIMESTAMP = "event_timestamp"
VIEW = "customer_features"
SERVICE = "churn_model_v1"
TTL = timedelta(days=180)
CUSTOMERS = 800
NOW = pd.Timestamp.now(tz="UTC").floor("s")
FEATURES = [
    column
    for column in generate_sample(100).columns
    if column not in (ENTITY, TIMESTAMP, "churned")
]
REFS = [f"{VIEW}:{feature}" for feature in FEATURES]


def snapshots() -> pd.DataFrame:
    """Two snapshots for even customers, one for odd ones; the latest ends a month before now.

    Oldest rows are ~500 days old, so with a 180-day TTL some customers are
    stale online; a few NaN values check that missing values survive.
    """
    first = generate_sample(CUSTOMERS, seed=11).drop(columns=["churned"])
    first[TIMESTAMP] += (NOW - pd.Timedelta(days=150)) - first[TIMESTAMP].max()
    second = first[first[ENTITY] % 2 == 0].copy()
    second[TIMESTAMP] += pd.Timedelta(days=120)
    second[FEATURES] = second[FEATURES] * 1.5
    frame = pd.concat([first, second], ignore_index=True)
    frame.loc[frame.index % 37 == 0, "age"] = np.nan
    return frame


def definitions(source_path: str) -> list[Any]:
    from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64

    customer = Entity(name="customer", join_keys=[ENTITY], value_type=ValueType.INT64)
    source = FileSource(name="customer_snapshots", path=source_path, timestamp_field=TIMESTAMP)
    view = FeatureView(
        name=VIEW,
        entities=[customer],
        ttl=TTL,
        schema=[Field(name=feature, dtype=Float64) for feature in FEATURES],
        source=source,
    )
    return [customer, source, view, FeatureService(name=SERVICE, features=[view])]


def inline_store(base_dir: Path, **settings: Any) -> FeastFeatureStore:
    config = FeastFeatureStoreConfig(project="churn", base_dir=str(base_dir), **settings)
    return FeastFeatureStore.standalone(config)


def latest_before(source: pd.DataFrame, entity_df: pd.DataFrame) -> pd.DataFrame:
    """The expected point-in-time join, computed independently with merge_asof."""
    left = entity_df.reset_index(names="__position").sort_values(TIMESTAMP)
    right = source.sort_values(TIMESTAMP).rename(columns={TIMESTAMP: "__feature_ts"})
    right[TIMESTAMP] = right["__feature_ts"]
    merged = pd.merge_asof(
        left, right.drop(columns="__feature_ts"), on=TIMESTAMP, by=ENTITY, tolerance=TTL
    )
    return merged.set_index("__position").loc[entity_df.index]


@pytest.fixture(scope="module")
def source() -> pd.DataFrame:
    return snapshots()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, source: pd.DataFrame) -> FeastFeatureStore:
    """A store with the definitions applied and everything materialized."""
    base = tmp_path_factory.mktemp("served")
    source.to_parquet(base / "customers.parquet")
    store = inline_store(base)
    store.apply(definitions(str(base / "customers.parquet")))
    store.materialize(NOW - pd.Timedelta(days=600), NOW)
    return store


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    yield
    clear_feature_store_cache()


def test_given_definitions_when_applied_then_entities_views_and_services_are_listed(
    served: FeastFeatureStore,
) -> None:
    assert served.get_entities() == ["customer"]
    assert served.get_feature_views() == [VIEW]
    assert [service.name for service in served.get_feature_services()] == [SERVICE]


def test_given_a_view_reading_a_missing_column_when_applied_then_error_names_view_and_column(
    tmp_path: Path, source: pd.DataFrame
) -> None:
    source.drop(columns="age").to_parquet(tmp_path / "customers.parquet")
    store = inline_store(tmp_path)

    with pytest.raises(
        FeastApplyError, match=rf"feature view '{VIEW}'.*lacks column\(s\) \['age'\]"
    ):
        store.apply(definitions(str(tmp_path / "customers.parquet")))
    assert store.get_feature_views() == []


@pytest.fixture
def entity_df_with_gaps(source: pd.DataFrame) -> pd.DataFrame:
    """Rows 40 and 20 have no match: an unknown customer, and a time before any snapshot."""
    before_any = source[TIMESTAMP].min() - pd.Timedelta(days=1)
    recent_even, recent_odd = CUSTOMERS, CUSTOMERS - 1
    return pd.DataFrame(
        {
            ENTITY: [recent_even, 999_999, recent_odd, recent_even, recent_even],
            TIMESTAMP: [NOW, NOW, NOW - pd.Timedelta(days=10), before_any, NOW],
        },
        index=[50, 40, 30, 20, 10],
    )


def test_given_rows_without_a_point_in_time_match_when_fail_mode_then_count_and_keys_are_named(
    served: FeastFeatureStore, entity_df_with_gaps: pd.DataFrame
) -> None:
    with pytest.raises(MissingPointInTimeError, match=r"2 of 5 entity rows") as raised:
        served.get_historical_features(entity_df_with_gaps, REFS)
    assert "customer_id=999999" in str(raised.value)
    assert f"customer_id={CUSTOMERS}" in str(raised.value)


def test_given_rows_without_a_match_when_warn_mode_then_nan_rows_stay_in_the_callers_order(
    served: FeastFeatureStore, source: pd.DataFrame, entity_df_with_gaps: pd.DataFrame
) -> None:
    store = FeastFeatureStore.standalone(
        served.config.model_copy(update={"on_missing_point_in_time": "warn"})
    )
    service = store.feature_store.get_feature_service(SERVICE)

    result = store.get_historical_features(entity_df_with_gaps, service)

    assert list(result.index) == [50, 40, 30, 20, 10]
    assert result.attrs["missing_point_in_time"] == 2
    assert result.loc[[40, 20], FEATURES].isna().all().all()
    assert result.loc[[50, 30, 10], FEATURES].notna().any(axis=1).all()
    expected = latest_before(source, entity_df_with_gaps)
    pd.testing.assert_frame_equal(result[FEATURES], expected[FEATURES], check_dtype=False)


def test_given_a_shuffled_entity_frame_when_historical_then_rows_follow_the_callers_order(
    served: FeastFeatureStore, source: pd.DataFrame
) -> None:
    rng = np.random.default_rng(3)
    entity_df = pd.DataFrame(
        {
            ENTITY: rng.integers(1, CUSTOMERS + 1, 400),
            TIMESTAMP: NOW - pd.to_timedelta(rng.integers(0, 400 * 86400, 400), unit="s"),
            "label": rng.integers(0, 2, 400),
        },
        index=rng.permutation(np.arange(1000, 1400)),
    )
    expected = latest_before(source, entity_df)
    unmatched = int(expected[FEATURES].isna().all(axis=1).sum())
    assert 0 < unmatched < 300, "fixture: some rows match, some do not"
    store = FeastFeatureStore.standalone(
        served.config.model_copy(update={"on_missing_point_in_time": "warn"})
    )

    result = store.get_historical_features(entity_df, REFS)

    pd.testing.assert_frame_equal(result[[ENTITY, TIMESTAMP, "label"]], entity_df)
    pd.testing.assert_frame_equal(result[FEATURES], expected[FEATURES], check_dtype=False)
    assert result.attrs["missing_point_in_time"] == unmatched


def test_given_an_entity_frame_without_timestamp_when_historical_then_it_is_refused(
    served: FeastFeatureStore,
) -> None:
    with pytest.raises(FeastRetrievalError, match="no 'event_timestamp' column"):
        served.get_historical_features(pd.DataFrame({ENTITY: [1, 2]}), REFS)


def test_given_materialized_values_when_online_then_the_latest_fresh_values_are_served(
    served: FeastFeatureStore, source: pd.DataFrame
) -> None:
    latest = source.sort_values(TIMESTAMP).drop_duplicates(ENTITY, keep="last").set_index(ENTITY)
    fresh = latest[latest[TIMESTAMP] >= NOW - TTL]
    ids = [int(i) for i in fresh.index[:20]]

    online = served.get_online_features([{ENTITY: i} for i in ids], REFS)
    vectors = served.online_feature_vectors([*ids, 999_999], REFS)

    expected = fresh.loc[ids, FEATURES]
    served_frame = pd.DataFrame({feature: online[feature] for feature in FEATURES}, index=ids)
    pd.testing.assert_frame_equal(served_frame.astype(float), expected, check_names=False)
    np.testing.assert_array_equal(vectors.values[:-1], expected.to_numpy())
    assert vectors.feature_names == FEATURES
    assert vectors.found.tolist() == [True] * len(ids) + [False]
    assert not vectors.stale.any()


def test_given_values_older_than_the_ttl_when_online_then_missing_unlike_feasts_own_read(
    served: FeastFeatureStore, source: pd.DataFrame
) -> None:
    latest = source.sort_values(TIMESTAMP).drop_duplicates(ENTITY, keep="last")
    stale_id = int(latest.loc[latest[TIMESTAMP] < NOW - TTL, ENTITY].iloc[0])

    feast_values = served.feature_store.get_online_features(REFS, [{ENTITY: stale_id}]).to_dict()
    ours = served.get_online_features([{ENTITY: stale_id}], REFS)
    vectors = served.online_feature_vectors([stale_id], REFS)

    assert feast_values["tenure_months"][0] is not None, "Feast serves values of any age"
    assert all(ours[feature] == [None] for feature in FEATURES)
    assert np.isnan(vectors.values).all()
    assert vectors.found.tolist() == [True]
    assert vectors.stale.tolist() == [True]


def online_rows(database: Path) -> set[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return set(connection.execute(f'SELECT * FROM "churn_{VIEW}"').fetchall())


def test_given_fast_materialization_when_compared_with_feast_then_online_rows_are_identical(
    tmp_path: Path, source: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(materialize, "_FEATURES_PER_STATEMENT", 4)  # 11 features: 3 statements
    source.to_parquet(tmp_path / "customers.parquet")
    ours, feasts = inline_store(tmp_path / "ours"), inline_store(tmp_path / "feast")
    for store in (ours, feasts):
        store.apply(definitions(str(tmp_path / "customers.parquet")))

    view = ours.feature_store.get_feature_view(VIEW)
    assert fast_path_blocker(ours.feature_store, view) is None, "our path, not Feast's, runs"

    called_at = pd.Timestamp.now(tz="UTC")
    ours.materialize_incremental(NOW)
    feasts.feature_store.materialize_incremental(NOW.to_pydatetime())

    rows = online_rows(tmp_path / "ours" / "data" / "online_store.db")
    assert rows == online_rows(tmp_path / "feast" / "data" / "online_store.db")
    assert len(rows) > 100 * len(FEATURES)
    assert any(row[3] is None for row in rows), "NaN values are part of the comparison"
    view = ours.feature_store.get_feature_view(VIEW)
    assert view.most_recent_end_time == NOW.to_pydatetime()
    start, _ = view.materialization_intervals[-1]
    # Like Feast, a first incremental run starts one TTL before the wall clock at
    # the call (not before NOW, which was fixed when this module was imported).
    margin = pd.Timedelta(minutes=1)
    assert called_at - TTL - margin < start < pd.Timestamp.now(tz="UTC") - TTL + margin


def test_given_keys_and_values_when_encoded_then_bytes_equal_feasts_own_serialization() -> None:
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.infra.online_stores.helpers import extract_text_and_num
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.type_map import python_values_to_proto_values
    from feast.value_type import ValueType

    frame = pd.DataFrame({"id": [0, -7, 2**40], "name": ["a", "Zoë", ""]})
    doubles = np.array([0.0, -0.0, np.inf, np.nan, 1e-300, 2.5])
    for column, value_type in (("id", ValueType.INT64), ("name", ValueType.STRING)):
        protos = python_values_to_proto_values(list(frame[column]), value_type)
        expected = [
            serialize_entity_key(EntityKey(join_keys=[column], entity_values=[proto]), 3)
            for proto in protos
        ]
        assert materialize.encode_entity_keys(frame, {column: value_type}, 3) == expected
    protos = python_values_to_proto_values(list(doubles), ValueType.DOUBLE)
    blobs, texts = materialize.encode_feature_values(doubles, ValueType.DOUBLE)
    assert blobs == [proto.SerializeToString() for proto in protos]
    assert texts == [extract_text_and_num(proto, False)[0] for proto in protos]


def test_given_our_materialization_when_feast_continues_incrementally_then_it_starts_at_our_end(
    tmp_path: Path, source: pd.DataFrame
) -> None:
    source.to_parquet(tmp_path / "customers.parquet")
    store = inline_store(tmp_path)
    store.apply(definitions(str(tmp_path / "customers.parquet")))
    store.materialize(NOW - pd.Timedelta(days=600), NOW - pd.Timedelta(days=60))

    store.feature_store.materialize_incremental(NOW.to_pydatetime())

    intervals = store.feature_store.get_feature_view(VIEW).materialization_intervals
    assert intervals[-1] == ((NOW - pd.Timedelta(days=60)).to_pydatetime(), NOW.to_pydatetime())


def test_given_the_same_config_when_the_store_is_used_twice_then_feast_is_built_once(
    served: FeastFeatureStore,
) -> None:
    again = FeastFeatureStore.standalone(served.config)

    assert served.feature_store is served.feature_store
    assert again.feature_store is served.feature_store


def test_given_another_working_directory_when_used_then_paths_resolve_against_base_dir(
    served: FeastFeatureStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    clear_feature_store_cache()
    store = FeastFeatureStore.standalone(served.config)

    vectors = store.online_feature_vectors([CUSTOMERS, CUSTOMERS - 2], REFS)
    history = store.get_historical_features(
        pd.DataFrame({ENTITY: [CUSTOMERS], TIMESTAMP: [NOW]}), [f"{VIEW}:tenure_months"]
    )

    assert vectors.found.all()
    assert len(history) == 1
    assert list(elsewhere.iterdir()) == []


def test_given_a_feast_repository_when_applied_from_another_directory_then_definitions_load(
    source: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "feature_repo"
    (repo / "data").mkdir(parents=True)
    source.to_parquet(repo / "data" / "customers.parquet")
    (repo / "feature_store.yaml").write_text(
        "project: churn_repo\nprovider: local\nregistry: data/registry.db\n"
        "online_store:\n  type: sqlite\n  path: data/online.db\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n"
    )
    (repo / "entities.py").write_text(
        "from feast import Entity, ValueType\n"
        f"customer = Entity(name='customer', join_keys=['{ENTITY}'], value_type=ValueType.INT64)\n"
    )
    (repo / "views.py").write_text(
        "from datetime import timedelta\n"
        "from feast import FeatureView, FileSource\n"
        "from entities import customer\n"
        f"source = FileSource(path='data/customers.parquet', timestamp_field='{TIMESTAMP}')\n"
        f"view = FeatureView(name='{VIEW}', entities=[customer], ttl=timedelta(days=180),"
        " source=source)\n"
    )
    monkeypatch.chdir(tmp_path)
    store = FeastFeatureStore.standalone(FeastFeatureStoreConfig(repo_path=str(repo)))

    store.apply()
    store.materialize(NOW - pd.Timedelta(days=600), NOW)

    assert store.get_feature_views() == [VIEW]
    assert (repo / "data" / "online.db").is_file()
    assert store.online_feature_vectors([CUSTOMERS], [f"{VIEW}:age"]).found.all()
