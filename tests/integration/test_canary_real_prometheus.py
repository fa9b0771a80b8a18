"""The canary controller against Debian's Prometheus scraping real serving processes.

Three seldon-core microservices run the serving image's wrapper (the parity test's seldon-core
virtualenv): the champion (version 1), a healthy challenger (2), and a faulty challenger (3)
whose exported model looks a feature up in a table too short for some rows, so onnxruntime
fails on them and seldon-core answers HTTP 500. Prometheus scrapes them every second with the
relabelling of the rendered PodMonitor (the pod's metadata given as the labels Kubernetes
discovery would give); the traffic split lives in the fake Kubernetes API, and the load
generator sends each process the share the current SeldonDeployment gives it.

No Seldon Core v2 runs here: its agent's series (``seldon_model_infer_total`` with the labels
its agent writes) come from a small exporter on 127.0.0.1, scraped with the Seldon v2
PodMonitor's relabelling, to check the v2 queries against real names and labels.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import onnx
import pytest
import yaml
from kubernetes import client as k8s
from onnx import TensorProto, helper
from prometheus_client import CollectorRegistry, Counter, generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families
from zenml_integrations.onnx import metric_names
from zenml_integrations.onnx.kubernetes.canary import (
    CanaryController,
    CanaryDecision,
    PrometheusClient,
)
from zenml_integrations.onnx.kubernetes.cluster import ServingCluster
from zenml_integrations.onnx.kubernetes.config import KubernetesServingConfig
from zenml_integrations.onnx.kubernetes.manifests import ModelVariant, ServingPlan
from zenml_integrations.onnx.kubernetes.scraping import relabel_configs
from zenml_integrations.onnx.rollout.config import RollbackPolicy, RolloutConfig
from zenml_integrations.onnx.seldon import onnx_seldon_model
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.rollout_outcome import RolloutOutcome

from tests.helpers.fake_kubernetes_api import FakeKubernetesApi, fake_kubernetes_api
from tests.helpers.onnx_server import free_port
from tests.integration.test_seldon_wrapper_parity import (
    SeldonMicroservice,
    seldon_python,
    start_seldon,
    wait_until_healthy,
)

pytestmark = pytest.mark.slow

__all__ = ["seldon_python"]  # the parity test's session fixture, shared

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
WINDOW = 4  # seconds: every decision reads the last four scrapes
# A handful of requests per window on a busy two-core machine: one descheduled request is the
# p99 and five rows are no output distribution, so the latency and output rules ask for a large
# excess; errors are what these tests inject.
POLICY = RollbackPolicy(
    window_seconds=WINDOW, min_requests=4, min_latency_increase_ms=100, max_output_shift=50
)
SELDON_KEY = ("machinelearning.seldon.io", "v1", "models", "seldondeployments", "churn-model")
FAR_ROW = [50.0, 0.0, 0.0]  # past the faulty model's lookup table
UNDECIDED = (RolloutOutcome.WAITING, RolloutOutcome.INCONCLUSIVE)  # nothing applied: ask again


def linear_model(lookup_rows: int | None) -> bytes:
    """sigmoid(x @ w), plus (when ``lookup_rows``) a table looked up by int(x0): an export bug."""
    nodes = [
        helper.make_node("MatMul", ["input", "weights"], ["score"]),
        helper.make_node("Sigmoid", ["score"], ["probability"]),
    ]
    initializers = [helper.make_tensor("weights", TensorProto.FLOAT, [3, 1], [0.4, -0.3, 0.2])]
    if lookup_rows is not None:
        nodes[1] = helper.make_node("Sigmoid", ["shifted"], ["probability"])
        nodes[1:1] = [
            helper.make_node("Gather", ["input", "first"], ["x0"], axis=1),
            helper.make_node("Cast", ["x0"], ["row"], to=TensorProto.INT64),
            helper.make_node("Gather", ["table", "row"], ["offset"], axis=0),
            helper.make_node("Unsqueeze", ["offset", "axis1"], ["offset2"]),
            helper.make_node("Add", ["score", "offset2"], ["shifted"]),
        ]
        initializers += [
            helper.make_tensor("first", TensorProto.INT64, [], [0]),
            helper.make_tensor("table", TensorProto.FLOAT, [lookup_rows], [0.0] * lookup_rows),
            helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
        ]
    graph = helper.make_graph(
        nodes,
        "churn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N", 1])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def variant(version: str, onnx_bytes: bytes) -> ModelVariant:
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    return ModelVariant(version=version, model_uri=f"s3://models/{digest}", sha256=digest)


@dataclass
class Served:
    service: SeldonMicroservice
    variant: ModelVariant


@dataclass
class Stack:
    api: FakeKubernetesApi
    prometheus_url: str
    served: dict[str, Served]  # by version
    seldon_v2_exporter: Counter

    def serving(self, target: str = "seldon_v1") -> KubernetesServingConfig:
        return KubernetesServingConfig(
            target=target, namespace="models", image="reg/onnx:1",
            prometheus_url=self.prometheus_url,
        )  # fmt: skip

    def controller(self, target: str = "seldon_v1") -> CanaryController:
        configuration = k8s.Configuration()
        configuration.host = self.api.url
        cluster = ServingCluster(self.serving(target), k8s.ApiClient(configuration))
        return CanaryController(cluster, PrometheusClient(self.prometheus_url), "churn_model")

    def deploy(self, challenger: str | ModelVariant, target: str = "seldon_v1") -> None:
        if isinstance(challenger, str):
            challenger = self.served[challenger].variant
        plan = ServingPlan(
            model_name="churn_model",
            champion=self.served["1"].variant,
            challenger=challenger,
            rollout=RolloutConfig(strategy="canary", policy=POLICY),
        )
        self.controller(target).cluster.apply(plan)

    def send_traffic(self, requests: int) -> dict[str, list[int]]:
        """Requests split as the live SeldonDeployment says, interleaved as a router would.

        The second of every five rows a process gets is a far one, so that the wrapper hands
        its count over with the next answer.
        """
        predictors = self.api.objects[SELDON_KEY]["spec"]["predictors"]
        versions = {p["name"]: p["labels"]["mlops-kit.io/model-version"] for p in predictors}
        shares = {versions[p["name"]]: p.get("traffic", 100) / 100 for p in predictors}
        statuses: dict[str, list[int]] = {version: [] for version in shares}
        credit = dict.fromkeys(shares, 0.0)  # smooth weighted round robin
        with httpx.Client(timeout=10) as client:
            for _ in range(requests):
                for version, share in shares.items():
                    credit[version] += share
                version = max(credit, key=lambda v: (credit[v], shares[v]))
                credit[version] -= 1
                sent = statuses[version]
                row = FAR_ROW if len(sent) % 5 == 1 else [0.1 * (len(sent) % 7), 0.2, -0.1]
                url = f"{self.served[version].service.url}/api/v1.0/predictions"
                sent.append(client.post(url, json={"data": {"ndarray": [row]}}).status_code)
        return statuses


def first_decision(controller: CanaryController) -> CanaryDecision:
    """The first judgement within one window after the traffic: a busy machine's scrapes lag."""
    deadline = time.monotonic() + WINDOW
    decision = controller.advance()
    while decision.outcome in UNDECIDED and time.monotonic() < deadline:
        time.sleep(0.5)
        decision = controller.advance()
    return decision


