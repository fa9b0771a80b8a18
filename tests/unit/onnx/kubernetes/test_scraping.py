"""The PodMonitor per deployment: valid for its CRD, with the labels the controller reads."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import ModelVariant, ServingPlan
from zenml_integrations.onnx.kubernetes.schema import ManifestInvalid, validate_manifest
from zenml_integrations.onnx.kubernetes.scraping import pod_monitor, relabel_configs

pytestmark = pytest.mark.unit

V1 = ModelVariant(version="1", model_uri="s3://m/" + "a" * 64, sha256="a" * 64)
V2 = ModelVariant(version="2.1", model_uri="s3://m/" + "b" * 64, sha256="b" * 64)
PLAN = ServingPlan(model_name="churn_model", champion=V1, challenger=V2)


def monitor_for(target: str) -> dict[str, Any]:
    serving = KubernetesServingConfig(target=target, namespace="models", image="reg/onnx:1")
    return pod_monitor(PLAN, serving)


@pytest.mark.parametrize("target", ["seldon_v1", "seldon_v2", "kserve"])
def test_given_each_target_when_its_pod_monitor_is_rendered_then_the_crd_fields_accept_it(
    target: str,
) -> None:
    monitor = monitor_for(target)
    validate_manifest(monitor)
    assert monitor["metadata"]["namespace"] == "models"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["models"]}
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    # The namespace label the controller's selectors start with comes from the pod's metadata.
    assert {"action": "replace", "sourceLabels": ["__meta_kubernetes_namespace"],
            "targetLabel": "namespace"} in endpoint["relabelings"]  # fmt: skip


def test_given_the_targets_when_rendered_then_each_selects_its_own_pods_and_port() -> None:
    seldon, v2, kserve = (monitor_for(t) for t in ("seldon_v1", "seldon_v2", "kserve"))

    assert seldon["spec"]["selector"] == {"matchLabels": {"seldon-deployment-id": "churn-model"}}
    assert seldon["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert kserve["spec"]["selector"]["matchLabels"] == {
        "serving.kserve.io/inferenceservice": "churn-model"
    }
    rewrite = kserve["spec"]["podMetricsEndpoints"][0]["relabelings"][-1]
    assert (rewrite["targetLabel"], rewrite["replacement"]) == ("__address__", "$1:6000")
    # Seldon v2's servers are shared: only this deployment's Models' series are kept.
    (keep,) = v2["spec"]["podMetricsEndpoints"][0]["metricRelabelings"]
    assert (keep["action"], keep["sourceLabels"]) == ("keep", ["model"])
    assert keep["regex"] == r"churn\-model\-1|churn\-model\-2\-1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update(relabelings=[{"action": "rename"}]), "action 'rename' is not one"),
        (lambda e: e.update(relabelings=[{"sourceLabels": ["a-b"], "targetLabel": "x"}]),
         "'a-b' is not a Prometheus label name"),
        (lambda e: e.update(relabelings=[{"sourceLabels": ["a"]}]), "needs targetLabel"),
        (lambda e: e.update(interval="1 minute"), "interval"),
        (lambda e: e.pop("port"), "name the pod's port"),
        (lambda e: e.update(portNumber=70000), "portNumber"),
    ],
)  # fmt: skip
def test_given_a_broken_pod_monitor_when_validated_then_the_field_is_named(
    change: Any, message: str
) -> None:
    monitor = monitor_for("seldon_v1")
    change(monitor["spec"]["podMetricsEndpoints"][0])
    with pytest.raises(ManifestInvalid, match=message):
        validate_manifest(monitor)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="Debian's promtool is not installed")
@pytest.mark.parametrize("target", ["seldon_v2", "kserve"])
def test_given_the_rules_in_prometheus_syntax_when_checked_by_promtool_then_they_load(
    target: str, tmp_path: Path
) -> None:
    endpoint = monitor_for(target)["spec"]["podMetricsEndpoints"][0]
    job = {
        "job_name": "pods",
        "static_configs": [{"targets": ["127.0.0.1:6000"]}],
        "relabel_configs": relabel_configs(endpoint["relabelings"]),
        "metric_relabel_configs": relabel_configs(endpoint.get("metricRelabelings", [])),
    }
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": [job]}))
    checked = subprocess.run(
        ["promtool", "check", "config", str(config)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
