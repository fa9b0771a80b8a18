"""Predict by entity key in the serving core, with an in-memory feature source.

``TableFeatures`` is a complete ``FeatureSource`` (a dict of rows), loaded by
import path exactly as the server loads the Feast provider; the Feast one is
tested against a real SQLite store in tests/integration/test_feast_serving.py.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from zenml_integrations.onnx.server.app import OnnxServer
from zenml_integrations.onnx.server.config import FeatureLookupConfig, ServerConfig
from zenml_integrations.onnx.server.feature_lookup import (
    EntityFeatures,
    FeatureLookupError,
    entity_features,
)
from zenml_integrations.onnx.server.model import OnnxModel
from zenml_integrations.onnx.server.protocol import InferenceRequestError, parse_infer_request

from tests.helpers.onnx_models import FEATURES, logistic_model

PROVIDER = f"{__name__}:TableFeatures"
WEIGHTS = [0.3, -0.2, 0.1, 0.0, 0.5, -0.4, 0.2, 0.1]
ROWS = {str(key): [float(key + column) for column in range(8)] for key in (1, 2, 3)}


class Rows:
    def __init__(self, values: np.ndarray, found: np.ndarray, stale: np.ndarray) -> None:
        self.values, self.found, self.stale = values, found, stale


class TableFeatures:
    """Rows by id; ids listed in ``stale`` count as expired; ``broken`` fails every read."""

    def __init__(
        self, options: dict[str, Any], *, entity_column: str, base_dir: Path | None = None
    ) -> None:
        self.rows = {int(key): value for key, value in options["rows"].items()}
        self.stale_ids = set(options.get("stale", []))
        self.broken = options.get("broken", False)
        self.feature_names = options.get("features", FEATURES)
        self.entity_type = int

    def lookup(self, entity_ids: Sequence[int | str]) -> Rows:
        if self.broken:
            raise ConnectionError("online store unreachable")
        values = np.full((len(entity_ids), len(self.feature_names)), np.nan, np.float32)
        found = np.zeros(len(entity_ids), bool)
        for row, entity_id in enumerate(entity_ids):
            if entity_id in self.rows:
                values[row], found[row] = self.rows[int(entity_id)], True
        stale = np.array([entity_id in self.stale_ids for entity_id in entity_ids])
        return Rows(values, found, stale)


@pytest.fixture(scope="module")
def model() -> OnnxModel:
    return OnnxModel("churn", "1", logistic_model(WEIGHTS))


def lookup_config(**options: Any) -> FeatureLookupConfig:
    return FeatureLookupConfig(
        provider=PROVIDER, entity_column="customer_id", options={"rows": ROWS, **options}
    )


def entities(model: OnnxModel, **options: Any) -> EntityFeatures:
    return entity_features(lookup_config(**options), model.feature_names, CollectorRegistry(), "m")


def parse(model: OnnxModel, payload: dict[str, Any], **options: Any) -> np.ndarray:
    request = parse_infer_request(
        orjson.dumps(payload), model, max_batch_rows=4, allow_nan=False,
        entities=entities(model, **options),
    )  # fmt: skip
    return request.batch


def ids_tensor(ids: list[Any], datatype: str = "INT64", shape: list[int] | None = None) -> Any:
    tensor = {"name": "customer_id", "datatype": datatype, "shape": shape or [len(ids)]}
    return {"inputs": [{**tensor, "data": ids}]}


def test_given_ids_as_tensor_or_records_then_the_batch_is_their_rows_in_request_order(
    model: OnnxModel,
) -> None:
    expected = np.array([ROWS["3"], ROWS["1"], ROWS["3"]], np.float32)
    np.testing.assert_array_equal(parse(model, ids_tensor([3, 1, 3])), expected)
    np.testing.assert_array_equal(parse(model, ids_tensor([3, 1, 3], shape=[3, 1])), expected)
    records = {"records": [{"customer_id": 3}, {"customer_id": 1}, {"customer_id": 3}]}
    np.testing.assert_array_equal(parse(model, records), expected)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (ids_tensor([True]), "customer_id at row 0 is True; ids of this store are 64-bit integers"),
        (ids_tensor(["1"], "BYTES"), "datatype 'BYTES'; entity ids are sent as INT64"),
        (ids_tensor([2**63]), "is 9223372036854775808; ids of this store are 64-bit"),
        (ids_tensor([1, 2], shape=[3]), "shape [rows] (or [rows, 1]) matching it; got shape [3]"),
        (ids_tensor([]), "the batch has no rows"),
        (ids_tensor([1, 2, 3, 1, 2]), "batch of 5 rows exceeds the limit of 4"),
        ({"records": [{"customer_id": 1, "age": 3}]}, "hold only 'customer_id', got ['age', 'c"),
    ],
)
def test_given_malformed_ids_then_400_says_what_is_wrong(
    model: OnnxModel, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(InferenceRequestError) as refused:
        parse(model, payload)
    assert refused.value.status == 400
    assert message in str(refused.value)


def test_given_unknown_and_stale_ids_then_the_whole_batch_is_refused_with_422(
    model: OnnxModel,
) -> None:
    with pytest.raises(InferenceRequestError) as refused:
        parse(model, ids_tensor([1, 7, 2, 8]), stale=[2])
    assert refused.value.status == 422
    assert str(refused.value) == (
        "unknown customer_id [7, 8]; customer_id [2] with features older than the feature "
        "view's TTL: no prediction for this request of 4 entities (a batch is answered whole "
        "or not at all)"
    )


def test_given_many_unknown_ids_then_the_message_lists_ten_and_counts_the_rest(
    model: OnnxModel,
) -> None:
    source = entities(model)
    with pytest.raises(InferenceRequestError, match=r"\[100, .*, 109 and 5 more\]"):
        source.batch(list(range(100, 115)))


def test_given_a_failing_store_then_503_names_the_cause(model: OnnxModel) -> None:
    with pytest.raises(InferenceRequestError) as refused:
        parse(model, ids_tensor([1]), broken=True)
    assert refused.value.status == 503
    assert str(refused.value) == "feature lookup failed: online store unreachable"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            lookup_config(features=list(reversed(FEATURES))),
            "(same features in another order); serve the feature service the model was",
        ),
        (lookup_config(features=FEATURES[:7]), "(missing ['feature_7'], unexpected [])"),
        (
            FeatureLookupConfig(provider="no_such_module:X", entity_column="id"),
            "cannot import 'no_such_module'",
        ),
        (
            FeatureLookupConfig(provider=f"{__name__}:ROWS", entity_column="id"),
            f"{__name__!r} has no callable 'ROWS'",
        ),
        (
            FeatureLookupConfig(provider=f"{__name__}:Rows", entity_column="id"),
            "failed to start: Rows.__init__() got an unexpected keyword argument",
        ),
    ],
)
def test_given_a_source_that_cannot_serve_the_model_then_the_server_does_not_start(
    model: OnnxModel, config: FeatureLookupConfig, message: str
) -> None:
    settings = ServerConfig(model_name="churn", feature_lookup=config)
    with pytest.raises(FeatureLookupError) as refused:
        OnnxServer(settings, model)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"provider": "zenml_integrations.feast.serving"}, "provider must be 'package.module:At"),
        ({"base_dir": "relative/dir"}, "base_dir must be absolute"),
        ({"repo_path": "feature_repo"}, "Extra inputs are not permitted"),
    ],
)
def test_given_a_malformed_lookup_config_then_validation_names_the_field(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        FeatureLookupConfig.model_validate(
            {"provider": PROVIDER, "entity_column": "customer_id", **settings}
        )


def test_given_a_project_root_then_anchored_fills_only_a_missing_base_dir(tmp_path: Path) -> None:
    config = lookup_config()
    assert config.anchored(tmp_path).base_dir == tmp_path.resolve()
    pinned = config.model_copy(update={"base_dir": Path("/srv/features")})
    assert pinned.anchored(tmp_path).base_dir == Path("/srv/features")


def post(server: OnnxServer, payload: dict[str, Any]) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/v2/models/churn/infer", json=payload)

    return asyncio.run(send())


def test_given_a_server_with_lookup_then_ids_and_vectors_both_answer_and_misses_get_422(
    model: OnnxModel,
) -> None:
    server = OnnxServer(ServerConfig(model_name="churn", feature_lookup=lookup_config()), model)
    vector = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",
                          "data": ROWS["2"]}]}  # fmt: skip

    by_key, by_vector = post(server, ids_tensor([2])), post(server, vector)
    unknown = post(server, ids_tensor([9]))

    assert by_key.status_code == by_vector.status_code == 200
    assert by_key.json()["outputs"] == by_vector.json()["outputs"]
    assert unknown.status_code == 422
    assert unknown.json() == {"error": unknown.json()["error"]}
    assert post(server, ids_tensor([1])).status_code == 200


def test_given_no_lookup_configured_then_an_entity_request_is_an_unknown_input(
    model: OnnxModel,
) -> None:
    server = OnnxServer(ServerConfig(model_name="churn"), model)
    answer = post(server, ids_tensor([2]))
    assert answer.status_code == 400
    assert answer.json()["error"] == "unknown input 'customer_id'; the model's input is 'input'"


def test_given_settings_stored_as_json_by_the_deployer_then_the_daemon_rebuilds_the_lookup(
    tmp_path: Path,
) -> None:
    # The deployment step stores model_dump(mode="json") in the service config,
    # ZenML keeps it as JSON, and the daemon validates it into ServerConfig.
    anchored = lookup_config().anchored(tmp_path)
    stored = orjson.loads(orjson.dumps({"feature_lookup": anchored.model_dump(mode="json")}))
    rebuilt = ServerConfig.model_validate({**stored, "model_name": "churn"})
    assert rebuilt.feature_lookup == anchored
    assert rebuilt.feature_lookup is not None
    assert rebuilt.feature_lookup.base_dir == tmp_path.resolve()


def test_given_a_request_by_entity_then_the_inference_log_holds_its_ids(
    model: OnnxModel, tmp_path: Path
) -> None:
    """Outcomes keyed by entity and time find these predictions (monitoring/outcomes.py)."""
    config = ServerConfig(
        model_name="churn", feature_lookup=lookup_config(), inference_log_dir=tmp_path
    )
    server = OnnxServer(config, model)
    vector = {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32",
                          "data": ROWS["2"]}]}  # fmt: skip

    assert post(server, ids_tensor([3, 1])).status_code == 200
    assert post(server, vector).status_code == 200
    assert server.data_plane.inference_log is not None
    server.data_plane.inference_log.close()

    lines = [orjson.loads(line) for path in tmp_path.glob("*.jsonl")
             for line in path.read_bytes().splitlines()]  # fmt: skip
    assert [line.get("entity_ids") for line in lines] == [[3, 1], None]