def wait_for_scrapes() -> None:
    time.sleep(1.5)  # a scrape after the last request


def wait_until_scraped(url: str, series: str, count: int, timeout: float = 20) -> None:
    """Until Prometheus holds ``count`` of ``series`` (its first scrapes of a new target lag)."""
    query = {"query": f"count({series})"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = httpx.get(f"{url}/api/v1/query", params=query, timeout=5).json()["data"]["result"]
        if result and float(result[0]["value"][1]) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus at {url} has fewer than {count} {series} after {timeout} s")


def scrape_job(name: str, monitor: dict[str, Any], targets: dict[str, int]) -> dict[str, Any]:
    """A static job with the applied PodMonitor's rules; pod metadata as discovery gives it."""
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    job: dict[str, Any] = {
        "job_name": name,
        "scrape_interval": "1s",
        "metrics_path": endpoint["path"],
        "static_configs": [
            {
                "targets": [f"127.0.0.1:{port}"],
                "labels": {
                    "__meta_kubernetes_namespace": monitor["metadata"]["namespace"],
                    "__meta_kubernetes_pod_name": pod,
                    "__meta_kubernetes_pod_container_name": "model",
                },
            }
            for pod, port in targets.items()
        ],
        "relabel_configs": relabel_configs(endpoint["relabelings"]),
    }
    if "metricRelabelings" in endpoint:
        job["metric_relabel_configs"] = relabel_configs(endpoint["metricRelabelings"])
    return job


def start_prometheus(root: Path, jobs: list[dict[str, Any]]) -> tuple[subprocess.Popen[bytes], str]:
    config = root / "prometheus.yml"
    config.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": jobs}))
    port = free_port()
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (root / "prometheus.log").read_text()
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError((root / "prometheus.log").read_text())


@pytest.fixture(scope="module")
def stack(seldon_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("canary-prometheus")
    models = {"1": linear_model(None), "2": linear_model(None), "3": linear_model(10)}
    roles = {"1": "champion", "2": "canary", "3": "canary"}
    served: dict[str, Served] = {}
    registry = CollectorRegistry()
    exporter = Counter(
        "seldon_model_infer", "Seldon v2 agent's inference count, as its agent names it.",
        ("server", "server_replica", "model", "model_internal", "method_type", "code"),
        registry=registry,
    )  # fmt: skip
    exporter_port = free_port()
    exporter_server, exporter_thread = start_http_server(
        exporter_port, addr="127.0.0.1", registry=registry
    )
    prometheus: subprocess.Popen[bytes] | None = None
    try:
        for version, onnx_bytes in models.items():
            path = root / f"model-{version}.onnx"
            path.write_bytes(onnx_bytes)
            served[version] = Served(
                start_seldon(seldon_python, path, root / f"seldon-{version}", grpc=False, **{
                    onnx_seldon_model.MODEL_NAME_ENV: "churn_model",
                    onnx_seldon_model.MODEL_VERSION_ENV: version,
                    onnx_seldon_model.PREDICTOR_ENV: roles[version],
                    onnx_seldon_model.MODEL_SHA256_ENV: hashlib.sha256(onnx_bytes).hexdigest(),
                }),
                variant(version, onnx_bytes),
            )  # fmt: skip
        with fake_kubernetes_api() as api:
            stack = Stack(api, "", served, exporter)
            # The PodMonitors the cluster was given, one per target (the same name: v2's first).
            monitor_key = ("monitoring.coreos.com", "v1", "models", "podmonitors", "churn-model")
            stack.deploy("2", target="seldon_v2")
            v2_monitor = copy.deepcopy(api.objects[monitor_key])
            stack.deploy("2")
            v1_monitor = copy.deepcopy(api.objects[monitor_key])
            ports = {
                f"churn-model-{roles[version]}-{version}": int(
                    item.service.metrics_url.rsplit(":", 1)[1]
                )
                for version, item in served.items()
            }
            prometheus, stack.prometheus_url = start_prometheus(
                root,
                [scrape_job("seldon-v1", v1_monitor, ports),
                 scrape_job("seldon-v2", v2_monitor, {"mlserver-0": exporter_port})],
            )  # fmt: skip
            for item in served.values():  # pods answer some traffic before a rollout reaches them
                wait_until_healthy(item.service)
                item.service.predict({"data": {"ndarray": [[0.0, 0.0, 0.0]]}})
            wait_until_scraped(stack.prometheus_url, f'{metric_names.REQUESTS}{{status="ok"}}', 3)
            yield stack
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(timeout=15)
        for item in served.values():  # nothing to flush: killed at once, all together
            if item.service.process.poll() is None:
                os.killpg(item.service.process.pid, signal.SIGKILL)
        for item in served.values():
            item.service.process.wait()
        exporter_server.shutdown()
        exporter_thread.join(timeout=5)


def live_traffic(stack: Stack) -> dict[str, int | None]:
    predictors = stack.api.objects[SELDON_KEY]["spec"]["predictors"]
    return {p["name"]: p.get("traffic") for p in predictors}


def test_given_a_challenger_prometheus_never_scraped_when_advanced_then_inconclusive(
    stack: Stack,
) -> None:
    stack.deploy(variant("4", linear_model(5)))  # e.g. its pods are not selected by a monitor
    before = stack.api.objects[SELDON_KEY]["metadata"]["resourceVersion"]
    controller = stack.controller()

    decisions = [controller.advance() for _ in range(2)]

    assert [d.outcome for d in decisions] == [RolloutOutcome.INCONCLUSIVE] * 2
    assert "no onnx_server_requests_total series for the challenger" in decisions[0].reason
    assert stack.api.objects[SELDON_KEY]["metadata"]["resourceVersion"] == before
    assert live_traffic(stack) == {"champion": 95, "canary": 5}
    assert "PUT" not in [verb for verb, _ in stack.api.calls()[-4:]]


def test_given_a_healthy_canary_when_traffic_flows_then_it_walks_5_25_50_100_and_is_promoted(
    stack: Stack,
) -> None:
    stack.deploy("2")
    controller = stack.controller()
    seen, outcomes, reasons = [live_traffic(stack)], [], []
    for _ in range(8):  # too few requests, or none scraped yet, only means: ask again
        statuses = stack.send_traffic(100)
        assert set(statuses["2"]) == {200}
        wait_for_scrapes()
        decision = controller.advance()
        reasons.append((decision.outcome, decision.reason, decision.challenger, decision.champion))
        if decision.outcome not in UNDECIDED:
            outcomes.append(decision.outcome)
            seen.append(live_traffic(stack))
        if decision.outcome.decided:
            break

    assert outcomes == ["advanced", "advanced", "advanced", "promoted"], reasons
    assert seen[1:] == [
        {"champion": 75, "canary": 25},
        {"champion": 50, "canary": 50},
        {"champion": 0, "canary": 100},
        {"champion": None},
    ]
    assert decision.challenger is not None
    assert decision.challenger.p99_latency < 0.5  # the wrapper's latency histogram was read


def test_given_a_canary_failing_a_fifth_of_requests_when_advanced_then_rolled_back_in_one_window(
    stack: Stack,
) -> None:
    stack.deploy("3")
    statuses = stack.send_traffic(160)
    # Real onnxruntime failures, on the far rows only (the second of every five).
    assert statuses["3"].count(500) == len(range(1, len(statuses["3"]), 5)) == 2
    assert set(statuses["1"]) == {200}
    wait_for_scrapes()

    decision = first_decision(stack.controller())

    assert decision.outcome is RolloutOutcome.ROLLED_BACK, decision
    assert decision.judgement is not None
    assert decision.judgement.metric == "error_rate"
    assert decision.challenger is not None
    assert 0.08 < decision.challenger.error_rate < 0.4
    assert live_traffic(stack) == {"champion": None}


def test_given_series_but_no_traffic_in_the_window_when_advanced_then_inconclusive(
    stack: Stack,
) -> None:
    stack.deploy("2")
    time.sleep(WINDOW + 1.1)  # the window now holds no request of either version

    decision = stack.controller().advance()

    assert decision.outcome is RolloutOutcome.INCONCLUSIVE
    assert "answered no requests in the last 4 s" in decision.reason
    assert live_traffic(stack) == {"champion": 95, "canary": 5}


def test_given_seldon_v2_agent_series_when_advanced_then_grpc_ok_counts_as_success(
    stack: Stack,
) -> None:
    """Champion over REST (``200``), challenger over gRPC (``OK``, Go's spelling of codes)."""
    labels = {"server": "mlserver", "server_replica": "0", "model_internal": "x"}
    traffic = {
        ("churn-model-1", "rest"): {"200": 300, "500": 1},
        ("churn-model-2", "grpc"): {"OK": 30, "InvalidArgument": 5, "Internal": 0},
        ("other-model-1", "grpc"): {"Internal": 500},  # another deployment's model: not ours
    }
    series = {
        (model, code): stack.seldon_v2_exporter.labels(
            model=model, method_type=method, code=code, **labels
        )
        for (model, method), codes in traffic.items()
        for code in codes
    }
    wait_for_scrapes()  # every series exists at 0 before it grows
    for (model, _), codes in traffic.items():
        for code, count in codes.items():
            series[(model, code)].inc(count)
    wait_for_scrapes()
    stack.deploy("2", target="seldon_v2")

    decision = first_decision(stack.controller("seldon_v2"))

    assert decision.outcome is RolloutOutcome.ADVANCED, decision
    assert decision.challenger is not None
    assert decision.challenger.errors == 0
    assert decision.champion is not None
    # increase() extrapolates both alike: 30 judged of 301 (InvalidArgument is the client's).
    ratio = decision.challenger.requests / decision.champion.requests
    assert ratio == pytest.approx(30 / 301, abs=0.01)
    other = httpx.get(
        f"{stack.prometheus_url}/api/v1/query",
        params={"query": 'count(seldon_model_infer_total{model="other-model-1"})'},
        timeout=5,
    ).json()
    assert other["data"]["result"] == []  # the PodMonitor keeps this deployment's Models only


def series_shapes(exposition: str) -> dict[str, set[str]]:
    """Each onnx_server_* sample name with its label names (and ``le`` values, for buckets)."""
    shapes: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name.startswith("onnx_server_"):
                names = {label for label in sample.labels if label in metric_names.REQUEST_LABELS}
                if "le" in sample.labels:
                    names.add(f"le={sample.labels['le']}")
                shapes.setdefault(sample.name, set()).update(names)
    return shapes


def test_given_both_servers_expositions_when_parsed_then_names_labels_and_buckets_match(
    stack: Stack,
) -> None:
    wrapper = httpx.get(f"{stack.served['1'].service.metrics_url}/metrics", timeout=5).text
    local = ServerMetrics()
    series = local.series("churn_model", "1", "champion")
    series.ok.inc()
    series.latency.observe(0.003)
    series.prediction.observe(0.4)

    ours = series_shapes(generate_latest(local.registry).decode())
    theirs = series_shapes(wrapper)
    for name in ("onnx_server_requests_total", "onnx_server_request_latency_seconds_bucket",
                 "onnx_server_prediction_bucket", "onnx_server_prediction_count"):  # fmt: skip
        assert theirs[name] == ours[name], name
