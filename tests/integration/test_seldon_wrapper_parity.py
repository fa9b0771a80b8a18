"""The seldon-core wrapper answers like our local ONNX server for the same model file.

seldon-core pins numpy<2 and protobuf<4, so it gets its own virtualenv, installed from the
serving image's requirements.txt exactly as the Dockerfile installs it (``--no-deps`` from the
compiled pins) and cached by that file's hash. ``seldon-core-microservice`` hard-codes the
wildcard address for its HTTP, gRPC and metrics servers (no option or variable sets the host):
the ports are random and the test talks to 127.0.0.1 only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
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
import numpy as np
import pandas as pd
import pytest
from zenml_integrations.onnx.export.conversion import convert_to_onnx
from zenml_integrations.onnx.seldon import onnx_seldon_model
from zenml_integrations.training.columns import describe_columns
from zenml_integrations.training.dataset import (
    DatasetSchema,
    check_table,
    feature_kinds,
    target_values,
)
from zenml_integrations.training.models import ModelSpec, build_estimator
from zenml_integrations.training.preprocessing import model_frame
from zenml_integrations.training.sample_data import (
    SAMPLE_ENTITY_COLUMN,
    SAMPLE_TARGETS,
    SAMPLE_TIMESTAMP_COLUMN,
    generate_sample,
)

from tests.helpers.cli import REPO_ROOT
from tests.helpers.loans import ENTITY, TARGET, TIMESTAMP, UNSEEN_PURPOSE, loans_table
from tests.helpers.onnx_server import RunningServer, free_port, start_server, stop_server

pytestmark = pytest.mark.slow

SERVING_DIR = REPO_ROOT / "template" / "serving"
WRAPPER = Path(onnx_seldon_model.__file__)
IMAGE_PYTHON = "3.12"  # FROM python:3.12-slim (seldon-core 1.19 needs >= 3.12)
ENCODING_RULES = SERVING_DIR / "tabular.py"  # copied beside the wrapper, as in the image
SERIES_DEFINITION = SERVING_DIR / "metric_names.py"  # likewise
# Absolute for probabilities; relative too for regression outputs near 100, where one float32
# step is 7.6e-6 and the two onnxruntime versions sum a forest's trees in a different order.
TOLERANCE = 1e-6
# (problem type, model family): tree ensemble classifier (onnxruntime 1.26-1.27 got it wrong),
# linear classifier, tree ensemble regressor.
CASES = [
    ("binary_classification", "random_forest"),
    ("binary_classification", "linear"),
    ("regression", "random_forest"),
]


@dataclass(frozen=True)
class TrainedModel:
    onnx_bytes: bytes
    feature_names: list[str]
    rows: np.ndarray  # float32 rows the model has not seen


# Runs in the seldon-core virtualenv: one gRPC Predict call, the reply as JSON on stdout.
GRPC_CLIENT = """
import sys
import grpc
from google.protobuf import json_format
from seldon_core.proto import prediction_pb2, prediction_pb2_grpc
request = json_format.Parse(sys.stdin.read(), prediction_pb2.SeldonMessage())
with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as channel:
    print(json_format.MessageToJson(prediction_pb2_grpc.ModelStub(channel).Predict(request)))
"""


@dataclass
class SeldonMicroservice:
    url: str
    metrics_url: str
    grpc_port: int | None
    process: subprocess.Popen[bytes]
    log: Path

    def predict(self, payload: dict[str, Any] | str) -> httpx.Response:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        return httpx.post(
            f"{self.url}/api/v1.0/predictions",
            content=body,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )


def image_python() -> str:
    """The serving image's Python (its Dockerfile's FROM): a pyenv build, or uv's discovery."""
    builds = sorted(Path.home().glob(f".pyenv/versions/{IMAGE_PYTHON}.*/bin/python{IMAGE_PYTHON}"))
    return str(builds[-1]) if builds else IMAGE_PYTHON


