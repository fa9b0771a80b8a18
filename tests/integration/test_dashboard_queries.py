"""The template's Grafana dashboard against real series and Grafana's published schema.

Debian's Prometheus, run with the template's own scrape config and rules,
scrapes a real ONNX server (under traffic, after a promotion and a rollback)
and a real Pushgateway holding what the kit's exporters push (drift, model
quality, pipeline health): every panel query must return data. The JSON is
type-checked against ``Dashboard`` from the ``@grafana/schema`` npm package,
which ships TypeScript types (no JSON schema), with ``tsc``.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from zenml_integrations.evidently.gate import ColumnDrift, DriftVerdict
from zenml_integrations.monitoring.exporter import drift_metrics, export_metrics
from zenml_integrations.monitoring.outcomes import LabelCounts, VersionLabelCounts
from zenml_integrations.monitoring.pipeline_health import (
    ChampionReport,
    RunReport,
    champion_metrics,
    export_health,
    run_metrics,
)
from zenml_integrations.monitoring.quality import QualityAssessment, VersionQuality
from zenml_integrations.monitoring.quality_export import JOB as QUALITY_JOB
from zenml_integrations.monitoring.quality_export import quality_metrics

from tests.helpers.onnx_models import FEATURES, logistic_model
from tests.helpers.onnx_server import WEIGHTS, RunningServer, free_port, start_server, stop_server
from tests.helpers.repo import REPO_ROOT

MONITORING = REPO_ROOT / "template" / "monitoring"
DASHBOARD = MONITORING / "grafana" / "model-serving.json"
SCHEMA_TOOL = REPO_ROOT / "tests" / "tools" / "grafana-schema"
RATE_INTERVAL = "10s"  # what Grafana's $__rate_interval becomes with 1 s scrapes


@contextmanager
def serving(args: list[str], ready_url: str, log: Path) -> Iterator[None]:
    """Run a Prometheus-family binary while the block runs; its log if it is never ready."""
    packages = "prometheus prometheus-pushgateway"
    assert shutil.which(args[0]), f"needs {args[0]}: apt-get install {packages} (Debian)"
    process = subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(ready_url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def infer_request(rows: int, seed: int) -> dict[str, Any]:
    data = np.random.default_rng(seed).normal(size=(rows, len(FEATURES))).astype(np.float32)
    return {"inputs": [{"name": "input", "shape": list(data.shape), "datatype": "FP32",
                        "data": data.ravel().tolist()}]}  # fmt: skip


@contextmanager
def traffic(server: RunningServer) -> Iterator[None]:
    """Valid requests every 50 ms (and an invalid one now and then) until the block ends."""
    stop = threading.Event()

    def send() -> None:
        with server.client() as client:
            for seed in range(1_000_000):
                if stop.wait(0.05):
                    return
                body = infer_request(2, seed) if seed % 10 else {"inputs": []}
                client.post("/v2/models/churn/infer", json=body)

    worker = threading.Thread(target=send, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(timeout=10)


def promote_then_roll_back(server: RunningServer) -> None:
    """Promote challenger v2, roll back challenger v3: both counters get samples."""
    for version, action in (("2", "promote"), ("3", "rollback")):
        path = server.write_model(f"v{version}", logistic_model([w * 1.01 for w in WEIGHTS]))
        deployed = server.admin("deploy", {"version": version, "path": str(path)})
        assert deployed.status_code == 200, deployed.text
        done = server.admin(action, {"reason": "dashboard test"})
        assert done.status_code == 200, done.text


def push_exported_series(pushgateway: str) -> None:
    """What the monitoring, quality and every pipeline's hooks push, by the kit's own exporters."""
    now = time.time()
    verdict = DriftVerdict(
        passed=False, reason="test", drift_share=0.5, max_drift_share=0.3, reference_rows=500,
        current_rows=500, columns=[
            ColumnDrift(column=name, column_type="numerical", method="wasserstein", score=score,
                        threshold=0.1, drifted=score > 0.1)
            for name, score in (("f0", 0.3), ("f1", 0.05))
        ],
    )  # fmt: skip
    export_metrics(drift_metrics(verdict, "churn", "1", now), "churn", textfile=None,
                   pushgateway_url=pushgateway)  # fmt: skip
    assessment = QualityAssessment(
        model_name="churn", problem_type="binary_classification", retrain_metric="roc_auc",
        max_drop=0.05, min_labels=10, versions=[
            VersionQuality(version="1", labels=40, metrics={"roc_auc": 0.71},
                           training_metrics={"roc_auc": 0.8}, drops={"roc_auc": 0.09},
                           kpis={}, below_threshold=True),
        ],
    )  # fmt: skip
    counts = LabelCounts(
        outcomes=50, unknown_id=3, before_window=1, window_start=now - 3600, window_end=now,
        versions={"1": VersionLabelCounts(predictions=60, matched=40, late=4, missing=14,
                                          duplicate=2)},
    )  # fmt: skip
    export_metrics(quality_metrics(assessment, counts, now), "churn", textfile=None,
                   pushgateway_url=pushgateway, job=QUALITY_JOB)  # fmt: skip
    for pipeline, succeeded in (("training_pipeline", False), ("monitoring_pipeline", True)):
        report = RunReport(
            pipeline=pipeline, succeeded=succeeded, started=now - 60, ended=now,
            last_success=now - 7200, rows={"in": 1000, "out": 800}, max_interval_hours=3,
        )  # fmt: skip
        export_health(run_metrics(report), ("pipeline", pipeline), textfile_dir=None,
                      pushgateway_url=pushgateway)  # fmt: skip
    champion = ChampionReport(model="churn", version="2", registered=now - 86400, max_age_days=30)
    export_health(champion_metrics(champion), ("model", "churn"), textfile_dir=None,
                  pushgateway_url=pushgateway)  # fmt: skip


def prometheus_config(tmp_path: Path, server: str, pushgateway: str) -> Path:
    """The template's prometheus.yml with 1 s intervals and the test's targets."""
    config = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(MONITORING / "prometheus" / "alerts.yml")]
    targets = {"onnx-server": server, "model_monitoring": pushgateway}
    assert {job["job_name"] for job in config["scrape_configs"]} == set(targets)
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def variable_values(prometheus: httpx.Client) -> dict[str, list[str]]:
    """Each query variable's values (``label_values(metric, label)``), as Grafana lists them."""
    values: dict[str, list[str]] = {}
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]["query"])
        assert query, variable["query"]
        metric, label = query.groups()
        answer = prometheus.get(f"/api/v1/label/{label}/values", params={"match[]": metric})
        values[variable["name"]] = answer.json()["data"]
    return values


