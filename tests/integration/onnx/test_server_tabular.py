"""A model trained on a real-looking table, served: strings, bools, dates and gaps in requests."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from zenml_integrations.onnx.export.conversion import convert_to_onnx
from zenml_integrations.onnx.export.parity import run_onnx
from zenml_integrations.training.columns import describe_columns
from zenml_integrations.training.dataset import (
    DatasetSchema,
    check_table,
    feature_kinds,
    target_values,
)
from zenml_integrations.training.models import ModelSpec, build_estimator
from zenml_integrations.training.preprocessing import model_frame

from tests.helpers import mlserver_codecs
from tests.helpers.loans import ENTITY, TARGET, TIMESTAMP, UNSEEN_PURPOSE, loans_table
from tests.helpers.onnx_server import RunningServer, start_server, stop_server

SCHEMA = DatasetSchema(
    problem_type="binary_classification", target_column=TARGET, entity_column=ENTITY,
    timestamp_column=TIMESTAMP, positive_label="yes",
)  # fmt: skip


@pytest.fixture(scope="module")
def trained() -> tuple[Pipeline, list[str], dict[str, Any], bytes, pd.DataFrame]:
    table = loans_table(2_000)
    schema = SCHEMA.model_copy(update={"columns": describe_columns(table)})
    features = check_table(table, schema)
    kinds = feature_kinds(table, features, schema)
    model = build_estimator(ModelSpec(family="gradient_boosting"), "binary_classification", kinds)
    model.fit(model_frame(table, kinds), target_values(table, schema))
    onnx_bytes = convert_to_onnx(model, features, "binary_classification", dict(kinds))
    return model, features, dict(kinds), onnx_bytes, table


@pytest.fixture
def server(
    tmp_path: Path, trained: tuple[Pipeline, list[str], dict[str, Any], bytes, pd.DataFrame]
) -> Iterator[RunningServer]:
    running = start_server(tmp_path, trained[3])
    yield running
    stop_server(running)


def _awkward_rows(table: pd.DataFrame, features: list[str]) -> list[dict[str, Any]]:
    """Rows as a client sends them: gaps as null, an unseen and a rare level, bools, dates."""
    rows = table[features].tail(6).astype(object).where(table[features].tail(6).notna(), None)
    records = rows.to_dict(orient="records")
    records[0].update(purpose=UNSEEN_PURPOSE, amount=None, has_cosigner=None)
    records[1].update(grade=None, first_credit_line=None, employment_years=None)
    records[2].update(purpose="wedding", has_cosigner=True, first_credit_line="2011-07-30")
    return [{name: _plain(value) for name, value in record.items()} for record in records]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _tensors(records: list[dict[str, Any]], kinds: dict[str, str]) -> dict[str, Any]:
    datatypes = {"categorical": "BYTES", "datetime": "BYTES", "boolean": "BOOL"}
    return {
        "inputs": [
            {"name": name, "datatype": datatypes.get(kind, "FP64"), "shape": [len(records), 1],
             "data": [record[name] for record in records]}
            for name, kind in kinds.items()
        ]
    }  # fmt: skip


def test_given_strings_and_gaps_when_served_then_answers_equal_the_in_process_pipeline(
    server: RunningServer,
    trained: tuple[Pipeline, list[str], dict[str, Any], bytes, pd.DataFrame],
) -> None:
    model, features, kinds, onnx_bytes, table = trained
    records = _awkward_rows(table, features)
    in_process = model_frame(pd.DataFrame(records), kinds)
    expected_onnx = run_onnx(onnx_bytes, in_process)["probabilities"]
    expected_sklearn = model.predict_proba(in_process)

    with server.client() as client:
        by_records = client.post("/v2/models/churn/infer", json={"records": records})
        by_tensors = client.post("/v2/models/churn/infer", json=_tensors(records, kinds))
        metadata = client.get("/v2/models/churn").json()

    assert by_records.status_code == 200, by_records.text
    assert by_tensors.status_code == 200, by_tensors.text
    for response in (by_records, by_tensors):
        outputs = {output["name"]: output for output in response.json()["outputs"]}
        served = np.asarray(outputs["probabilities"]["data"], np.float32).reshape(-1, 2)
        np.testing.assert_array_equal(served, expected_onnx)
        np.testing.assert_allclose(served, expected_sklearn, atol=1e-5)
        assert outputs["label"]["data"] == model.predict(in_process).tolist()
    inputs = {tensor["name"]: tensor["datatype"] for tensor in metadata["inputs"]}
    assert inputs["grade"] == "BYTES"
    assert inputs["amount"] == "FP32"
    assert list(inputs) == features


def test_given_mlservers_pandas_codec_when_a_frame_is_sent_then_answers_equal_the_pipeline(
    server: RunningServer,
    trained: tuple[Pipeline, list[str], dict[str, Any], bytes, pd.DataFrame],
    request: pytest.FixtureRequest,
) -> None:
    """MLServer's tabular convention, built by its own codec: one input per column with
    ``content_type: pd``, strings as BYTES, integers as INT64, and a column of Python
    objects (booleans read from a file with gaps) as ``pd_json`` BYTES, or as BOOL once
    the column is cast to bool."""
    _, features, kinds, onnx_bytes, table = trained
    frame = table[features].dropna().tail(8).reset_index(drop=True)
    frame["first_credit_line"] = frame["first_credit_line"].astype(str)  # ISO dates, as sent
    expected = run_onnx(onnx_bytes, model_frame(frame, kinds))["probabilities"]
    target = mlserver_codecs.install(Path(str(request.config.cache.mkdir("mlserver"))))

    with mlserver_codecs.mlserver_package(target):
        from mlserver.codecs import NumpyCodec, PandasCodec
        from mlserver.types import InferenceResponse, MetadataModelResponse, MetadataServerResponse

        shuffled = frame[list(reversed(features))]  # columns are matched by name, not position
        bodies = [
            PandasCodec.encode_request(sent).model_dump_json(exclude_none=True)
            for sent in (shuffled, shuffled.astype({"has_cosigner": bool}))
        ]
        with server.client() as client:  # the bodies as MLServer's types write them
            answers = [client.post("/v2/models/churn/infer", content=body) for body in bodies]
            model_metadata = client.get("/v2/models/churn").json()
            server_metadata = client.get("/v2").json()
        served = []
        for answer in answers:
            assert answer.status_code == 200, answer.text
            outputs = InferenceResponse.model_validate(answer.json()).outputs
            probabilities = next(output for output in outputs if output.name == "probabilities")
            served.append(NumpyCodec.decode_output(probabilities))
        MetadataModelResponse.model_validate(model_metadata)
        MetadataServerResponse.model_validate(server_metadata)

    cosigner = [
        next(tensor for tensor in json.loads(body)["inputs"] if tensor["name"] == "has_cosigner")
        for body in bodies
    ]
    assert (cosigner[0]["datatype"], cosigner[0]["parameters"]["content_type"]) == (
        "BYTES", "pd_json"
    )  # fmt: skip
    assert cosigner[1]["datatype"] == "BOOL"
    for probabilities in served:
        np.testing.assert_array_equal(probabilities.reshape(-1, 2), expected)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grade": 3.5}, "feature 'grade' (categorical), row 0: 3.5 is not a category"),
        ({"amount": "12"}, "feature 'amount' (numeric), row 0: '12' is not a number"),
        ({"has_cosigner": "yes"}, "feature 'has_cosigner' (boolean), row 0: 'yes' is not a"),
        ({"first_credit_line": "last year"}, "'last year' is not an ISO 8601 date"),
        ({"ghost": 1}, "unexpected features ['ghost']"),
    ],
)
def test_given_a_value_of_the_wrong_kind_when_served_then_400_names_feature_and_value(
    server: RunningServer,
    trained: tuple[Pipeline, list[str], dict[str, Any], bytes, pd.DataFrame],
    change: dict[str, Any],
    message: str,
) -> None:
    record = _awkward_rows(trained[4], trained[1])[0] | change

    with server.client() as client:
        response = client.post("/v2/models/churn/infer", json={"records": [record]})
        wrong_type = client.post(
            "/v2/models/churn/infer",
            content=json.dumps(_tensors([record], {"grade": "numeric"} | trained[2])).replace(
                '"name": "grade", "datatype": "BYTES"', '"name": "grade", "datatype": "FP32"'
            ),
        )

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert wrong_type.status_code == 400