@pytest.fixture(scope="session")
def seldon_python(request: pytest.FixtureRequest) -> Path:
    """Python of a virtualenv with the serving image's pinned requirements, one per pin set."""
    requirements = SERVING_DIR / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes() + IMAGE_PYTHON.encode()).hexdigest()[:16]
    root = Path(request.config.cache.mkdir(f"seldon-venv-{key}"))
    venv, ready = root / "venv", root / "ready"
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv is needed to build the seldon-core virtualenv: put it on PATH or set UV"
    with (root / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process may be building it
        if not ready.exists():
            shutil.rmtree(venv, ignore_errors=True)
            environment = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
            python = str(venv / "bin" / "python")
            for command in (
                [uv, "venv", "--quiet", "--python", image_python(), str(venv)],
                [uv, "pip", "install", "--quiet", "--python", python, "--no-deps",
                 "-r", str(requirements)],
                [uv, "pip", "check", "--python", python],
            ):  # fmt: skip
                completed = subprocess.run(
                    command, env=environment, capture_output=True, text=True, check=False
                )
                assert completed.returncode == 0, completed.stdout + completed.stderr
            ready.write_text(requirements.read_text())
    return venv / "bin" / "python"


@pytest.fixture(scope="module", params=CASES, ids=["-".join(case) for case in CASES])
def trained(request: pytest.FixtureRequest) -> TrainedModel:
    problem_type: Any
    problem_type, family = request.param
    frame = generate_sample(1_200, problem_type)
    features = frame.drop(
        columns=[SAMPLE_TARGETS[problem_type], SAMPLE_ENTITY_COLUMN, SAMPLE_TIMESTAMP_COLUMN]
    )
    feature_names = [str(column) for column in features.columns]
    params = {"n_estimators": 20} if family != "linear" else {}
    model = build_estimator(ModelSpec(family=family, params=params), problem_type)
    model.fit(features.iloc[:1_000], frame[SAMPLE_TARGETS[problem_type]].iloc[:1_000])
    return TrainedModel(
        convert_to_onnx(model, feature_names, problem_type),
        feature_names,
        features.iloc[1_000:1_064].to_numpy(dtype=np.float32),
    )


def start_seldon(
    python: Path, model_path: Path, workdir: Path, *, grpc: bool, **environment: str
) -> SeldonMicroservice:
    """``seldon-core-microservice`` running the wrapper and its encoding rules, as in the image."""
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(WRAPPER, workdir / WRAPPER.name)
    shutil.copy(ENCODING_RULES, workdir / ENCODING_RULES.name)
    shutil.copy(SERIES_DEFINITION, workdir / SERIES_DEFINITION.name)
    http_port, metrics_port = free_port(), free_port()
    grpc_port = free_port() if grpc else None
    grpc_options = ["--grpc-port", str(grpc_port), "--grpc-workers", "1"] if grpc_port else []
    log = workdir / "seldon.log"
    process = subprocess.Popen(
        [str(python.parent / "seldon-core-microservice"), onnx_seldon_model.INTERFACE_NAME,
         "--service-type", "MODEL", "--http-port", str(http_port),
         "--metrics-port", str(metrics_port), "--workers", "1", "--threads", "1",
         *(grpc_options or ["--grpc-workers", "0"])],
        cwd=workdir,
        env={
            "PATH": f"{python.parent}:/usr/bin:/bin",
            "HOME": str(workdir),
            "PYTHONPATH": str(workdir),
            "INCLUDE_METRICS_IN_CLIENT_RESPONSE": "false",  # as in the image
            onnx_seldon_model.MODEL_URI_ENV: str(model_path),
            onnx_seldon_model.INTRA_OP_THREADS_ENV: "1",
            **environment,
        },
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its gunicorn masters and workers share one process group
    )  # fmt: skip
    return SeldonMicroservice(
        f"http://127.0.0.1:{http_port}", f"http://127.0.0.1:{metrics_port}", grpc_port, process, log
    )


def wait_until_healthy(service: SeldonMicroservice, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise AssertionError(service.log.read_text())
        try:
            if httpx.get(f"{service.url}/api/v1.0/health/status", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    log = service.log.read_text()
    raise AssertionError(f"seldon microservice not healthy in {timeout} s\n{log}")


def stop_seldon(service: SeldonMicroservice) -> None:
    if service.process.poll() is None:
        os.killpg(service.process.pid, signal.SIGTERM)
        try:
            service.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


@pytest.fixture(scope="module")
def servers(
    trained: TrainedModel, seldon_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SeldonMicroservice, RunningServer]]:
    """The seldon wrapper and our local server, both on the same ONNX file."""
    root = tmp_path_factory.mktemp("parity")
    model_path = root / "model.onnx"
    model_path.write_bytes(trained.onnx_bytes)
    seldon = start_seldon(
        seldon_python,
        model_path,
        root / "seldon",
        grpc=True,
        **{onnx_seldon_model.MODEL_SHA256_ENV: hashlib.sha256(trained.onnx_bytes).hexdigest()},
    )
    try:
        local = start_server(root / "local", trained.onnx_bytes)
        try:
            wait_until_healthy(seldon)
            yield seldon, local
        finally:
            stop_server(local)
    finally:
        stop_seldon(seldon)


def local_outputs(server: RunningServer, rows: np.ndarray) -> dict[str, np.ndarray]:
    payload = {"inputs": [{"name": "input", "datatype": "FP32", "shape": list(rows.shape),
                           "data": rows.ravel().tolist()}]}  # fmt: skip
    with server.client() as client:
        response = client.post("/v2/models/churn/infer", json=payload)
    assert response.status_code == 200, response.text
    return {
        output["name"]: np.asarray(output["data"]).reshape(output["shape"])
        for output in response.json()["outputs"]
    }


def seldon_outputs(
    service: SeldonMicroservice, rows: np.ndarray, names: list[str] | None = None
) -> dict[str, np.ndarray]:
    data: dict[str, Any] = {"ndarray": rows.tolist()}
    if names is not None:
        data["names"] = names
    response = service.predict({"data": data})
    assert response.status_code == 200, response.text
    return {name: np.asarray(value) for name, value in response.json()["jsonData"].items()}


def seldon_grpc_outputs(
    service: SeldonMicroservice, python: Path, rows: np.ndarray
) -> dict[str, np.ndarray]:
    completed = subprocess.run(
        [str(python), "-c", GRPC_CLIENT, str(service.grpc_port)],
        input=json.dumps({"data": {"ndarray": rows.tolist()}}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    reply = json.loads(completed.stdout)
    return {name: np.asarray(value) for name, value in reply["jsonData"].items()}


def assert_same_predictions(seldon: dict[str, np.ndarray], local: dict[str, np.ndarray]) -> None:
    assert seldon.keys() == local.keys()
    for name, expected in local.items():
        assert seldon[name].shape == expected.shape, name
        if np.issubdtype(expected.dtype, np.integer):
            np.testing.assert_array_equal(seldon[name], expected, err_msg=name)
        else:
            # Both are float32 tensors; the local server writes float32's shortest decimal, which
            # read back as float64 is not the float64 the wrapper's tolist() writes.
            np.testing.assert_allclose(
                seldon[name].astype(np.float32), expected.astype(np.float32),
                rtol=TOLERANCE, atol=TOLERANCE, err_msg=name,
            )  # fmt: skip


def test_given_one_model_file_when_both_servers_answer_then_predictions_are_equal(
    servers: tuple[SeldonMicroservice, RunningServer], trained: TrainedModel, seldon_python: Path
) -> None:
    seldon, local = servers
    expected = local_outputs(local, trained.rows)

    assert_same_predictions(seldon_outputs(seldon, trained.rows), expected)
    for index in range(3):  # single rows take the same path as batches
        single = trained.rows[index : index + 1]
        assert_same_predictions(seldon_outputs(seldon, single), local_outputs(local, single))
    # Named columns in another order are put back in the model's order.
    order = list(reversed(range(len(trained.feature_names))))
    reordered = seldon_outputs(
        seldon, trained.rows[:, order], [trained.feature_names[index] for index in order]
    )
    assert_same_predictions(reordered, expected)
    # gRPC carries jsonData as a protobuf Struct, whose numbers are all doubles.
    over_grpc = seldon_grpc_outputs(seldon, seldon_python, trained.rows)
    if "label" in over_grpc:
        over_grpc["label"] = over_grpc["label"].astype(np.int64)
    assert_same_predictions(over_grpc, expected)

    digest = hashlib.sha256(trained.onnx_bytes).hexdigest()
    meta = seldon.predict({"data": {"ndarray": trained.rows[:1].tolist()}}).json()["meta"]
    assert meta["tags"] == {"model_sha256": digest}
    assert "metrics" not in meta

    metadata = httpx.get(f"{seldon.url}/api/v1.0/metadata", timeout=5).json()
    with local.client() as client:
        local_metadata = client.get("/v2/models/churn").json()
    assert metadata["platform"] == local_metadata["platform"] == "onnxruntime_onnx"
    assert metadata["inputs"] == local_metadata["inputs"]
    assert metadata["outputs"] == local_metadata["outputs"]
    assert json.loads(metadata["custom"]["feature_names"]) == trained.feature_names
    assert metadata["custom"]["sha256"] == digest


def test_given_bad_rows_when_sent_then_both_refuse_with_4xx_and_seldon_keeps_answering(
    servers: tuple[SeldonMicroservice, RunningServer], trained: TrainedModel
) -> None:
    seldon, local = servers
    width = len(trained.feature_names)
    narrow = trained.rows[:2, : width - 1]
    with_nan = trained.rows[:2].tolist()
    with_nan[1][2] = float("nan")
    bad_requests = {
        "features per row": {"data": {"ndarray": narrow.tolist()}},
        f"feature '{trained.feature_names[2]}'": {"data": {"ndarray": with_nan}},
        "missing ['": {"data": {"names": [*trained.feature_names[:-1], "surprise"],
                                "ndarray": trained.rows[:2].tolist()}},
        "must be [rows, ": {"data": {"ndarray": trained.rows[0].tolist()}},
    }  # fmt: skip

    for message, payload in bad_requests.items():
        response = seldon.predict(json.dumps(payload))  # json.dumps keeps NaN as a token
        assert response.status_code == 400, response.text
        status = response.json()["status"]
        assert status["reason"] == "MICROSERVICE_BAD_DATA", status
        assert message in status["info"], status
    for rows in (narrow.tolist(), with_nan):
        flat = [value for row in rows for value in row]
        body = {"inputs": [{"name": "input", "datatype": "FP32",
                            "shape": [len(rows), len(rows[0])], "data": flat}]}  # fmt: skip
        with local.client() as client:
            response = client.post(
                "/v2/models/churn/infer",
                content=json.dumps(body),
                headers={"Content-Type": "application/json"},
            )
        assert response.status_code == 400, response.text

    assert seldon.process.poll() is None
    assert_same_predictions(
        seldon_outputs(seldon, trained.rows), local_outputs(local, trained.rows)
    )
    metrics = httpx.get(f"{seldon.metrics_url}/metrics", timeout=5).text
    assert "onnx_model_rows_total" in metrics


def test_given_a_wrong_digest_when_started_then_seldon_refuses_to_serve(
    seldon_python: Path, tmp_path: Path
) -> None:
    model_path = tmp_path / "model.onnx"
    model_path.write_bytes(convert_to_onnx(*_tiny_model()))
    service = start_seldon(
        seldon_python,
        model_path,
        tmp_path / "seldon",
        grpc=False,
        **{onnx_seldon_model.MODEL_SHA256_ENV: "0" * 64},
    )
    try:
        service.process.wait(timeout=60)
    finally:
        stop_seldon(service)
    log = service.log.read_text()
    assert service.process.returncode != 0, log
    assert "refusing to serve a model other than the registered one" in log, log
    assert hashlib.sha256(model_path.read_bytes()).hexdigest() in log


def _tiny_model() -> tuple[Any, list[str], str]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 3))
    model = Pipeline([("model", LogisticRegression())]).fit(features, features[:, 0] > 0)
    return model, ["a", "b", "c"], "binary_classification"


def test_given_a_model_of_a_mixed_table_when_seldon_serves_it_then_it_answers_like_ours(
    seldon_python: Path, tmp_path: Path
) -> None:
    table = loans_table(1_500)
    schema = DatasetSchema(
        problem_type="binary_classification", target_column=TARGET, entity_column=ENTITY,
        timestamp_column=TIMESTAMP, positive_label="yes", columns=describe_columns(table),
    )  # fmt: skip
    features = check_table(table, schema)
    kinds = feature_kinds(table, features, schema)
    spec = ModelSpec(family="random_forest", params={"n_estimators": 20})
    model = build_estimator(spec, "binary_classification", kinds)
    model.fit(model_frame(table, kinds), target_values(table, schema))
    onnx_bytes = convert_to_onnx(model, features, "binary_classification", dict(kinds))
    model_path = tmp_path / "model.onnx"
    model_path.write_bytes(onnx_bytes)
    recent = table[features].tail(8).astype(object)
    records = recent.where(recent.notna(), None).to_dict(orient="records")
    records[0].update(purpose=UNSEEN_PURPOSE, amount=None, has_cosigner=None)
    records[1].update(grade=None, first_credit_line=None)
    records = [
        {name: value.item() if isinstance(value, np.generic) else value
         for name, value in record.items()}
        for record in records
    ]  # fmt: skip
    reversed_names = list(reversed(features))

    seldon = start_seldon(seldon_python, model_path, tmp_path / "seldon", grpc=False)
    local = start_server(tmp_path / "local", onnx_bytes)
    try:
        wait_until_healthy(seldon)
        rows = [[record[name] for name in reversed_names] for record in records]
        answer = seldon.predict({"data": {"names": reversed_names, "ndarray": rows}})
        refused = seldon.predict(
            {"data": {"names": reversed_names, "ndarray": [[*rows[0][:-1], "x"]]}}
        )
        with local.client() as client:
            ours = client.post("/v2/models/churn/infer", json={"records": records})
        metadata = httpx.get(f"{seldon.url}/api/v1.0/metadata", timeout=5).json()
    finally:
        stop_server(local)
        stop_seldon(seldon)

    assert answer.status_code == 200, answer.text
    assert ours.status_code == 200, ours.text
    local = {
        output["name"]: np.asarray(output["data"]).reshape(output["shape"])
        for output in ours.json()["outputs"]
    }
    served = {name: np.asarray(value) for name, value in answer.json()["jsonData"].items()}
    assert_same_predictions(served, local)
    np.testing.assert_allclose(
        local["probabilities"],
        model.predict_proba(model_frame(pd.DataFrame(records), kinds)),
        atol=1e-5,
    )
    assert refused.status_code == 400
    assert f"feature '{features[0]}' (numeric), row 0: 'x' is not a number" in refused.text
    assert [tensor["datatype"] for tensor in metadata["inputs"]].count("BYTES") == 4
