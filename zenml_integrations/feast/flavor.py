"""The ``feast_store`` feature store flavor: configuration only, cheap to import."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator
from zenml.feature_stores.base_feature_store import (
    BaseFeatureStoreConfig,
    BaseFeatureStoreFlavor,
)
from zenml.utils.secret_utils import SecretField, is_secret_reference
from zenml_integrations.flavor_docs import flavor_page_url

if TYPE_CHECKING:
    from zenml_integrations.feast.store import FeastFeatureStore

FEAST_STORE_FLAVOR = "feast_store"

# Feast's own rule for project names (feast.repo_operations.is_valid_name).
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_ENV_PLACEHOLDER = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_URL_PASSWORD = re.compile(r"://[^/@:]*:(?P<password>[^@/]+)@")
_INLINE_FIELDS = (
    "project",
    "provider",
    "registry_path",
    "online_store",
    "online_store_path",
    "redis_connection_string",
    "offline_store",
)


def literal_redis_password(connection_string: str) -> bool:
    """True when the connection string carries a password that is not a ``${VAR}`` placeholder.

    Feast's Redis format is ``host:port,password=...,ssl=true``; URL forms
    (``redis://user:password@host``) are checked as well.
    """
    for part in connection_string.split(","):
        key, _, value = part.partition("=")
        if key.strip().lower() == "password" and not _ENV_PLACEHOLDER.match(value.strip()):
            return True
    match = _URL_PASSWORD.search(connection_string)
    return bool(match and not _ENV_PLACEHOLDER.match(match.group("password")))


class FeastFeatureStoreConfig(BaseFeatureStoreConfig):
    """Where the Feast registry, online store and offline store live.

    Either point at a Feast repository (``repo_path``, a folder with
    ``feature_store.yaml``) or give the store inline (``project`` and the
    settings below). Relative paths never depend on the working directory:
    they resolve against ``base_dir`` (inline default: this component's
    folder in ZenML's local stores) or, inside a repository, against the
    repository, so a step, a notebook and a server in other folders all
    reach the same files.

    Redis credentials never sit in the stack config in clear text: write
    ``password=${REDIS_PASSWORD}`` (expanded from the environment when the
    store is built, like Feast does for ``feature_store.yaml``) or put the
    whole connection string in a ZenML secret and set the field to
    ``{{secret_name.key}}``.
    """

    repo_path: str | None = Field(
        default=None,
        description="Feast repository with feature_store.yaml (absolute or under base_dir).",
    )
    base_dir: str | None = Field(
        default=None, description="Absolute folder that relative paths resolve against."
    )
    project: str | None = Field(default=None, description="Feast project name (inline store).")
    provider: str = Field(default="local", description="Feast provider (inline store).")
    registry_path: str = Field(
        default="data/registry.db", description="File registry: local path or s3:// / gs:// URI."
    )
    online_store: Literal["sqlite", "redis"] = Field(
        default="sqlite", description="Online store of the inline store: a SQLite file or Redis."
    )
    online_store_path: str = Field(
        default="data/online_store.db", description="SQLite online store file."
    )
    redis_connection_string: str | None = SecretField(
        default=None,
        description="Feast Redis connection string; password only as ${ENV_VAR} or a secret.",
    )
    offline_store: Literal["file", "dask", "duckdb"] = Field(
        default="file", description="Offline store of the inline store (historical retrieval)."
    )
    timestamp_column: str = Field(
        default="event_timestamp", description="Timestamp column of the entity frames callers pass."
    )
    on_missing_point_in_time: Literal["fail", "warn"] = Field(
        default="fail",
        description="Entity rows with no feature values at their timestamp: raise, or warn + NaN.",
    )

    @field_validator("base_dir")
    @classmethod
    def _base_dir_is_absolute(cls, value: str | None) -> str | None:
        if value is not None and not os.path.isabs(os.path.expanduser(value)):
            raise ValueError(
                f"base_dir must be an absolute path (a relative one would follow the working "
                f"directory), got {value!r}"
            )
        return value

    @field_validator("project")
    @classmethod
    def _project_is_valid(cls, value: str | None) -> str | None:
        if value is not None and not _PROJECT_NAME.match(value):
            raise ValueError(
                f"project must be letters, digits, '_' or '-' and start with a letter or digit, "
                f"got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _one_way_to_configure(self) -> FeastFeatureStoreConfig:
        # model_dump reads raw values: attribute access would resolve secret references.
        raw = self.model_dump()
        defaults = {name: field.default for name, field in type(self).model_fields.items()}
        if raw["repo_path"] is not None:
            inline = [name for name in _INLINE_FIELDS if raw[name] != defaults[name]]
            if inline:
                raise ValueError(
                    f"repo_path is set, so the store comes from its feature_store.yaml; remove "
                    f"the inline settings {inline} or remove repo_path"
                )
            if not os.path.isabs(os.path.expanduser(raw["repo_path"])) and raw["base_dir"] is None:
                raise ValueError(
                    f"repo_path {raw['repo_path']!r} is relative: make it absolute or set base_dir"
                )
            return self
        if raw["project"] is None:
            raise ValueError("set either repo_path (a Feast repository) or project (inline store)")
        connection = raw["redis_connection_string"]
        if raw["online_store"] == "redis" and not connection:
            raise ValueError("online_store 'redis' needs redis_connection_string")
        if raw["online_store"] != "redis" and connection:
            raise ValueError("redis_connection_string is set but online_store is not 'redis'")
        if (
            connection
            and not is_secret_reference(connection)
            and literal_redis_password(connection)
        ):
            raise ValueError(
                "redis_connection_string contains a literal password: write "
                "password=${REDIS_PASSWORD} (read from the environment when the store is built) "
                "or store the whole string as a ZenML secret and set {{secret_name.key}}"
            )
        return self

    @property
    def is_local(self) -> bool:
        """Registry and online store are files on this machine."""
        raw = self.model_dump()
        return raw["repo_path"] is not None or (
            raw["online_store"] == "sqlite" and "://" not in raw["registry_path"]
        )


class FeastFeatureStoreFlavor(BaseFeatureStoreFlavor):
    """Feast with training/serving guard rails, a cached store and fast materialization."""

    @property
    def name(self) -> str:
        """The flavor name used in stack recipes."""
        return FEAST_STORE_FLAVOR

    @property
    def config_class(self) -> type[FeastFeatureStoreConfig]:
        """The configuration class."""
        return FeastFeatureStoreConfig

    @property
    def implementation_class(self) -> type[FeastFeatureStore]:
        """The store, imported only when a stack uses it (Feast takes seconds to import)."""
        from zenml_integrations.feast.store import FeastFeatureStore

        return FeastFeatureStore

    @property
    def docs_url(self) -> str | None:
        """This flavor's page under the distribution's Documentation URL."""
        return flavor_page_url(self.name)