def concrete(expr: str, values: dict[str, list[str]]) -> str:
    """The query Grafana sends: variables replaced by their values, intervals by durations."""
    expr = re.sub(r"\$__(rate_interval|interval|range)", RATE_INTERVAL, expr)
    return re.sub(
        r"\$\{?(\w+)\}?", lambda match: "|".join(map(re.escape, values[match.group(1)])), expr
    )


def empty_panel_queries(prometheus: httpx.Client, values: dict[str, list[str]]) -> list[str]:
    """Panel queries with no series, or a series without a finite value."""
    empty = []
    for panel in dashboard()["panels"]:
        for target in panel["targets"]:
            query = concrete(target["expr"], values)
            answer = prometheus.get("/api/v1/query", params={"query": query}).json()
            assert answer["status"] == "success", (panel["title"], query, answer)
            finite = [s for s in answer["data"]["result"] if math.isfinite(float(s["value"][1]))]
            if not finite:
                empty.append(f"{panel['title']}: {query}")
    return empty


@pytest.mark.slow
def test_given_real_exporters_scraped_when_each_panel_queries_then_it_returns_data(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, logistic_model(WEIGHTS))
    pushgateway = f"127.0.0.1:{free_port()}"
    prometheus_address = f"127.0.0.1:{free_port()}"
    config = prometheus_config(tmp_path, server.url.removeprefix("http://"), pushgateway)
    try:
        promote_then_roll_back(server)
        with (
            serving(["prometheus-pushgateway", f"--web.listen-address={pushgateway}"],
                    f"http://{pushgateway}/-/ready", tmp_path / "pushgateway.log"),
            traffic(server),
            serving(["prometheus",
                     f"--config.file={config}",
                     f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                     f"--web.listen-address={prometheus_address}"],
                    f"http://{prometheus_address}/-/ready", tmp_path / "prometheus.log"),
            httpx.Client(base_url=f"http://{prometheus_address}", timeout=10) as prometheus,
        ):  # fmt: skip
            push_exported_series(f"http://{pushgateway}")
            deadline = time.monotonic() + 20
            while True:
                values = variable_values(prometheus)
                if not all(values.values()):
                    empty = [f"template variables without values: {values}"]
                else:
                    empty = empty_panel_queries(prometheus, values)
                if not empty or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
    finally:
        stop_server(server)
    assert values["model"] == ["churn"], values
    assert values["pipeline"] == ["monitoring_pipeline", "training_pipeline"], values
    assert not empty, "panel queries without data:\n" + "\n".join(empty)


def test_given_the_dashboard_when_type_checked_against_grafana_schema_then_it_conforms(
    tmp_path: Path,
) -> None:
    tsc = SCHEMA_TOOL / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        pytest.fail(
            "the Grafana schema tools are not installed: "
            "npm ci --prefix tests/tools/grafana-schema (.ci/run does this)"
        )
    # A broken copy in the same run shows that the check reads the JSON.
    broken = dashboard()
    broken["panels"][0]["gridPos"]["w"] = "12"
    broken["panels"][1]["fieldConfig"]["defaults"]["unitt"] = "s"
    broken["panels"][2]["options"]["legend"]["displayMode"] = "tabel"  # timeseries' own options
    shutil.copy(SCHEMA_TOOL / "dashboard-json.ts", tmp_path)
    (tmp_path / "node_modules").symlink_to(SCHEMA_TOOL / "node_modules")
    for name, board in (("dashboard", dashboard()), ("broken", broken)):
        (tmp_path / f"{name}.ts").write_text(
            "import type { DashboardJson } from './dashboard-json.ts';\n\n"
            f"export const dashboard: DashboardJson = {json.dumps(board, indent=2)};\n"
        )
    checked = subprocess.run(
        [str(tsc), "--strict", "--noEmit", "--module", "nodenext", "--target", "es2022",
         "--allowImportingTsExtensions", "--types", "", "dashboard.ts", "broken.ts"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    errors = checked.stdout.splitlines()
    assert not [line for line in errors if line.startswith("dashboard.ts")], checked.stdout
    broken_errors = [line for line in errors if line.startswith("broken.ts")]
    assert len(broken_errors) == 3, checked.stdout
    assert "not assignable to type 'number'" in broken_errors[0]
    assert "'\"unitt\"' does not exist" in broken_errors[1]
    assert "'\"tabel\"' is not assignable" in broken_errors[2]
