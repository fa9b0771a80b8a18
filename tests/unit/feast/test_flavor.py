from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from zenml_integrations.feast.errors import FeastStoreError
from zenml_integrations.feast.flavor import (
    FeastFeatureStoreConfig,
    FeastFeatureStoreFlavor,
    literal_redis_password,
)
from zenml_integrations.feast.repo import resolve_repo


def no_default_base() -> Path:
    raise AssertionError("the default base folder must not be needed here")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "set either repo_path"),
        ({"repo_path": "/repo", "project": "churn"}, r"remove the inline settings \['project'\]"),
        ({"repo_path": "feature_repo"}, "is relative: make it absolute or set base_dir"),
        ({"project": "churn", "base_dir": "relative/dir"}, "base_dir must be an absolute path"),
        ({"project": "_churn"}, "project must be letters"),
        ({"project": "churn", "online_store": "redis"}, "needs redis_connection_string"),
        ({"project": "churn", "redis_connection_string": "h:6379"}, "online_store is not 'redis'"),
        (
            {
                "project": "churn",
                "online_store": "redis",
                "redis_connection_string": "cache:6379,password=hunter2,ssl=true",
            },
            r"literal password: write password=\$\{REDIS_PASSWORD\}",
        ),
    ],
)
def test_given_nonsense_settings_when_configured_then_refused_naming_the_field(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        FeastFeatureStoreConfig(**settings)


@pytest.mark.parametrize(
    ("connection", "literal"),
    [
        ("cache:6379,password=${REDIS_PASSWORD},ssl=true", False),
        ("cache:6379", False),
        ("cache:6379,password=s3cret", True),
        ("redis://default:s3cret@cache:6379", True),
        ("redis://default:${REDIS_PASSWORD}@cache:6379", False),
    ],
)
def test_given_a_redis_connection_string_when_checked_then_only_literal_passwords_count(
    connection: str, literal: bool
) -> None:
    assert literal_redis_password(connection) is literal


def test_given_a_zenml_secret_reference_when_configured_then_it_is_accepted() -> None:
    config = FeastFeatureStoreConfig(
        project="churn", online_store="redis", redis_connection_string="{{feast_redis.url}}"
    )

    assert config.model_dump()["redis_connection_string"] == "{{feast_redis.url}}"
    assert not config.is_local


def test_given_relative_paths_when_resolved_from_another_cwd_then_they_follow_base_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = FeastFeatureStoreConfig(project="churn", base_dir="/srv/features")

    resolved = resolve_repo(config, no_default_base)

    assert resolved.repo_config is not None
    assert resolved.repo_config["online_store"]["path"] == "/srv/features/data/online_store.db"
    assert resolved.repo_config["registry"]["path"] == "/srv/features/data/registry.db"
    assert resolved.repo_path == Path("/srv/features")


def test_given_no_base_dir_when_resolved_then_the_components_local_folder_is_used() -> None:
    config = FeastFeatureStoreConfig(project="churn", registry_path="s3://bucket/registry.pb")

    resolved = resolve_repo(config, lambda: Path("/stores/component-id"))

    assert resolved.repo_config is not None
    assert resolved.repo_config["registry"]["path"] == "s3://bucket/registry.pb"
    assert resolved.repo_config["online_store"]["path"].startswith("/stores/component-id/")


def test_given_env_placeholders_when_resolved_then_expanded_and_unset_variables_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = FeastFeatureStoreConfig(
        project="churn",
        base_dir="/srv",
        online_store="redis",
        redis_connection_string="cache:6379,password=${FEAST_TEST_REDIS_PASSWORD}",
    )
    monkeypatch.delenv("FEAST_TEST_REDIS_PASSWORD", raising=False)
    with pytest.raises(FeastStoreError, match="FEAST_TEST_REDIS_PASSWORD is not set"):
        resolve_repo(config, no_default_base)

    monkeypatch.setenv("FEAST_TEST_REDIS_PASSWORD", "s3cret")
    resolved = resolve_repo(config, no_default_base)

    assert resolved.repo_config is not None
    assert resolved.repo_config["online_store"]["connection_string"].endswith("password=s3cret")
    assert "s3cret" not in resolved.fingerprint


def test_given_a_repository_when_resolved_then_yaml_edits_change_the_fingerprint(
    tmp_path: Path,
) -> None:
    config = FeastFeatureStoreConfig(repo_path="repo", base_dir=str(tmp_path))
    with pytest.raises(FeastStoreError, match=r"has no feature_store\.yaml"):
        resolve_repo(config, no_default_base)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "feature_store.yaml").write_text("project: a\n")
    first = resolve_repo(config, no_default_base)

    (tmp_path / "repo" / "feature_store.yaml").write_text("project: b\n")

    assert first.repo_path == tmp_path / "repo"
    assert first.repo_config is None
    assert resolve_repo(config, no_default_base).fingerprint != first.fingerprint


def test_given_the_flavor_when_inspected_then_it_names_feast_store_and_the_config() -> None:
    flavor = FeastFeatureStoreFlavor()

    assert flavor.name == "feast_store"
    assert flavor.config_class is FeastFeatureStoreConfig
