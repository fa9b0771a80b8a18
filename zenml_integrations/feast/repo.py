"""Turn the flavor config into what Feast needs, with every path made absolute.

Feast resolves a relative SQLite path against ``RepoConfig.repo_path``, a
relative registry path against ``FeatureStore.repo_path`` (the working
directory when the store is built from a config object), and treats
``FeatureStore(repo_path="rel")`` as relative to whatever the working
directory is when the file is first opened. Resolving everything here, once,
makes the store behave the same from any folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zenml_integrations.feast.errors import FeastStoreError
from zenml_integrations.feast.flavor import FeastFeatureStoreConfig

_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}")
FEATURE_STORE_YAML = "feature_store.yaml"


@dataclass(frozen=True)
class ResolvedRepo:
    """A Feast store location with absolute paths: the cache key of a built store.

    Attributes:
        repo_path: The Feast repository, or the base folder of an inline store.
        repo_config: Keyword arguments for ``feast.RepoConfig`` (inline store), or
            None to read ``feature_store.yaml`` from ``repo_path``.
        fingerprint: Hash of everything that defines the store, including the
            YAML's content, so an edited repository builds a fresh store.
    """

    repo_path: Path
    repo_config: dict[str, Any] | None
    fingerprint: str


def absolute_path(path: str, base: Path) -> str:
    """``path`` made absolute against ``base``; URIs (``s3://...``) stay as they are."""
    expanded = os.path.expanduser(path)
    if "://" in expanded:
        return expanded
    candidate = Path(expanded)
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


def expand_env_references(value: str, field: str) -> str:
    """Replace ``${VAR}`` with the environment's value; an unset variable is an error.

    ``os.path.expandvars`` would leave an unset ``${VAR}`` in place and Redis
    would then fail with an authentication error that hides the cause.
    """

    def substitute(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in os.environ:
            raise FeastStoreError(
                f"{field} refers to ${{{name}}} but the environment variable {name} is not set"
            )
        return os.environ[name]

    return _ENV_REFERENCE.sub(substitute, value)


def resolve_repo(
    config: FeastFeatureStoreConfig, default_base_dir: Callable[[], Path]
) -> ResolvedRepo:
    """Absolute locations and Feast settings for ``config``.

    Args:
        config: The component config; secret references are resolved by
            reading its attributes.
        default_base_dir: Gives the base folder of an inline store without
            ``base_dir``; not called otherwise.

    Raises:
        FeastStoreError: the repository has no feature_store.yaml, or a
            referenced environment variable is unset.
    """
    if config.repo_path is not None:
        repo_path = Path(os.path.expanduser(config.repo_path))
        if not repo_path.is_absolute():
            if config.base_dir is None:
                raise FeastStoreError(
                    f"repo_path {config.repo_path!r} is relative but base_dir is unset; "
                    "set base_dir (the project root) or give an absolute repo_path"
                )
            repo_path = Path(absolute_path(config.repo_path, Path(config.base_dir).expanduser()))
        yaml_file = repo_path / FEATURE_STORE_YAML
        if not yaml_file.is_file():
            raise FeastStoreError(
                f"repo_path {str(repo_path)!r} has no {FEATURE_STORE_YAML}; create one with "
                f"`feast init` or configure the store inline (project=...)"
            )
        content = yaml_file.read_bytes()
        fingerprint = _fingerprint(
            {"repo": str(repo_path), "yaml": content.decode(errors="replace")}
        )
        return ResolvedRepo(repo_path=repo_path, repo_config=None, fingerprint=fingerprint)

    if config.project is None:
        raise FeastStoreError(
            "the feature store config names neither repo_path nor project; set repo_path "
            "(a Feast repository) or project (an inline store)"
        )
    base = Path(config.base_dir).expanduser() if config.base_dir else default_base_dir()
    if config.online_store == "redis":
        connection = expand_env_references(
            config.redis_connection_string or "", "redis_connection_string"
        )
        online_store: dict[str, Any] = {"type": "redis", "connection_string": connection}
    else:
        online_store = {"type": "sqlite", "path": absolute_path(config.online_store_path, base)}
    repo_config: dict[str, Any] = {
        "project": config.project,
        "provider": config.provider,
        "registry": {"registry_type": "file", "path": absolute_path(config.registry_path, base)},
        "online_store": online_store,
        "offline_store": {"type": config.offline_store},
        "entity_key_serialization_version": 3,
    }
    fingerprint = _fingerprint({"base": str(base), "config": repo_config})
    return ResolvedRepo(repo_path=base, repo_config=repo_config, fingerprint=fingerprint)


def _fingerprint(payload: dict[str, Any]) -> str:
    # Hashed, so a Redis password expanded into the config never becomes a visible key.
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
