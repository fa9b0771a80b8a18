"""The ``onnx`` deployer in Kubernetes mode on a real ZenML store.

The cluster is ``tests.helpers.fake_kubernetes_api`` on 127.0.0.1 (no real cluster can
run here), reached through a kubeconfig context exactly as a user's cluster would be.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from tests.helpers.cli import REPO_ROOT, mlops_kit, run_python
from tests.helpers.fake_kubernetes_api import fake_kubernetes_api
from tests.helpers.fake_prometheus import Samples, fake_prometheus
from tests.helpers.onnx_models import logistic_model

pytestmark = pytest.mark.slow

SELDON = "/apis/machinelearning.seldon.io/v1/namespaces/models/seldondeployments"
WEIGHTS = [0.3, -0.2, 0.1, 0.0, 0.5, -0.4, 0.2, 0.1]


def healthy(query: str) -> Samples:
    """Both variants: 1000 requests, 5 errors, 2 ms p90, 4 ms p99 over the window."""
    if "histogram_quantile(0.99" in query:
        return [({}, 0.004)]
    if "histogram_quantile(0.9," in query:
        return [({}, 0.002)]
    if "by (le)" in query:  # the output histogram's buckets
        return [({"le": "0.5"}, 400.0), ({"le": "+Inf"}, 1000.0)]
    return [({}, 5.0 if '=~"error|' in query else 1000.0)]


def recipe(tmp_path: Path, prometheus_url: str) -> Path:
    stack = {
        "name": "k8s_serving",
        "description": "local pipelines, ONNX serving on a cluster",
        "components": {
            "orchestrator": {"name": "local_orchestrator", "flavor": "local"},
            "artifact_store": {"name": "local_artifact_store", "flavor": "local"},
            "model_deployer": {
                "name": "onnx_cluster_deployer",
                "flavor": "onnx",
                "configuration": {
                    "mode": "kubernetes",
                    "kubernetes": {
                        "target": "seldon_v1",
                        "namespace": "models",
                        "image": "registry.example/onnx-seldon:1",
                        "kubernetes_context": "fake",
                        "model_store": str(tmp_path / "model-store"),
                        "prometheus_url": prometheus_url,
                    },
                },
            },
        },
    }
    path = tmp_path / "k8s_serving.yaml"
    path.write_text(yaml.safe_dump(stack))
    return path


def test_given_kubernetes_mode_when_deployed_rolled_out_stopped_and_deleted_then_the_api_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion, challenger = tmp_path / "champion.onnx", tmp_path / "challenger.onnx"
    champion.write_bytes(logistic_model(WEIGHTS))
    challenger.write_bytes(logistic_model([-weight for weight in WEIGHTS]))
    with fake_kubernetes_api() as api, fake_prometheus() as prometheus:
        prometheus.answer = healthy
        monkeypatch.setenv("KUBECONFIG", str(api.kubeconfig(tmp_path / "kubeconfig")))
        output = mlops_kit("stack", "apply", str(recipe(tmp_path, prometheus.url)))
        assert "model_deployer 'onnx_cluster_deployer' (flavor onnx, create)" in output
        completed = run_python(
            str(REPO_ROOT / "tests" / "helpers" / "kubernetes_deployer_actions.py"),
            str(champion), str(challenger),
        )  # fmt: skip
        seen = json.loads(completed.stdout.strip().splitlines()[-1])
        calls = api.calls()

    assert seen["deployed"] == "KubernetesOnnxService"
    assert seen["running"] is True
    assert seen["found_state"] == "active"
    assert seen["challenger_percent"] == 5
    assert seen["advance_exit"] == 0
    assert seen["advance"]["outcome"] == "advanced"
    assert seen["advance"]["measured"]["challenger"]["requests"] == 1000
    info = seen["info"]
    assert (info["TARGET"], info["NAMESPACE"], info["MODEL_VERSION"]) == (
        "seldon_v1",
        "models",
        "1",
    )
    assert (info["CHALLENGER_VERSION"], info["CHALLENGER_PERCENT"]) == ("2", "25")
    assert info["PREDICTION_URL"].startswith("http://churn-model-champion.models.svc:8000/")
    assert seen["stopped_state"] == "inactive"
    assert seen["started_state"] == "active"
    assert "zenml-mlops-kit[onnx,kubernetes]==0.1.0" in seen["requirements"]
    assert seen["remaining"] == 0

    verbs = [verb for verb, path in calls if path.startswith(SELDON)]
    assert verbs.count("POST") == 1, "created once, then replaced"
    assert verbs.count("PUT") == 4, "roll-out, canary step, stop (0 replicas), start"
    assert ("DELETE", f"{SELDON}/churn-model") in calls
    for path in (champion, challenger):
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        published = tmp_path / "model-store" / "churn_model" / sha / "1" / "model.onnx"
        assert published.read_bytes() == path.read_bytes()
