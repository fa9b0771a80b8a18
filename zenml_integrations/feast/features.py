"""Which feature views a feature request touches, with their join keys and TTLs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from zenml_integrations.feast.errors import FeastRetrievalError

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore, FeatureView


@dataclass(frozen=True)
class ViewFeatures:
    """The features requested from one feature view.

    Attributes:
        view: The feature view.
        name: The name features are referenced by (the projection's alias or the view name).
        features: Requested feature names, in request order.
        join_keys: The view's entity join key columns.
        ttl_seconds: The view's TTL; None when values never expire.
    """

    view: Any
    name: str
    features: tuple[str, ...]
    join_keys: tuple[str, ...]
    ttl_seconds: float | None

    def columns(self, full_feature_names: bool) -> list[str]:
        """The result column names Feast gives these features."""
        if full_feature_names:
            return [f"{self.name}__{feature}" for feature in self.features]
        return list(self.features)


def feature_request_key(features: Sequence[str] | FeatureService) -> tuple[str, ...]:
    """A hashable key for a request: the service name, or the feature references."""
    from feast import FeatureService

    if isinstance(features, FeatureService):
        return ("service", features.name)
    return ("refs", *features)


def resolve_features(
    store: FeatureStore, features: Sequence[str] | FeatureService
) -> list[ViewFeatures]:
    """Group a request (``"view:feature"`` references or a feature service) by feature view.

    Raises:
        FeastRetrievalError: a reference is malformed or names an unknown view
            or feature, or a view is not a batch feature view.
    """
    from feast import FeatureService

    requested: dict[str, list[str]] = {}
    if isinstance(features, FeatureService):
        views = {}
        for projection in features.feature_view_projections:
            name = cast(str, projection.name_to_use())  # type: ignore[no-untyped-call]
            requested.setdefault(name, []).extend(f.name for f in projection.features)
            views[name] = _feature_view(store, projection.name)
    else:
        if isinstance(features, str):
            raise FeastRetrievalError(
                f"features must be a list of 'view:feature' references or a FeatureService, "
                f"got the string {features!r}"
            )
        for reference in features:
            view_name, separator, feature = reference.partition(":")
            if not separator or not view_name or not feature:
                raise FeastRetrievalError(
                    f"feature reference {reference!r} is not of the form 'view:feature'"
                )
            requested.setdefault(view_name, []).append(feature)
        views = {name: _feature_view(store, name) for name in requested}
    resolved = []
    for name, names in requested.items():
        view = views[name]
        known = {feature.name for feature in view.features}
        unknown = [feature for feature in names if feature not in known]
        if unknown:
            raise FeastRetrievalError(
                f"feature view {view.name!r} has no feature(s) {unknown} (it has {sorted(known)})"
            )
        ttl = view.ttl.total_seconds() if view.ttl else None
        resolved.append(
            ViewFeatures(
                view=view,
                name=name,
                features=tuple(names),
                join_keys=tuple(column.name for column in view.entity_columns),
                ttl_seconds=ttl or None,
            )
        )
    return resolved


def _feature_view(store: FeatureStore, name: str) -> FeatureView:
    from feast.errors import FeatureViewNotFoundException

    try:
        return store.get_feature_view(name, allow_registry_cache=True)
    except FeatureViewNotFoundException as error:
        known = sorted(view.name for view in store.list_feature_views())
        raise FeastRetrievalError(
            f"{name!r} is not a batch feature view of project {store.project!r} (known: {known}); "
            f"on-demand and stream views are not covered by the guard rails: use the Feast "
            f"FeatureStore (store.feature_store) for them"
        ) from error
