"""Predict by entity key: a real Feast repo (SQLite online store), a real ONNX server on 127.0.0.1.

Training reads the feature service point-in-time at the moment of the last
materialization; the server reads the same service online. The test shows
the model is fed the same vector both ways and answers the same.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from zenml_integrations.feast.flavor import FeastFeatureStoreConfig
from zenml_integrations.feast.store import FeastFeatureStore, clear_feature_store_cache
from zenml_integrations.onnx.export.conversion import convert_to_onnx

from tests.helpers.cli import REPO_ROOT, mlops_kit, run_python
from tests.helpers.onnx_server import RunningServer, start_server, stop_server

pytest.importorskip("feast")

ENTITY = "customer_id"
TIMESTAMP = "event_timestamp"
PROFILE = ["age", "tenure_months"]
ACTIVITY = ["monthly_spend", "support_calls"]
FEATURES = [*PROFILE, *ACTIVITY]
SERVICE = "churn_model"
NOW = pd.Timestamp.now(tz="UTC").floor("s")
FRESH = list(range(1, 121))  # latest snapshot 5 days old: inside the 30-day TTL
STALE = [500, 501]  # only a 60-day-old snapshot: past the TTL, missing for training too
UNKNOWN = 999_999

DEFINITIONS = f'''
from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

customer = Entity(name="customer", join_keys=["{ENTITY}"], value_type=ValueType.INT64)
source = FileSource(name="customers", path="{{source}}", timestamp_field="{TIMESTAMP}")
profile = FeatureView(
    name="customer_profile", entities=[customer], ttl=timedelta(days=30), source=source,
    schema=[Field(name="age", dtype=Float64), Field(name="tenure_months", dtype=Int64)],
)
activity = FeatureView(
    name="customer_activity", entities=[customer], ttl=timedelta(days=30), source=source,
    schema=[Field(name="monthly_spend", dtype=Float64), Field(name="support_calls", dtype=Int64)],
)
churn_model = FeatureService(name="{SERVICE}", features=[profile, activity])
profile_only = FeatureService(name="profile_only", features=[profile])
'''

FEATURE_STORE_YAML = """project: churn
provider: local
registry: data/registry.db
online_store:
  type: sqlite
  path: data/online_store.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


def customer_snapshots() -> pd.DataFrame:
    """Two snapshots per fresh customer (the newer one wins), one old one per stale customer."""
    rng = np.random.default_rng(7)
    rows = []
    for days_ago, ids in ((20, FRESH), (5, FRESH), (60, STALE)):
        for customer in ids:
            rows.append({
                ENTITY: customer,
                TIMESTAMP: NOW - pd.Timedelta(days=days_ago),
                "age": float(rng.uniform(18, 80)),
                "tenure_months": int(rng.integers(1, 120)),
                "monthly_spend": float(rng.normal(60, 25)),
                "support_calls": int(rng.poisson(2)),
            })  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder with ``feature_repo/`` applied and materialized through our flavor."""
    root = tmp_path_factory.mktemp("project")
    repo = root / "feature_repo"
    repo.mkdir()
    customer_snapshots().to_parquet(root / "customers.parquet")
    (repo / "feature_store.yaml").write_text(FEATURE_STORE_YAML)
    (repo / "definitions.py").write_text(
        DEFINITIONS.replace("{source}", str(root / "customers.parquet"))
    )
    store = repo_store(root)
    store.apply()
    store.materialize(NOW - pd.Timedelta(days=400), NOW)
    return root


def repo_store(root: Path) -> FeastFeatureStore:
    return FeastFeatureStore.standalone(
        FeastFeatureStoreConfig(repo_path="feature_repo", base_dir=str(root))
    )


@pytest.fixture(scope="module")
def training_frame(project: Path) -> pd.DataFrame:
    """Historical features of the fresh customers at the time of the last materialization."""
    store = repo_store(project)
    service = store.feature_store.get_feature_service(SERVICE)
    entity_df = pd.DataFrame({ENTITY: FRESH, TIMESTAMP: NOW})
    frame = store.get_historical_features(entity_df, service)
    clear_feature_store_cache()
    return frame


@pytest.fixture(scope="module")
def model(training_frame: pd.DataFrame) -> bytes:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    features = training_frame[FEATURES].to_numpy(np.float32)
    churned = (training_frame["support_calls"] * 20 > training_frame["monthly_spend"]).to_numpy()
    pipeline = Pipeline([("scale", StandardScaler()), ("classify", LogisticRegression())])
    pipeline.fit(features, churned)
    return convert_to_onnx(pipeline, FEATURES, "binary_classification")


def lookup(root: Path, service: str = SERVICE) -> dict[str, Any]:
    return {
        "provider": "zenml_integrations.feast.serving:FeastOnlineFeatures",
        "entity_column": ENTITY,
        "base_dir": str(root),
        "options": {"repo_path": "feature_repo", "feature_service": service},
    }


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, project: Path, model: bytes
) -> Iterator[RunningServer]:
    # The server's working directory is the repository, not the project: the
    # relative repo_path must resolve against base_dir.
    # Importing Feast and ZenML takes seconds of CPU: a loaded machine needs more than 30 s.
    running = start_server(
        tmp_path_factory.mktemp("server"), model, ready_seconds=180, feature_lookup=lookup(project)
    )
    yield running
    stop_server(running)


def by_key(ids: list[Any], request_id: str) -> dict[str, Any]:
    return {
        "id": request_id,
        "inputs": [{"name": ENTITY, "shape": [len(ids)], "datatype": "INT64", "data": ids}],
    }


def logged_inputs(server: RunningServer, request_id: str) -> np.ndarray:
    """The inputs the server fed the model for ``request_id``, from its inference log."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted(server.log_dir.glob("*.jsonl")):
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record["id"] == request_id:
                    return np.asarray(record["inputs"], dtype=np.float32)
        time.sleep(0.1)
    raise AssertionError(f"request {request_id} never reached the inference log")


