"""The seldon wrapper's start-up checks and input validation, without seldon-core.

The wrapper imports nothing from seldon-core, so it runs here in the pipeline environment; its
behaviour inside ``seldon-core-microservice`` is tested in test_seldon_wrapper_parity.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from zenml_integrations.onnx.seldon.onnx_seldon_model import (
    MODEL_SHA256_ENV,
    MODEL_URI_ENV,
    InvalidInputError,
    ModelStartupError,
    ModelUnhealthy,
    OnnxSeldonModel,
    SeldonModelError,
)

from tests.helpers.onnx_models import FEATURES, logistic_model

WEIGHTS = [0.3, -0.2, 0.1, 0.0, 0.5, -0.4, 0.2, 0.1]


@pytest.fixture
def model_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "models" / "model.onnx"
    path.parent.mkdir()
    path.write_bytes(logistic_model(WEIGHTS))
    monkeypatch.setenv(MODEL_URI_ENV, str(path))
    return path


@pytest.fixture
def loaded(model_file: Path) -> OnnxSeldonModel:
    model = OnnxSeldonModel()
    model.load()
    return model


def test_given_a_folder_or_file_uri_when_started_then_model_onnx_is_served(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for uri in (str(model_file.parent), f"file://{model_file}"):
        monkeypatch.setenv(MODEL_URI_ENV, uri)
        assert OnnxSeldonModel().model_path == model_file


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (MODEL_URI_ENV, "", "MODEL_URI is not set"),
        (MODEL_URI_ENV, "s3://bucket/model.onnx", "is not a local path"),
        (MODEL_URI_ENV, "/nonexistent/model.onnx", "no model file at"),
        (MODEL_SHA256_ENV, "0" * 64, "refusing to serve a model other than the registered one"),
        ("ONNX_INTRA_OP_THREADS", "0", "must be a whole number of at least 1"),
        ("ONNX_MAX_BATCH_ROWS", "many", "must be a whole number of at least 1"),
        ("ONNX_ALLOW_NAN", "maybe", "must be true or false"),
    ],
)
def test_given_bad_settings_when_started_then_refused_with_the_variable_named(
    model_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ModelStartupError, match=message):
        OnnxSeldonModel()


def test_given_graph_parameters_when_started_then_refused_with_the_variables_to_use(
    model_file: Path,
) -> None:
    with pytest.raises(ModelStartupError, match=r"got \['model_uri'\].*set MODEL_URI"):
        OnnxSeldonModel(model_uri="/mnt/models")


def test_given_no_load_or_non_finite_outputs_when_probed_then_unhealthy_not_a_runtime_error(
    model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelUnhealthy, match="seldon-core calls load"):
        OnnxSeldonModel().health_status()
    exploding = tmp_path / "exploding.onnx"
    exploding.write_bytes(logistic_model([float("inf")] * len(FEATURES)))
    monkeypatch.setenv(MODEL_URI_ENV, str(exploding))
    model = OnnxSeldonModel()
    model.load()
    with pytest.raises(ModelUnhealthy, match="non-finite outputs for a row of zeros"):
        model.health_status()
    assert issubclass(ModelUnhealthy, SeldonModelError)
    assert not issubclass(ModelStartupError, RuntimeError)


def test_given_the_right_digest_when_started_then_metadata_reports_it(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = hashlib.sha256(model_file.read_bytes()).hexdigest()
    monkeypatch.setenv(MODEL_SHA256_ENV, digest.upper())

    metadata = OnnxSeldonModel().init_metadata()

    assert metadata["custom"]["sha256"] == digest
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 8]}]


def test_given_rows_when_predicted_then_outputs_by_name_and_metrics_handed_over_once(
    loaded: OnnxSeldonModel,
) -> None:
    rows = np.random.default_rng(0).normal(size=(5, len(FEATURES)))
    probability = 1 / (1 + np.exp(-(rows @ np.asarray(WEIGHTS))))

    outputs = loaded.predict(rows, [])

    np.testing.assert_allclose(np.asarray(outputs["probabilities"])[:, 1], probability, atol=1e-6)
    assert outputs["label"] == (probability > 0.5).astype(int).tolist()
    handed_over = loaded.metrics()
    assert {metric["key"] for metric in handed_over} >= {
        "onnx_model_rows_total",
        "onnx_server_requests_total",
        "onnx_server_request_latency_seconds_bucket",
        "onnx_server_prediction_count",
    }
    assert loaded.metrics() == []
    assert loaded.health_status()["ready"] is True


@pytest.mark.parametrize(
    ("rows", "names", "message"),
    [
        (np.zeros((2, 7)), [], "has 7 features per row; the model expects 8"),
        (np.zeros(8), [], r"must be \[rows, 8\]"),
        (np.zeros((0, 8)), [], "no rows"),
        (np.full((2, 8), np.nan), [], "at row 0, feature 'feature_0'"),
        (np.array([["a"] * 8]), [], "not numeric"),
        (np.zeros((1, 8)), [*FEATURES[:7], "other"], r"missing \['feature_7'\]"),
        ("text", [], "got str data"),
    ],
)
def test_given_bad_rows_when_predicted_then_invalid_input_names_the_problem(
    loaded: OnnxSeldonModel, rows: object, names: list[str], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        loaded.predict(rows, names)


def test_given_named_columns_in_another_order_when_predicted_then_reordered(
    loaded: OnnxSeldonModel,
) -> None:
    rows = np.random.default_rng(1).normal(size=(3, len(FEATURES)))

    shuffled = loaded.predict(rows[:, ::-1], FEATURES[::-1])

    assert shuffled == loaded.predict(rows, [])


def test_given_a_refused_and_an_answered_request_then_the_served_series_count_both_once(
    model_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_NAME", "churn_model")
    monkeypatch.setenv("MODEL_VERSION", "7")
    monkeypatch.setenv("PREDICTOR_ID", "canary")
    model = OnnxSeldonModel()
    model.load()
    with pytest.raises(InvalidInputError):
        model.predict(np.zeros((1, 3)), [])
    model.health_status()
    assert model.metrics() == []  # a health check's metrics: nothing, all goes with an answer

    model.predict(np.zeros((2, len(FEATURES))), [])
    handed = model.metrics()

    counts = {
        (m["tags"]["variant"], m["tags"]["status"]): m["value"]
        for m in handed
        if m["key"] == "onnx_server_requests_total"
    }
    # Every outcome's series starts at 0, so Prometheus's increase() counts its first requests.
    assert counts == {("rejected", "invalid"): 1, ("canary", "ok"): 1, ("canary", "error"): 0}
    gauges = {(m["key"], m["tags"].get("le")): m["value"] for m in handed if m["type"] == "GAUGE"}
    assert gauges[("onnx_server_request_latency_seconds_count", None)] == 1
    assert gauges[("onnx_server_request_latency_seconds_bucket", "+Inf")] == 1
    assert gauges[("onnx_server_prediction_sum", None)] == pytest.approx(0.5)  # sigmoid(0)
    assert {m["tags"]["model"] for m in handed if "model" in m.get("tags", {})} == {"churn_model"}
    assert model.metrics() == []  # handed over once
