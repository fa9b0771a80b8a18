"""Which served traffic a monitoring run judges, and what it says when there is too little."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from zenml_integrations.monitoring.errors import (
    InferenceLogsNotFound,
    MonitoringError,
    NotEnoughTraffic,
)
from zenml_integrations.monitoring.traffic import (
    MonitoringWindow,
    busiest_served_traffic,
    inference_log_dir,
)


def _log(directory: Path, version: str, rows: int, model: str = "churn") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    now = time.time()
    with (directory / f"{version}.jsonl").open("a") as handle:
        for index in range(rows):
            record = {"timestamp": now - index, "model": model, "version": version,
                      "inputs": [[float(index), 1.0]]}  # fmt: skip
            handle.write(json.dumps(record) + "\n")


def test_given_two_versions_served_when_read_then_the_busiest_one_is_summarised(
    tmp_path: Path,
) -> None:
    _log(tmp_path, "1", 30)
    _log(tmp_path, "2", 5)
    _log(tmp_path, "1", 40, model="other")

    served, summary = busiest_served_traffic("churn", MonitoringWindow(min_rows=20), tmp_path)

    assert served.version == "1"
    assert (summary.version, summary.rows, summary.requests) == ("1", 30, 30)
    assert summary.versions_seen == ["1", "2"]
    assert summary.first_timestamp <= summary.last_timestamp
    assert summary.log_dir == str(tmp_path)


def test_given_too_few_rows_when_read_then_not_enough_traffic_says_what_to_change(
    tmp_path: Path,
) -> None:
    _log(tmp_path, "1", 3)

    with pytest.raises(NotEnoughTraffic) as raised:
        busiest_served_traffic("churn", MonitoringWindow(hours=2, min_rows=300), tmp_path)

    message = str(raised.value)
    for part in ("not enough served traffic yet", "3 rows of churn in the last 2 h",
                 "300 needed", "parameters.window.min_rows"):  # fmt: skip
        assert part in message
    assert isinstance(raised.value, MonitoringError)


@pytest.mark.parametrize(
    ("deployer", "expected"),
    [
        (None, "has no model deployer"),
        (SimpleNamespace(name="onnx", find_model_server=lambda **_: []), "deploy it first"),
        (
            SimpleNamespace(
                name="onnx",
                find_model_server=lambda **_: [
                    SimpleNamespace(config=SimpleNamespace(server_settings={"port": 1}))
                ],
            ),
            r"without inference logging \(server settings: \['port'\]\)",
        ),
    ],
)
def test_given_no_logging_server_when_log_dir_asked_then_refused_saying_why(
    monkeypatch: pytest.MonkeyPatch, deployer: Any, expected: str
) -> None:
    stack = SimpleNamespace(model_deployer=deployer)
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(active_stack=stack))

    with pytest.raises(InferenceLogsNotFound, match=expected):
        inference_log_dir("churn")


def test_given_a_logging_server_when_log_dir_asked_then_its_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    service = SimpleNamespace(
        config=SimpleNamespace(server_settings={"inference_log_dir": str(tmp_path)})
    )
    deployer = SimpleNamespace(name="onnx", find_model_server=lambda **_: [service])
    stack = SimpleNamespace(model_deployer=deployer)
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(active_stack=stack))

    assert inference_log_dir("churn") == tmp_path