def test_given_entity_ids_when_served_then_model_sees_the_training_vector_and_answers_alike(
    server: RunningServer, training_frame: pd.DataFrame
) -> None:
    sample = training_frame.sample(25, random_state=3)
    ids = [int(customer) for customer in sample[ENTITY]]
    historical = sample[FEATURES].to_numpy(np.float32)
    by_vector = {
        "id": "by-vector",
        "inputs": [{"name": "input", "shape": list(historical.shape), "datatype": "FP32",
                    "data": historical.ravel().tolist()}],
    }  # fmt: skip

    with server.client() as client:
        keyed = client.post("/v2/models/churn/infer", json=by_key(ids, "by-key"))
        explicit = client.post("/v2/models/churn/infer", json=by_vector)
        records = client.post(
            "/v2/models/churn/infer",
            json={"id": "by-record", "records": [{ENTITY: customer} for customer in ids]},
        )

    assert keyed.status_code == 200, keyed.text
    assert explicit.status_code == 200, explicit.text
    assert records.status_code == 200, records.text
    np.testing.assert_array_equal(logged_inputs(server, "by-key"), historical)
    assert keyed.json()["outputs"] == explicit.json()["outputs"] == records.json()["outputs"]
    assert keyed.json()["id"] == "by-key"
    assert set(keyed.json()) == {"id", "model_name", "model_version", "outputs"}, (
        "the response must not carry the looked-up features"
    )


def test_given_unknown_or_stale_ids_when_requested_then_422_names_them_and_server_goes_on(
    server: RunningServer,
) -> None:
    with server.client() as client:
        unknown = client.post("/v2/models/churn/infer", json=by_key([FRESH[0], UNKNOWN], "u"))
        stale = client.post("/v2/models/churn/infer", json={"records": [{ENTITY: STALE[0]}]})
        many = client.post("/v2/models/churn/infer", json=by_key(list(range(10_000, 10_015)), "m"))
        wrong_type = client.post(
            "/v2/models/churn/infer",
            json={"inputs": [{"name": ENTITY, "shape": [1], "datatype": "BYTES",
                              "data": ["abc"]}]},
        )  # fmt: skip
        after = client.post("/v2/models/churn/infer", json=by_key([FRESH[1]], "after"))
        metrics = client.get("/metrics").text

    assert unknown.status_code == 422
    assert f"unknown {ENTITY} [{UNKNOWN}]" in unknown.json()["error"]
    assert "answered whole or not at all" in unknown.json()["error"]
    assert stale.status_code == 422
    assert (
        f"{ENTITY} [{STALE[0]}] with features older than the feature view's TTL"
        in (stale.json()["error"])
    )
    assert many.status_code == 422
    assert "10009 and 5 more]" in many.json()["error"]
    assert wrong_type.status_code == 400
    assert "entity ids are sent as INT64" in wrong_type.json()["error"]
    assert after.status_code == 200
    assert _sample(metrics, "onnx_server_feature_lookup_misses_total", 'reason="unknown"') == 16
    assert _sample(metrics, "onnx_server_feature_lookup_misses_total", 'reason="stale"') == 1
    assert _sample(metrics, "onnx_server_feature_lookups_total", 'outcome="miss"') == 3
    assert _sample(metrics, "onnx_server_feature_lookups_total", 'outcome="ok"') >= 1
    assert _sample(metrics, "onnx_server_feature_lookup_seconds_count", 'model="churn"') >= 4


def _sample(metrics: str, name: str, label: str) -> float:
    pattern = rf"^{name}\{{[^}}]*{re.escape(label)}[^}}]*\}} (\S+)$"
    values = [float(value) for value in re.findall(pattern, metrics, flags=re.MULTILINE)]
    assert values, f"no {name} sample with {label}"
    return sum(values)


