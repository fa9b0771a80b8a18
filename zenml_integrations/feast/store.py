"""``FeastFeatureStore``: Feast behind ZenML, with guard rails and a store built once.

ZenML's own Feast store builds a ``feast.FeatureStore`` on every call (~60 ms
per call in benchmarks/RESULTS.md, ``make bench-feast``), cannot apply definitions or
materialize, and passes Feast's historical result through as is. This one
builds the Feast store once per process and configuration, aligns historical
features to the caller's rows, applies TTLs online as training does, and
materializes SQLite online stores several times faster than Feast.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import uuid4

import pandas as pd
from zenml.config.global_config import GlobalConfiguration
from zenml.enums import StackComponentType
from zenml.feature_stores import BaseFeatureStore
from zenml_integrations.catalog import kit_requirement
from zenml_integrations.feast.errors import FeastStoreError
from zenml_integrations.feast.features import (
    ViewFeatures,
    feature_request_key,
    resolve_features,
)
from zenml_integrations.feast.flavor import FEAST_STORE_FLAVOR, FeastFeatureStoreConfig
from zenml_integrations.feast.online import OnlineFeatureVectors, OnlineVectorReader
from zenml_integrations.feast.repo import ResolvedRepo, resolve_repo
from zenml_integrations.feast.retrieval import (
    align_to_entity_frame,
    apply_ttl,
    check_entity_frame,
    enforce_point_in_time,
    entity_query_frame,
)

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore, FeatureView

logger = logging.getLogger(__name__)
_Plan = TypeVar("_Plan")


@dataclass
class _CachedStore:
    """A built Feast store and the read plans made against its registry.

    Resolving a request against the registry costs milliseconds (Feast
    rebuilds feature view objects from protobuf with runtime type checks), so
    plans are kept until the registry is re-read: by ``apply``,
    ``refresh_registry`` or Feast's own cache expiry.
    """

    feature_store: FeatureStore
    plans: dict[tuple[str, ...], tuple[object, Any]] = field(default_factory=dict)

    def plan(self, key: tuple[str, ...], build: Callable[[], _Plan]) -> _Plan:
        """The cached result of ``build`` for ``key``, rebuilt after a registry refresh."""
        stamp = getattr(self.feature_store.registry, "cached_registry_proto_created", None)
        cached = self.plans.get(key)
        if cached is None or cached[0] != stamp:
            cached = self.plans[key] = (stamp, build())
        return cast(_Plan, cached[1])


_STORES: dict[str, _CachedStore] = {}
_STORES_LOCK = threading.Lock()


def _build(resolved: ResolvedRepo) -> FeatureStore:
    from feast import FeatureStore, RepoConfig

    if resolved.repo_config is None:
        return FeatureStore(repo_path=str(resolved.repo_path))
    # Feast creates only the last folder of a new registry or SQLite file.
    local_files = [resolved.repo_config["registry"]["path"]]
    if resolved.repo_config["online_store"]["type"] == "sqlite":
        local_files.append(resolved.repo_config["online_store"]["path"])
    for path in local_files:
        if "://" not in path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    config = RepoConfig(**resolved.repo_config, repo_path=resolved.repo_path)
    # repo_path here too: the file registry resolves against the store's, not the config's.
    return FeatureStore(repo_path=str(resolved.repo_path), config=config)


def _cached_store(resolved: ResolvedRepo) -> _CachedStore:
    with _STORES_LOCK:
        cached = _STORES.get(resolved.fingerprint)
        if cached is None:
            cached = _STORES[resolved.fingerprint] = _CachedStore(_build(resolved))
        return cached


def clear_feature_store_cache() -> None:
    """Forget every built Feast store, so the next call builds afresh (tests, benchmarks)."""
    with _STORES_LOCK:
        _STORES.clear()


def _feast_features(features: Sequence[str] | FeatureService) -> list[str] | FeatureService:
    from feast import FeatureService

    return features if isinstance(features, FeatureService) else list(features)


def _incremental_start(view: FeatureView, now: datetime) -> datetime:
    """Where Feast's ``materialize_incremental`` starts for ``view``."""
    if view.most_recent_end_time is not None:
        end = view.most_recent_end_time
        return end if end.tzinfo else end.replace(tzinfo=UTC)
    if view.ttl is None:
        raise FeastStoreError(
            f"feature view {view.name!r} has no TTL and was never materialized: incremental "
            f"materialization has no start; run materialize(start, end) once or set a TTL"
        )
    return now - (view.ttl if view.ttl.total_seconds() > 0 else timedelta(weeks=52))


