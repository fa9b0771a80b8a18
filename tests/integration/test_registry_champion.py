"""Moving ``champion`` by hand (`mlops-kit model set-champion`): its effect and its refusals."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient
from zenml_integrations.mlflow.champion import CHAMPION_BY_HAND_TAG, list_versions, set_champion
from zenml_integrations.mlflow.errors import RegistryError
from zenml_integrations.mlflow.registry import CHAMPION, ONNX_SHA256_TAG


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 and v2 as training registers them, v2 champion, and v3 registered by someone else.

    Built once (MLflow's schema migrations take seconds); each test gets a copy.
    """
    path = tmp_path_factory.mktemp("registry") / "mlflow.db"
    uri = f"sqlite:///{path}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("churn")
    for number in (1, 2):
        client.create_model_version("churn", source=str(path.parent), tags={
            ONNX_SHA256_TAG: f"{number}" * 64, "semver": f"1.{number - 1}.0",
        })  # fmt: skip
    client.create_model_version("churn", source=str(path.parent))
    client.set_registered_model_alias("churn", CHAMPION, "2")
    return path


@pytest.fixture
def client(registry_file: Path, tmp_path: Path) -> MlflowClient:
    copy = tmp_path / "mlflow.db"
    shutil.copyfile(registry_file, copy)
    return MlflowClient(tracking_uri=f"sqlite:///{copy}", registry_uri=f"sqlite:///{copy}")


def test_given_an_earlier_version_when_set_champion_then_alias_moves_and_reason_is_kept(
    client: MlflowClient,
) -> None:
    previous = set_champion(client, "churn", "1", "v2 trained on a broken export")

    assert previous == "2"
    assert str(client.get_model_version_by_alias("churn", CHAMPION).version) == "1"
    tags = client.get_model_version("churn", "1").tags
    assert tags[CHAMPION_BY_HAND_TAG] == "v2 trained on a broken export"
    listed = {entry.version: entry for entry in list_versions(client, "churn")}
    assert [entry.version for entry in list_versions(client, "churn")] == ["3", "2", "1"]
    assert listed["1"].aliases == (CHAMPION,)
    assert listed["2"].aliases == ()
    assert listed["2"].semver == "1.1.0"


@pytest.mark.parametrize(
    ("version", "reason", "message"),
    [
        ("9", "restore", "has no version '9'; registered versions: 3, 2, 1"),
        ("3", "restore", "was not registered by the training pipeline"),
        ("1", "  ", "give a reason"),
    ],
)
def test_given_a_bad_request_when_set_champion_then_refused_and_alias_unchanged(
    client: MlflowClient, version: str, reason: str, message: str
) -> None:
    with pytest.raises(RegistryError, match=message):
        set_champion(client, "churn", version, reason)
    assert str(client.get_model_version_by_alias("churn", CHAMPION).version) == "2"


def test_given_a_version_the_server_rolled_back_when_set_champion_then_refused(
    client: MlflowClient,
) -> None:
    client.set_model_version_tag("churn", "1", "rollout_outcome", "rolled_back")
    client.set_model_version_tag("churn", "1", "rollback_reason", "error_rate: 21% errors")

    with pytest.raises(RegistryError, match=r"rolled back by the server \(error_rate: 21%"):
        set_champion(client, "churn", "1", "restore")


def test_given_a_model_without_versions_when_listed_then_the_error_says_to_train(
    client: MlflowClient,
) -> None:
    client.create_registered_model("fraud")
    with pytest.raises(RegistryError, match="run the training pipeline"):
        list_versions(client, "fraud")