def test_given_a_service_that_does_not_match_the_model_when_starting_then_start_is_refused(
    tmp_path: Path, project: Path, model: bytes
) -> None:
    model_path = tmp_path / "champion.onnx"
    model_path.write_bytes(model)
    config = tmp_path / "server.json"
    config.write_text(
        json.dumps({"model_name": "churn", "feature_lookup": lookup(project, "profile_only")})
    )

    started = subprocess.run(
        [sys.executable, "-m", "zenml_integrations.onnx.server", "--model", str(model_path),
         "--version", "1", "--config", str(config), "--port", "0"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert started.returncode != 0
    message = " ".join(started.stderr.split())
    assert f"serves features {PROFILE} but the model expects {FEATURES}" in message
    assert "missing ['monthly_spend', 'support_calls']" in message
    assert "Traceback" not in started.stderr


@pytest.mark.parametrize(
    ("options", "entity_column", "message"),
    [
        (
            {"feature_service": "nope"},
            ENTITY,
            "feature service 'nope' is not registered in project 'churn' (registered: "
            "['churn_model', 'profile_only'])",
        ),
        ({"feature_service": SERVICE, "repo_pth": "x"}, ENTITY, "unknown feature_lookup option"),
        ({"feature_service": SERVICE}, "id", "keyed by 'customer_id', but feature_lookup.entity"),
    ],
)
def test_given_wrong_provider_options_when_built_then_the_error_names_the_fix(
    project: Path, options: dict[str, Any], entity_column: str, message: str
) -> None:
    from zenml_integrations.feast.errors import FeastStoreError
    from zenml_integrations.feast.serving import FeastOnlineFeatures

    with pytest.raises(FeastStoreError) as refused:
        FeastOnlineFeatures(
            {"repo_path": "feature_repo", **options}, entity_column=entity_column, base_dir=project
        )
    assert message in str(refused.value)


def test_given_inline_settings_without_a_base_dir_then_the_provider_refuses_to_guess() -> None:
    from zenml_integrations.feast.errors import FeastStoreError
    from zenml_integrations.feast.serving import FeastOnlineFeatures

    with pytest.raises(FeastStoreError, match="inline feast_store settings in feature_lookup need"):
        FeastOnlineFeatures({"feature_service": SERVICE, "project": "churn"}, entity_column=ENTITY)


DEPLOY_WITH_LOOKUP = """
import hashlib, json, os, sys
from pathlib import Path

import httpx
from zenml.client import Client
from zenml_integrations.onnx.service import OnnxServerService, OnnxServerServiceConfig
from zenml_integrations.onnx.server.config import FeatureLookupConfig

model_path, project, lookup_json, customer = Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:]
# What the deployment step does: anchor relative paths at the project root.
lookup = FeatureLookupConfig.model_validate_json(lookup_json).anchored(project)
deployer = Client().active_stack.model_deployer
config = OnnxServerServiceConfig(
    model_name="churn", model_version="1", model_path=str(model_path),
    model_sha256=hashlib.sha256(model_path.read_bytes()).hexdigest(),
    server_settings={"feature_lookup": lookup.model_dump(mode="json")},
    pipeline_name="test", pipeline_step_name="deploy",
)
service = deployer.deploy_model(config, service_type=OnnxServerService.SERVICE_TYPE, timeout=300)
try:
    request = {"inputs": [{"name": "customer_id", "shape": [1], "datatype": "INT64",
                           "data": [int(customer)]}]}
    answer = httpx.post(service.prediction_url, json=request, timeout=30)
    cwd = os.readlink(f"/proc/{service.status.pid}/cwd")
    print(json.dumps({"status": answer.status_code, "body": answer.json(), "daemon_cwd": cwd}))
finally:
    deployer.delete_model_server(service.uuid)
"""


@pytest.mark.slow
def test_given_the_onnx_deployer_when_deployed_with_a_relative_repo_path_then_the_daemon_serves_ids(
    tmp_path: Path, project: Path, model: bytes, training_frame: pd.DataFrame
) -> None:
    mlops_kit("stack", "apply", "stacks/local.yaml")
    model_path = tmp_path / "champion.onnx"
    model_path.write_bytes(model)
    script = tmp_path / "deploy_with_lookup.py"
    script.write_text(DEPLOY_WITH_LOOKUP)
    relative = {key: value for key, value in lookup(project).items() if key != "base_dir"}
    customer = int(training_frame[ENTITY].iloc[0])

    completed = run_python(
        str(script), str(model_path), str(project), json.dumps(relative), str(customer)
    )
    answer = json.loads(completed.stdout.strip().splitlines()[-1])

    assert answer["status"] == 200, answer
    assert answer["body"]["model_version"] == "1"
    from zenml_integrations.onnx.server.model import OnnxModel

    vector = training_frame[FEATURES].iloc[[0]].to_numpy(np.float32)
    expected = OnnxModel("churn", "1", model).predict(vector)
    served = {output["name"]: output["data"] for output in answer["body"]["outputs"]}
    np.testing.assert_array_equal(
        np.asarray(served["probabilities"], np.float32), expected[-1].ravel()
    )
    assert not Path(answer["daemon_cwd"]).resolve().is_relative_to(project.resolve()), (
        "the daemon must not run from the project, or a relative repo_path would pass by luck"
    )
