"""How Prometheus finds the series the canary controller reads: a PodMonitor per deployment.

The Prometheus Operator ignores ``prometheus.io/*`` pod annotations, so each deployment is
rendered with a ``PodMonitor`` (``monitoring.coreos.com/v1``) that selects its pods and gives
every series the ``namespace`` label the controller's selectors use (the series carry
``model`` and ``version`` themselves, see ``onnx.metric_names``):

- Seldon v1 and KServe: our serving image's ``/metrics`` (port 6000), the ``onnx_server_*``
  series. KServe's container may declare one port only, so the target's address is rewritten
  from the declared HTTP port to the metrics port.
- Seldon v2: the agent beside the shared Triton/MLServer servers (port ``metrics``), kept to
  the series of this deployment's Models, so two deployments' monitors never count one
  request twice.
"""

from __future__ import annotations

import re
from typing import Any

from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig, ServingTarget
from zenml_integrations.onnx.kubernetes.manifests import (
    HTTP_PORT,
    MANAGED_BY,
    METRICS_PORT,
    ServingPlan,
    resource_name,
)

SCRAPE_INTERVAL = "15s"
SELDON_V2_SERVER_LABEL = {"app": "seldon-server"}  # the label Seldon v2 gives its server pods


def _to_label(name: str, label: str) -> dict[str, Any]:
    return {"action": "replace", "sourceLabels": [name], "targetLabel": label}


TARGET_RELABELINGS = [
    _to_label("__meta_kubernetes_namespace", "namespace"),
    _to_label("__meta_kubernetes_pod_name", "pod"),
    _to_label("__meta_kubernetes_pod_container_name", "container"),
]


def pod_monitor(plan: ServingPlan, serving: KubernetesServingConfig) -> dict[str, Any]:
    """The PodMonitor that scrapes ``plan``'s pods on ``serving.target``."""
    name = resource_name(plan.model_name)
    endpoint: dict[str, Any] = {
        "path": "/metrics",
        "interval": SCRAPE_INTERVAL,
        "relabelings": list(TARGET_RELABELINGS),
    }
    if serving.target is ServingTarget.SELDON_V1:
        selector = {"seldon-deployment-id": name}
        endpoint["port"] = "metrics"  # the model container's port 6000
    elif serving.target is ServingTarget.KSERVE:
        selector = {"serving.kserve.io/inferenceservice": name}
        endpoint["portNumber"] = HTTP_PORT
        endpoint["relabelings"].append(
            {
                "action": "replace",
                "sourceLabels": ["__meta_kubernetes_pod_ip"],
                "regex": "(.+)",
                "replacement": f"$1:{METRICS_PORT}",
                "targetLabel": "__address__",
            }
        )
    else:
        selector = dict(SELDON_V2_SERVER_LABEL)
        endpoint["port"] = "metrics"
        models = [plan.champion, *([plan.challenger] if plan.challenger else [])]
        endpoint["metricRelabelings"] = [
            {
                "action": "keep",
                "sourceLabels": ["model"],
                "regex": "|".join(
                    re.escape(resource_name(plan.model_name, model.version)) for model in models
                ),
            }
        ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {
            "name": name,
            "namespace": serving.namespace,
            "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": MANAGED_BY},
        },
        "spec": {
            "selector": {"matchLabels": selector},
            "namespaceSelector": {"matchNames": [serving.namespace]},
            "podMetricsEndpoints": [endpoint],
        },
    }


def relabel_configs(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A PodMonitor's relabelings in Prometheus's own configuration syntax.

    For a Prometheus without the Operator: the same rules in a ``scrape_configs`` job.
    """
    keys = {"sourceLabels": "source_labels", "targetLabel": "target_label"}
    return [{keys.get(key, key): value for key, value in rule.items()} for rule in rules]
