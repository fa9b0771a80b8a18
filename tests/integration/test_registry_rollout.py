"""The registry learns a rollout's outcome; a rolled-back champion alias moves back."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from zenml_integrations.mlflow.registry import CHAMPION, record_rollout
from zenml_integrations.rollout_outcome import RolloutOutcome


@pytest.fixture
def client(tmp_path: Path) -> MlflowClient:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("churn")
    for _ in range(2):
        client.create_model_version("churn", source=str(tmp_path), run_id=None)
    client.set_registered_model_alias("churn", CHAMPION, "2")
    return client


def test_given_a_rolled_back_champion_then_the_alias_returns_to_the_serving_version(
    client: MlflowClient,
) -> None:
    record_rollout(client, model_name="churn", version="2", outcome=RolloutOutcome.ROLLED_BACK,
                   serving_version="1", reason="error_rate: 21% errors")  # fmt: skip
    assert str(client.get_model_version_by_alias("churn", CHAMPION).version) == "1"
    tags = client.get_model_version("churn", "2").tags
    assert tags["rollout_outcome"] == "rolled_back"
    assert tags["rollback_reason"] == "error_rate: 21% errors"


def test_given_a_promotion_then_it_is_recorded_and_the_alias_stays(client: MlflowClient) -> None:
    record_rollout(client, model_name="churn", version="2", outcome=RolloutOutcome.PROMOTED,
                   serving_version="2")  # fmt: skip
    assert str(client.get_model_version_by_alias("churn", CHAMPION).version) == "2"
    assert client.get_model_version("churn", "2").tags["rollout_outcome"] == "promoted"


def test_given_a_rollback_of_a_version_no_longer_champion_then_the_alias_is_left_alone(
    client: MlflowClient,
) -> None:
    record_rollout(client, model_name="churn", version="1", outcome=RolloutOutcome.ROLLED_BACK,
                   serving_version="2", reason="latency")  # fmt: skip
    assert str(client.get_model_version_by_alias("churn", CHAMPION).version) == "2"
