"""A Feast-enabled project end to end: features published, trained on, served by entity id."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.generated_project import FEATURES, GeneratedProject, kit_requirement

pytestmark = pytest.mark.slow


def test_given_feast_enabled_when_features_published_then_training_and_serving_by_id_use_them(
    template_repo: Path, tmp_path: Path
) -> None:
    project = GeneratedProject.generate(
        template_repo,
        tmp_path / "churn-model",
        kit_requirement=kit_requirement("gx", "mlflow", "onnx", "evidently", "feast"),
        enable_feast=True,
    )
    # The sample the project exports, trains on and serves: what clients would send by vector.
    sample = generate_sample(60_000).set_index("customer_id")

    published = project.make("features")
    assert "stack 'local_feast' applied and active." in published
    assert "feature source: 60000 rows -> " in published
    assert "online store: full load of customer_features" in published
    assert (project.root / "feature_repo" / "data" / "online_store.db").is_file()

    trained = project.make("train")
    assert "features: 60000 rows point-in-time from the feature store" in trained
    assert "registered: churn_model v1" in trained
    assert "champion: v1" in trained

    # Nothing arrived since the full load: an incremental one succeeds and loads from there.
    assert "online store: incremental load of customer_features" in project.make("materialize")

    try:
        deployed = project.make("deploy")
        assert "churn_model v1: deployed" in deployed
        endpoint = next(
            line.removeprefix("endpoint: ")
            for line in deployed.splitlines()
            if line.startswith("endpoint: ")
        )
        ids = [17, 42, 59_999]
        by_vector = httpx.post(
            endpoint,
            json={"records": sample.loc[ids, FEATURES].to_dict(orient="records")},
            timeout=10,
        )
        assert by_vector.status_code == 200, by_vector.text
        by_id = httpx.post(
            endpoint,
            json={
                "id": "by-id",
                "inputs": [{"name": "customer_id", "shape": [3], "datatype": "INT64", "data": ids}],
            },
            timeout=10,
        )
        assert by_id.status_code == 200, by_id.text
        assert by_id.json()["id"] == "by-id"
        assert by_id.json()["model_version"] == "1"
        assert by_id.json()["outputs"] == by_vector.json()["outputs"]
        by_record = httpx.post(
            endpoint, json={"records": [{"customer_id": i} for i in ids]}, timeout=10
        )
        assert by_record.json()["outputs"] == by_vector.json()["outputs"]

        unknown = httpx.post(
            endpoint, json={"records": [{"customer_id": 17}, {"customer_id": 60_001}]}, timeout=10
        )
        assert unknown.status_code == 422, unknown.text
        assert "60001" in unknown.json()["error"]
        assert httpx.post(endpoint, json={"records": [{"customer_id": 17}]}).status_code == 200
    finally:
        project.stop_servers()
