"""The template's monitoring assets: promtool-checked rules, the dashboard, and metric names.

The metric names below are the contract between the ONNX server, the drift
export of the monitoring pipeline, and the rules and dashboard that read them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from zenml_integrations.monitoring.pipeline_health import (
    ChampionReport,
    RunReport,
    champion_metrics,
    run_metrics,
)

from tests.helpers.onnx_models import FEATURES, logistic_model
from tests.helpers.onnx_server import WEIGHTS, start_server, stop_server
from tests.helpers.repo import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "template" / "monitoring" / "prometheus"
DASHBOARD = REPO_ROOT / "template" / "monitoring" / "grafana" / "model-serving.json"

# Series the server exports, with their labels (besides `le` on histogram buckets).
SERVER_METRICS: dict[str, frozenset[str]] = {
    "onnx_server_requests_total": frozenset({"model", "version", "variant", "status"}),
    **{
        f"onnx_server_request_latency_seconds{suffix}": frozenset({"model", "version", "variant"})
        for suffix in ("_bucket", "_sum", "_count")
    },
    **{
        f"onnx_server_prediction{suffix}": frozenset({"model", "version"})
        for suffix in ("_bucket", "_sum", "_count")
    },
    "model_infer_request_success_total": frozenset({"model_name", "model_version"}),
    "model_infer_request_failure_total": frozenset({"model_name", "model_version"}),
    "onnx_server_rollout_challenger_share": frozenset({"model"}),
    "onnx_server_rollout_step": frozenset({"model"}),
    "onnx_server_rollbacks_total": frozenset({"model", "version", "metric"}),
    "onnx_server_promotions_total": frozenset({"model", "version"}),
    "onnx_server_model_info": frozenset({"version", "role", "sha256"}),
}
# Exported by the monitoring pipeline (job="model_monitoring"); no server to scrape them from.
DRIFT_METRICS = frozenset({
    "model_drift_score",
    "model_drift_detected",
    "model_drift_share",
    "model_drift_gate_passed",
    "model_drift_last_run_timestamp_seconds",
})  # fmt: skip
# Exported by every pipeline's hooks (job="pipeline_health").
HEALTH_METRICS = frozenset({
    "mlops_pipeline_last_run_timestamp_seconds",
    "mlops_pipeline_last_run_success",
    "mlops_pipeline_last_success_timestamp_seconds",
    "mlops_pipeline_run_duration_seconds",
    "mlops_pipeline_rows",
    "mlops_pipeline_max_interval_seconds",
    "mlops_champion_registered_timestamp_seconds",
    "mlops_champion_max_age_seconds",
})  # fmt: skip
# Exported by the quality pipeline (job="model_quality").
QUALITY_METRICS = frozenset({
    "model_quality_metric",
    "model_quality_training_metric",
    "model_quality_drop",
    "model_quality_below_threshold",
    "model_quality_kpi",
    "model_quality_labels",
    "model_quality_unmatched_labels",
    "model_quality_retrain",
    "model_quality_last_run_timestamp_seconds",
})  # fmt: skip
CONTRACT = frozenset(SERVER_METRICS) | DRIFT_METRICS | HEALTH_METRICS | QUALITY_METRICS | {"up"}

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:$.])[a-zA-Z_:][\w:]*(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
)


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (functions, labels and keywords left out)."""
    text = _STRINGS.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _LABEL_LISTS.sub("", text)
    return {name for name in _IDENTIFIER.findall(text) if name.lower() not in _KEYWORDS}


def rule_groups() -> list[dict[str, Any]]:
    return yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]


def rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> str:
    """Run the real promtool; fail (never skip) when it is missing."""
    executable = shutil.which("promtool")
    if executable is None:
        pytest.fail(
            "promtool is not on PATH: install it with `apt-get install prometheus` "
            "(Debian/Ubuntu; `make test` and .ci/run do this when it is missing)"
        )
    completed = subprocess.run(
        [executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


@pytest.mark.parametrize(
    "args",
    [
        ("check", "config", "prometheus.yml"),
        ("check", "rules", "alerts.yml"),
        ("test", "rules", "alerts_test.yml"),
    ],
    ids=["check-config", "check-rules", "test-rules"],
)
def test_given_the_prometheus_files_when_promtool_checks_them_then_they_pass(
    args: tuple[str, ...],
) -> None:
    output = promtool(*args)
    assert "SUCCESS" in output, output
    assert "FAILED" not in output, output


def test_given_the_rule_tests_then_every_alert_has_a_firing_and_a_silent_case() -> None:
    alerts = {rule["alert"] for rule in rules() if "alert" in rule}
    cases = yaml.safe_load((PROMETHEUS_DIR / "alerts_test.yml").read_text())["tests"]
    checks = [check for case in cases for check in case.get("alert_rule_test", [])]
    firing = {check["alertname"] for check in checks if check.get("exp_alerts")}
    silent = {check["alertname"] for check in checks if not check.get("exp_alerts")}
    assert alerts >= {
        "ModelServerDown", "ModelErrorRateHigh", "ModelLatencyP99High", "ModelRollbackHappened",
        "ModelDataDriftDetected", "ModelDriftMonitoringStale", "PipelineRunFailed",
        "PipelineStopped", "ModelChampionTooOld", "ModelQualityBelowThreshold",
    }  # fmt: skip
    assert alerts <= firing, f"alerts never tested firing: {sorted(alerts - firing)}"
    assert alerts <= silent, f"alerts never tested silent: {sorted(alerts - silent)}"
    for rule in rules():
        if "alert" in rule:
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_given_the_dashboard_then_panels_have_ids_positions_datasources_and_targets() -> None:
    board = dashboard()
    assert 36 <= board["schemaVersion"] <= 41
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["model"]["query"]["query"] == "label_values(onnx_server_requests_total, model)"
    assert variables["model"]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert variables["pipeline"]["query"]["query"] == (
        "label_values(mlops_pipeline_last_run_timestamp_seconds, pipeline)"
    )

    panels = board["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), ids
    occupied: dict[tuple[int, int], str] = {}
    for panel in panels:
        title = panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[key], int) for key in "xywh"), title
        assert grid["x"] + grid["w"] <= 24, title
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in occupied, f"{title} overlaps {occupied.get((x, y))}"
                occupied[(x, y)] = title
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, title
        assert panel["targets"], title
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], title
            assert target["expr"].strip(), title
            selects = ('{model=~"$model"}', '{pipeline=~"$pipeline"}', "job=")
            assert any(selector in target["expr"] for selector in selects), title


def test_given_the_dashboard_exprs_when_promtool_parses_them_then_they_are_valid_promql(
    tmp_path: Path,
) -> None:
    # Grafana's variables replaced by values of the right kind: a duration, a regex.
    def concrete(expr: str) -> str:
        with_durations = re.sub(r"\$__(rate_interval|interval|range)", "5m", expr)
        return re.sub(r"\$\{?\w+\}?", ".*", with_durations)

    recording = [
        {"record": f"dashboard:panel_expr:{index}", "expr": concrete(expr)}
        for index, expr in enumerate(dashboard_exprs())
    ]
    (tmp_path / "dashboard_rules.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]})
    )
    output = promtool("check", "rules", "dashboard_rules.yml", cwd=tmp_path)
    assert f"SUCCESS: {len(recording)} rules found" in output, output


def used_metric_names() -> tuple[set[str], set[str]]:
    """(names the rules, annotations and dashboard select, names recording rules define)."""
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    used: set[str] = set()
    for rule in rules():
        used |= metric_names(rule["expr"])
        for annotation in rule.get("annotations", {}).values():
            for query in re.findall(r"printf `([^`]*)`", annotation):
                used |= metric_names(query)
    for expr in dashboard_exprs():
        used |= metric_names(expr)
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            used |= set(re.findall(r"label_values\((\w+)", variable["query"]["query"]))
    return used, recorded


