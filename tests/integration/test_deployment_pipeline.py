"""Train, then deploy with the deployment pipeline to the local ONNX deployer."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from zenml_integrations.training.sample_data import generate_sample

from tests.helpers.cli import onnx_file, run_python
from tests.helpers.pipeline_runs import (
    SERVERS_QUERY,
    TRAINING_CONFIG,
    deploy,
    served_endpoint,
    train,
)

pytestmark = pytest.mark.slow

# A deliberately weak first champion, so that TRAINING_CONFIG's model beats it.
WEAK_CONFIG = copy.deepcopy(TRAINING_CONFIG)
WEAK_CONFIG["parameters"]["model"] = {
    "family": "random_forest",
    "params": {"n_estimators": 2, "max_depth": 1},
}

OPERATOR_ROLLBACK = """
from zenml.client import Client
from zenml_integrations.onnx.admin_client import AdminClient
deployer = Client().active_stack.model_deployer
service = deployer.find_model_server(model_name="churn")[0]
AdminClient(service.endpoint.status.uri, deployer.admin_token(service)).rollback("operator")
"""

REGISTRY_QUERY = """
import json, sys
from mlflow import MlflowClient
from zenml.client import Client
uri = Client().active_stack.experiment_tracker.get_tracking_uri()
client = MlflowClient(tracking_uri=uri, registry_uri=uri)
champion = client.get_model_version_by_alias("churn", "champion")
if len(sys.argv) > 1:
    client.set_model_version_tag("churn", champion.version, sys.argv[1], sys.argv[2])
print("REGISTRY " + json.dumps({"champion": str(champion.version), "tags": champion.tags}))
"""


def _registry(project: Path, *tag: str) -> dict[str, Any]:
    script = project / "registry.py"
    script.write_text(REGISTRY_QUERY)
    output = run_python(str(script), *tag, cwd=project).stdout
    line = next(line for line in output.splitlines() if line.startswith("REGISTRY "))
    return json.loads(line[9:])  # type: ignore[no-any-return]


def _models(endpoint: str) -> dict[str, Any]:
    return httpx.get(endpoint.removesuffix("/infer") + "/rollout", timeout=10).json()  # type: ignore[no-any-return]


def test_given_a_champion_when_deployed_then_it_serves_refuses_tampering_and_rolls_out_the_next(
    project: Path,
) -> None:
    """One project through the deployer's life: serve v1, refuse a tampered v2 (file, then
    signature) while v1 serves, roll the intact v2 out, and never again after a rollback."""
    training = train(project, WEAK_CONFIG)
    onnx_path = onnx_file(training)
    try:
        first = deploy(project)
        assert "churn v1: deployed (canary)" in first
        endpoint = served_endpoint(first)
        assert endpoint.startswith("http://127.0.0.1:")
        frame = generate_sample(200).drop(columns=["customer_id", "event_timestamp", "churned"])
        rows = frame.to_numpy(np.float32)
        tensor = {"name": "input", "shape": list(rows.shape), "datatype": "FP32"}
        request = {"id": "e2e", "inputs": [{**tensor, "data": rows.ravel().tolist()}]}
        answer = httpx.post(endpoint, json=request, timeout=10).json()
        assert answer["model_version"] == "1"
        import onnxruntime as ort

        session = ort.InferenceSession(onnx_path.read_bytes(), providers=["CPUExecutionProvider"])
        expected = session.run(["probabilities"], {"input": rows})[0]
        served = {output["name"]: output for output in answer["outputs"]}["probabilities"]
        np.testing.assert_allclose(
            np.asarray(served["data"], np.float32).reshape(expected.shape), expected, atol=1e-6
        )

        assert "churn v1: already_serving" in deploy(project)

        retrained = train(project, TRAINING_CONFIG)
        assert "champion: v2" in retrained, retrained[-1500:]
        _refuse_tampered_champion(project, onnx_file(retrained), endpoint)

        rollout = deploy(project)
        assert "churn v2: in_progress (canary)" in rollout
        state = _models(endpoint)
        assert state["champion"] == "1"
        assert state["challenger"] == "2"
        assert state["challenger_share"] == 0.5

        # Traffic rejected v2: the next deployment must not roll it out again,
        # and the registry's champion goes back to what is serving.
        (project / "rollback.py").write_text(OPERATOR_ROLLBACK)
        run_python("rollback.py", cwd=project)
        assert "churn v2: rolled_back (canary)" in deploy(project)
        registry = _registry(project)
        assert registry["champion"] == "1"
        assert _models(endpoint)["challenger"] is None
    finally:
        script = project / "cleanup.py"
        script.write_text(SERVERS_QUERY)
        run_python(str(script), cwd=project)


def _refuse_tampered_champion(project: Path, onnx_v2: Path, endpoint: str) -> None:
    """A changed file, then a changed input signature: each refused, v1 alone serves; both
    are put back afterwards."""
    original = onnx_v2.read_bytes()
    onnx_v2.write_bytes(original + b"tampered")
    assert "ONNX checksum mismatch" in deploy(project, succeed=False)
    assert (_models(endpoint)["champion"], _models(endpoint)["challenger"]) == ("1", None)
    onnx_v2.write_bytes(original)

    registered = _registry(project)["tags"]["input_signature"]
    signature = json.loads(registered)
    signature["feature_names"] = list(reversed(signature["feature_names"]))
    _registry(project, "input_signature", json.dumps(signature))
    refused = deploy(project, succeed=False)
    assert "differs from the registered" in refused, refused[-2000:]
    assert (_models(endpoint)["champion"], _models(endpoint)["challenger"]) == ("1", None)
    _registry(project, "input_signature", registered)


def test_given_no_champion_when_deployed_then_the_run_fails_with_a_clear_message(
    project: Path,
) -> None:
    output = deploy(project, succeed=False)
    assert "has no 'champion' alias: run the training pipeline" in output