class FeastFeatureStore(BaseFeatureStore):
    """Feast feature store with training/serving guard rails."""

    _resolved_repo: ResolvedRepo | None = None

    @property
    def config(self) -> FeastFeatureStoreConfig:
        """The store's configuration."""
        return cast(FeastFeatureStoreConfig, self._config)

    @property
    def requirements(self) -> set[str]:
        """Remote images need this package (ZenML only knows its own integrations)."""
        return {*super().requirements, kit_requirement("feast")}

    @classmethod
    def standalone(
        cls, config: FeastFeatureStoreConfig, name: str = FEAST_STORE_FLAVOR
    ) -> FeastFeatureStore:
        """A store outside any ZenML stack, e.g. in a model server or a notebook."""
        now = datetime.now(UTC)
        return cls(
            name=name,
            id=uuid4(),
            config=config,
            flavor=FEAST_STORE_FLAVOR,
            type=StackComponentType.FEATURE_STORE,
            user=None,
            created=now,
            updated=now,
        )

    def _local_folder(self) -> Path:
        # Like ZenML's local components: a folder per component in the local stores path.
        return Path(GlobalConfiguration().local_stores_path) / str(self.id)

    def _resolved(self) -> ResolvedRepo:
        if self._resolved_repo is None:
            self._resolved_repo = resolve_repo(self.config, self._local_folder)
        return self._resolved_repo

    def _cache(self) -> _CachedStore:
        return _cached_store(self._resolved())

    @property
    def feature_store(self) -> FeatureStore:
        """The Feast store, built once per process and configuration."""
        return self._cache().feature_store

    def refresh_registry(self) -> None:
        """Re-read the registry (changes applied by other processes) and drop read plans."""
        cache = self._cache()
        cache.feature_store.refresh_registry()  # type: ignore[no-untyped-call]
        cache.plans.clear()

    def apply(self, objects: Sequence[Any] | None = None) -> None:
        """Register feature definitions and create their online tables.

        Args:
            objects: Feast objects (entities, sources, feature views, feature
                services); None applies the definitions in ``repo_path``'s
                Python files. Objects missing from the list are kept.

        Raises:
            FeastApplyError: a definition is wrong; the message names it and why.
            FeastStoreError: ``objects`` is None but the store has no repo_path.
        """
        from zenml_integrations.feast.definitions import apply_definitions, load_repo_definitions

        if objects is None:
            if self.config.repo_path is None:
                raise FeastStoreError("apply() without objects needs repo_path in the config")
            objects = load_repo_definitions(self._resolved().repo_path)
        cache = self._cache()
        try:
            apply_definitions(cache.feature_store, objects)
        except Exception:
            # A failed apply can leave Feast's in-memory registry half-updated.
            with _STORES_LOCK:
                _STORES.pop(self._resolved().fingerprint, None)
            raise
        cache.plans.clear()

    def get_entities(self) -> list[str]:
        """Names of the registered entities."""
        return [entity.name for entity in self.feature_store.list_entities()]

    def get_feature_views(self) -> list[str]:
        """Names of the registered feature views."""
        return [view.name for view in self.feature_store.list_feature_views()]

    def get_feature_services(self) -> list[FeatureService]:
        """The registered feature services (objects, as ZenML's Feast store returns)."""
        return list(self.feature_store.list_feature_services())

    def get_historical_features(
        self,
        entity_df: Any,
        features: Sequence[str] | FeatureService,
        full_feature_names: bool = False,
    ) -> pd.DataFrame:
        """Point-in-time features for the rows of ``entity_df``, in its order.

        Args:
            entity_df: Entity keys and the configured timestamp column.
            features: ``"view:feature"`` references or a feature service.
            full_feature_names: Prefix feature columns with their view name.

        Returns:
            ``entity_df`` (same index, order and length) with one column per
            feature. In ``warn`` mode, rows without a point-in-time match hold
            NaN and ``frame.attrs["missing_point_in_time"]`` counts them.

        Raises:
            FeastRetrievalError: ``entity_df`` lacks the timestamp or key columns.
            MissingPointInTimeError: rows lack a match and the mode is ``fail``.
        """
        cache = self._cache()
        store = cache.feature_store
        views = self._views(cache, features)
        join_keys = list(dict.fromkeys(key for view in views for key in view.join_keys))
        timestamp_column = self.config.timestamp_column
        entity_df = check_entity_frame(entity_df, timestamp_column, join_keys)
        query = entity_query_frame(entity_df, join_keys, timestamp_column)
        retrieved = store.get_historical_features(
            entity_df=query,
            features=_feast_features(features),
            full_feature_names=full_feature_names,
        ).to_df()
        aligned = align_to_entity_frame(
            entity_df,
            retrieved,
            join_keys,
            timestamp_column,
            {view.name: view.columns(full_feature_names) for view in views},
        )
        warning = enforce_point_in_time(
            aligned, join_keys, timestamp_column, self.config.on_missing_point_in_time
        )
        if warning:
            logger.warning(warning)
        aligned.frame.attrs["missing_point_in_time"] = aligned.unmatched_count
        return aligned.frame

    def get_online_features(
        self,
        entity_rows: list[dict[str, Any]],
        features: Sequence[str] | FeatureService,
        full_feature_names: bool = False,
    ) -> dict[str, Any]:
        """Latest feature values per entity row; values older than their view's TTL are None.

        Feast's own online read serves values of any age, while historical
        retrieval treats values older than the TTL as missing; applying the
        TTL here keeps serving consistent with training.
        """
        cache = self._cache()
        store = cache.feature_store
        views = self._views(cache, features)
        response = store.get_online_features(
            features=_feast_features(features),
            entity_rows=entity_rows,
            full_feature_names=full_feature_names,
        ).to_dict(include_event_timestamps=True)
        ttl_by_column = {
            column: view.ttl_seconds
            for view in views
            for column in view.columns(full_feature_names)
        }
        return apply_ttl(response, ttl_by_column, time.time())

    def online_feature_vectors(
        self, entity_ids: Sequence[Any], features: Sequence[str] | FeatureService
    ) -> OnlineFeatureVectors:
        """The serving fast path: a float matrix for ``entity_ids`` with found/stale masks.

        The read plan is built on the first call per feature list and reused
        until the registry is re-read.
        """
        cache = self._cache()
        reader = cache.plan(
            ("reader", *feature_request_key(features)),
            lambda: OnlineVectorReader(cache.feature_store, self._views(cache, features)),
        )
        return reader.read(entity_ids)

    @staticmethod
    def _views(cache: _CachedStore, features: Sequence[str] | FeatureService) -> list[ViewFeatures]:
        return cache.plan(
            ("views", *feature_request_key(features)),
            lambda: resolve_features(cache.feature_store, features),
        )

    def materialize(
        self, start: datetime, end: datetime, feature_views: Sequence[str] | None = None
    ) -> None:
        """Load the latest values in ``[start, end]`` into the online store.

        Records the interval in the registry as Feast does, so a later
        ``materialize_incremental`` (ours or Feast's) continues from ``end``.
        """
        self._materialize(feature_views, start, end)

    def materialize_incremental(
        self, end: datetime, feature_views: Sequence[str] | None = None
    ) -> None:
        """Load what arrived since each view's last materialization (or ``now - ttl``)."""
        self._materialize(feature_views, None, end)

    def _materialize(
        self, names: Sequence[str] | None, start: datetime | None, end: datetime
    ) -> None:
        from feast.feature_view import FeatureViewState
        from zenml_integrations.feast.materialize import (
            fast_path_blocker,
            materialize_view_to_sqlite,
        )

        store = self.feature_store
        end = end if end.tzinfo else end.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        views, feast_only = self._views_to_materialize(store, names)
        for view in views:
            blocker = fast_path_blocker(store, view)
            if blocker:
                logger.info("Feast materializes %s itself: %s", view.name, blocker)
                feast_only.append(view.name)
                continue
            state = getattr(view, "state", FeatureViewState.STATE_UNSPECIFIED)
            if state not in (
                FeatureViewState.STATE_UNSPECIFIED,
                FeatureViewState.MATERIALIZING,
            ) and not state.can_transition_to(FeatureViewState.MATERIALIZING):
                raise FeastStoreError(
                    f"feature view {view.name!r} is {state.name} and cannot be materialized"
                )
            view_start = _incremental_start(view, now) if start is None else start
            view_start = view_start if view_start.tzinfo else view_start.replace(tzinfo=UTC)
            rows = materialize_view_to_sqlite(store, view, view_start, end)
            store.registry.apply_materialization(view, store.project, view_start, end)
            logger.info(
                "Materialized %d entities of %s from %s to %s", rows, view.name, view_start, end
            )
        if feast_only and start is not None:
            store.materialize(start, end, feature_views=feast_only)
        elif feast_only:
            store.materialize_incremental(end, feature_views=feast_only)

    @staticmethod
    def _views_to_materialize(
        store: FeatureStore, names: Sequence[str] | None
    ) -> tuple[list[FeatureView], list[str]]:
        """Batch views we may materialize, and names of other views only Feast can."""
        views = {view.name: view for view in store.list_feature_views()}
        others = [
            view.name
            for view in [*store.list_stream_feature_views(), *store.list_on_demand_feature_views()]
            if getattr(view, "enabled", True)
            and getattr(view, "online", getattr(view, "write_to_online_store", False))
        ]
        if names is None:
            return [view for view in views.values() if view.online and view.enabled], others
        unknown = [name for name in names if name not in views and name not in others]
        if unknown:
            raise FeastStoreError(
                f"unknown feature view(s) {unknown} to materialize (known: {sorted(views)})"
            )
        offline_only = [name for name in names if name in views and not views[name].online]
        if offline_only:
            raise FeastStoreError(f"feature view(s) {offline_only} are not served online")
        return [views[name] for name in names if name in views], [
            name for name in names if name in others
        ]