def test_given_rules_and_dashboard_then_every_metric_is_recorded_or_in_the_contract() -> None:
    used, recorded = used_metric_names()
    # The extractor must see what the files obviously use, or the check below is empty.
    assert {"up", "onnx_server_requests_total", "onnx_server_request_latency_seconds_bucket",
            "model_drift_gate_passed", "model_drift_last_run_timestamp_seconds",
            "model_version:onnx_server_request_error_ratio:rate5m"} <= used  # fmt: skip
    assert metric_names('sum by (le) (rate(a_total{x="by"}[5m])) / on (i) b offset 5m') == {
        "a_total", "b",
    }  # fmt: skip
    unknown = used - recorded - CONTRACT
    assert not unknown, f"metrics neither recorded nor in the contract: {sorted(unknown)}"
    assert used >= DRIFT_METRICS, f"drift metrics nobody reads: {sorted(DRIFT_METRICS - used)}"
    read = HEALTH_METRICS | QUALITY_METRICS - {"model_quality_kpi", "model_quality_retrain"}
    assert used >= read, f"health or quality metrics nobody reads: {sorted(read - used)}"


def test_given_full_health_reports_then_the_exporters_emit_exactly_the_contract_names() -> None:
    run = RunReport(
        pipeline="training_pipeline", succeeded=False, started=10.0, ended=70.0,
        last_success=5.0, rows={"in": 100, "out": 80}, max_interval_hours=2.0,
    )  # fmt: skip
    champion = ChampionReport(model="churn", version="3", registered=1.0, max_age_days=30.0)
    families = [*run_metrics(run).collect(), *champion_metrics(champion).collect()]
    assert {family.name for family in families} == HEALTH_METRICS
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }
    assert samples[("mlops_pipeline_run_duration_seconds",
                    (("pipeline", "training_pipeline"),))] == 60.0  # fmt: skip
    assert samples[("mlops_pipeline_last_run_success", (("pipeline", "training_pipeline"),))] == 0
    assert samples[("mlops_pipeline_rows",
                    (("direction", "out"), ("pipeline", "training_pipeline")))] == 80  # fmt: skip
    assert samples[("mlops_pipeline_max_interval_seconds",
                    (("pipeline", "training_pipeline"),))] == 7200  # fmt: skip
    assert samples[("mlops_champion_max_age_seconds", (("model", "churn"),))] == 30 * 86400


def scraped_series(text: str) -> tuple[set[str], dict[str, set[frozenset[str]]]]:
    """Names the exposition declares or samples, and the label names of each sampled name."""
    names: set[str] = set()
    labels: dict[str, set[frozenset[str]]] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            match = re.match(r"([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s", line)
            assert match, line
            name = match.group(1)
            names.add(name)
            keys = frozenset(re.findall(r'(\w+)="', match.group(2) or "")) - {"le"}
            labels.setdefault(name, set()).add(keys)
    return names, labels


@pytest.mark.slow
def test_given_a_real_server_when_scraped_then_the_server_metrics_used_exist(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path, logistic_model(WEIGHTS))
    try:
        rows = np.random.default_rng(5).normal(size=(4, len(FEATURES))).astype(np.float32)
        request = {"inputs": [{"name": "input", "shape": list(rows.shape), "datatype": "FP32",
                               "data": rows.ravel().tolist()}]}  # fmt: skip
        with server.client() as client:
            assert client.post("/v2/models/churn/infer", json=request).status_code == 200
            response = client.get("/metrics")
    finally:
        stop_server(server)
    assert response.status_code == 200
    exposed, labels = scraped_series(response.text)

    # Counters with no event yet (rollbacks, promotions) are declared by a TYPE line only;
    # everything that one request touches must have samples, histograms via _bucket.
    used, _ = used_metric_names()
    server_used = {name for name in used if name.startswith(("onnx_server_", "model_infer_"))}
    assert "onnx_server_request_latency_seconds_bucket" in server_used
    missing = server_used - exposed
    assert not missing, f"rules/dashboard read series the server does not export: {missing}"
    missing_contract = set(SERVER_METRICS) - exposed
    assert not missing_contract, f"contract names the server does not export: {missing_contract}"
    for name, label_sets in labels.items():
        if name in SERVER_METRICS:
            assert label_sets == {SERVER_METRICS[name]}, (name, label_sets)
    for name in ("onnx_server_requests_total", "onnx_server_request_latency_seconds_bucket",
                 "onnx_server_prediction_bucket", "onnx_server_model_info"):  # fmt: skip
        assert name in labels, f"{name} has no sample after a request"
