"""Feature definitions: load them from a repository and check them before Feast applies them.

``feast apply`` imports a repository's files as modules named after their
path relative to the working directory, so it only works when run from the
repository; and when a definition is wrong, Feast raises from deep inside
inference (a missing parquet file is a bare ``FileNotFoundError``) without
saying which definition caused it. Here the files are imported under their
names relative to the repository, from any working directory, and every
definition is checked first, so an error names the object and the reason.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from zenml_integrations.feast.errors import FeastApplyError

if TYPE_CHECKING:
    from feast import Entity, FeatureService, FeatureStore, FeatureView


def describe(obj: Any) -> str:
    """``feature view 'customer_features'``: how errors name a Feast object."""
    kind = "".join(" " + c.lower() if c.isupper() else c for c in type(obj).__name__).strip()
    return f"{kind} {getattr(obj, 'name', '?')!r}"


def load_repo_definitions(repo_path: Path) -> list[Any]:
    """Every Feast object defined in the repository's Python files (``.feastignore`` honoured).

    Raises:
        FeastApplyError: a definitions file fails to import.
    """
    from feast import Entity, FeatureService
    from feast.base_feature_view import BaseFeatureView
    from feast.data_source import DataSource
    from feast.repo_operations import get_repo_files

    kinds = (DataSource, Entity, BaseFeatureView, FeatureService)
    repo_path = repo_path.resolve()  # get_repo_files returns resolved paths
    files = get_repo_files(repo_path)
    # Files import each other by module name (``from entities import customer``), so
    # they are imported under those names, as ``feast apply`` does from the repository;
    # same-named modules of other code are set aside meanwhile and restored after.
    names = [".".join(file.relative_to(repo_path).with_suffix("").parts) for file in files]
    set_aside = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    found: list[Any] = []
    sys.path.insert(0, str(repo_path))
    try:
        for file, name in zip(files, names, strict=True):
            try:
                module = importlib.import_module(name)
            except Exception as error:
                raise FeastApplyError(
                    f"definitions file {str(file)!r} failed to import: "
                    f"{type(error).__name__}: {error}"
                ) from error
            for value in vars(module).values():
                if isinstance(value, kinds) and not any(value is seen for seen in found):
                    found.append(value)
    finally:
        sys.path.remove(str(repo_path))
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(set_aside)
    return found


def check_definitions(store: FeatureStore, objects: Sequence[Any]) -> None:
    """Refuse definitions Feast would fail on, naming the object and the reason.

    Checks names are unique per kind, feature views reference known entities
    and readable parquet sources with the declared columns, and feature
    services reference known feature views and features.

    Raises:
        FeastApplyError: the first definition found wrong.
    """
    from feast import Entity, FeatureService, FeatureView

    seen: set[tuple[str, str]] = set()
    for obj in objects:
        key = (type(obj).__name__, getattr(obj, "name", ""))
        if key in seen:
            raise FeastApplyError(f"{describe(obj)} is defined twice; names must be unique")
        seen.add(key)
    entities: dict[str, Entity] = {entity.name: entity for entity in store.list_entities()}
    entities |= {obj.name: obj for obj in objects if isinstance(obj, Entity)}
    views: dict[str, FeatureView] = {view.name: view for view in store.list_feature_views()}
    views |= {obj.name: obj for obj in objects if isinstance(obj, FeatureView)}
    for obj in objects:
        if isinstance(obj, FeatureView):
            _check_feature_view(store, obj, entities)
        elif isinstance(obj, FeatureService):
            _check_feature_service(obj, views)


def _check_feature_view(
    store: FeatureStore, view: FeatureView, entities: dict[str, Entity]
) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]
    from feast import FileSource
    from feast.feature_view import DUMMY_ENTITY_NAME

    entity_names = [name for name in view.entities if name != DUMMY_ENTITY_NAME]
    unknown = [name for name in entity_names if name not in entities]
    if unknown:
        raise FeastApplyError(
            f"{describe(view)} uses unknown entit(ies) {unknown}; define or apply them "
            f"(known: {sorted(entities)})"
        )
    source = view.batch_source
    if not isinstance(source, FileSource) or urlparse(source.path).scheme not in ("", "file"):
        return
    path = Path(FileSource.get_uri_for_file_path(store.config.repo_path, source.path))
    if not path.exists():
        raise FeastApplyError(f"{describe(view)}: source file {str(path)!r} does not exist")
    try:
        available = set(pq.read_schema(path).names)
    except Exception as error:
        raise FeastApplyError(
            f"{describe(view)}: source file {str(path)!r} is not readable parquet: {error}"
        ) from error
    to_source = {feature: column for column, feature in (source.field_mapping or {}).items()}
    wanted = [source.timestamp_field]
    wanted += [entities[name].join_key for name in entity_names]
    wanted += [to_source.get(feature.name, feature.name) for feature in view.features]
    missing = [column for column in wanted if column and column not in available]
    if missing:
        raise FeastApplyError(
            f"{describe(view)}: source {str(path)!r} lacks column(s) {missing} "
            f"(it has {sorted(available)})"
        )


def _check_feature_service(service: FeatureService, views: dict[str, FeatureView]) -> None:
    for projection in service.feature_view_projections:
        view = views.get(projection.name)
        if view is None:
            raise FeastApplyError(
                f"{describe(service)} uses unknown feature view {projection.name!r} "
                f"(known: {sorted(views)})"
            )
        known = {feature.name for feature in view.features}
        unknown = [f.name for f in projection.features if known and f.name not in known]
        if unknown:
            raise FeastApplyError(
                f"{describe(service)} requests {unknown} that feature view {view.name!r} lacks"
            )


def apply_definitions(store: FeatureStore, objects: Sequence[Any]) -> None:
    """Check, then register ``objects`` and create their online tables.

    Raises:
        FeastApplyError: a definition is wrong, or Feast's apply fails (the
            message then lists the objects being applied and Feast's reason).
    """
    check_definitions(store, objects)
    try:
        store.apply(list(objects))
    except Exception as error:
        names = ", ".join(describe(obj) for obj in objects)
        raise FeastApplyError(
            f"feast apply failed for [{names}]: {type(error).__name__}: {error}"
        ) from error
