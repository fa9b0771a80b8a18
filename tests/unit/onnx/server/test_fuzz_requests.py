"""Property: whatever a client sends, the server answers 2xx or a 4xx with a JSON error.

Hypothesis generates inference requests over the V2 grammar (tensor and
records bodies, shapes, datatypes, nesting, NaN/Infinity tokens, huge
integers, bytes that are not JSON or not UTF-8) and headers (repeated and
malformed Authorization, content types and lengths), sent in-process to one
server object. No answer may be a 5xx, none may be counted as one, and the
server must still answer a valid request afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zenml_integrations.onnx.server.app import OnnxServer, create_server
from zenml_integrations.onnx.server.config import ServerConfig

from tests.helpers.asgi import call
from tests.helpers.onnx_models import FEATURES, logistic_model, per_feature_model
from tests.helpers.onnx_server import ADMIN_TOKEN, TOKEN_VARIABLE, WEIGHTS

DATATYPES = ["FP32", "FP64", "FP16", "INT8", "INT32", "INT64", "UINT8", "UINT32", "UINT64",
             "BOOL", "BYTES", "fp32", ""]  # fmt: skip
# Derandomized and without an example database: the same few hundred cases on every run.
FUZZING = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
PATHS = ["/v2/models/churn/infer", "/v2/models/churn/versions/1/infer",
         "/v2/models/churn/versions/9/infer", "/v2/models/other/infer"]  # fmt: skip

scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([10**400, -(10**400), 2**63, 2**64, True, False, None, 0, 1]),
    st.text(max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip
dimensions = st.one_of(
    st.integers(min_value=-2, max_value=10),
    st.sampled_from([len(FEATURES), 2**63, 10**400, True, 1.0, "8", None]),
)


@st.composite
def tensor_data(draw: st.DrawFn, rows: int) -> Any:
    """Flat, nested as [rows, features], nested wrongly, or anything."""
    values = st.lists(scalars, min_size=rows * len(FEATURES), max_size=rows * len(FEATURES))
    flat = draw(st.one_of(st.lists(st.floats(-1e3, 1e3), min_size=rows * len(FEATURES),
                                   max_size=rows * len(FEATURES)), values))  # fmt: skip
    shape = draw(st.sampled_from(["flat", "nested", "deeper", "other"]))
    if shape == "nested":
        return [flat[row * len(FEATURES) : (row + 1) * len(FEATURES)] for row in range(rows)]
    if shape == "deeper":
        return [[flat]]
    if shape == "other":
        return draw(json_values)
    return flat


@st.composite
def tensors(draw: st.DrawFn) -> Any:
    rows = draw(st.integers(min_value=0, max_value=3))
    tensor: dict[str, Any] = {
        "name": draw(st.sampled_from(["input", "x", 1, None, ["input"]])),
        "datatype": draw(st.one_of(st.sampled_from(DATATYPES), json_values)),
        "shape": draw(st.one_of(st.just([rows, len(FEATURES)]),
                                st.lists(dimensions, max_size=3), json_values)),
        "data": draw(tensor_data(rows)),
    }  # fmt: skip
    for key in draw(st.sets(st.sampled_from(list(tensor)), max_size=1)):
        del tensor[key]
    return tensor


@st.composite
def records(draw: st.DrawFn) -> Any:
    names = st.sampled_from([*FEATURES, "ghost"])
    return draw(st.lists(st.dictionaries(names, scalars | json_values, max_size=9), max_size=3))


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    payload: dict[str, Any] = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(st.text(max_size=8), json_values),
                "parameters": json_values,
                "inputs": st.one_of(st.lists(tensors(), max_size=2), json_values),
                "records": st.one_of(records(), json_values),
            },
        )
    )
    text = json.dumps(payload)
    form = draw(st.sampled_from(["json", "tokens", "bytes", "deep", "value"]))
    if form == "tokens":  # NaN/Infinity and integers beyond 64 bits reach the lenient parser
        return text.replace("0.5", "NaN").replace("1.0", "Infinity").encode()
    if form == "bytes":
        return draw(st.binary(max_size=64))
    if form == "deep":
        depth = draw(st.integers(min_value=900, max_value=20_000))
        return b'{"inputs": ' + b"[" * depth + b"]" * depth + b"}"
    if form == "value":
        return json.dumps(draw(json_values)).encode()
    return text.encode()


header_values = st.one_of(
    st.sampled_from([f"Bearer {ADMIN_TOKEN}".encode(), b"Bearer ", b"Basic x", b"", b"\xff\xfe"]),
    st.binary(max_size=16),
)
headers = st.lists(
    st.tuples(st.sampled_from([b"authorization", b"content-type", b"content-length", b"x-any"]),
              header_values),
    max_size=4,
)  # fmt: skip


def _serve(folder: Path, model: bytes) -> OnnxServer:
    path = folder / "champion.onnx"
    path.write_bytes(model)
    token = folder / "token"
    token.write_text(ADMIN_TOKEN)
    token.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(TOKEN_VARIABLE, raising=False)
        config = ServerConfig(model_name="churn", admin_token_file=token, max_batch_rows=2)
        return create_server(config, "1", path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> OnnxServer:
    return _serve(tmp_path_factory.mktemp("fuzz"), logistic_model(WEIGHTS))


@pytest.fixture(scope="module")
def tabular_server(tmp_path_factory: pytest.TempPathFactory) -> OnnxServer:
    return _serve(tmp_path_factory.mktemp("fuzz-tabular"), per_feature_model())


@st.composite
def feature_bodies(draw: st.DrawFn) -> bytes:
    """Per-feature tensors or records for the tabular model, well-formed or not."""
    rows = draw(st.integers(min_value=0, max_value=3))
    values = {"amount": st.one_of(scalars, st.floats(-5, 5)), "grade": st.one_of(
        scalars, st.sampled_from(["A", "B", "Z", ""]), json_values)}  # fmt: skip
    names = draw(st.lists(st.sampled_from(["amount", "grade", "ghost"]), max_size=3))
    if draw(st.booleans()):
        payload: Any = {"records": [{name: draw(values.get(name, scalars)) for name in names}
                                    for _ in range(rows)]}  # fmt: skip
    else:
        payload = {"inputs": [
            {"name": name,
             "datatype": draw(st.sampled_from(["FP32", "FP64", "INT64", "BOOL", "BYTES", "X"])),
             "shape": draw(st.sampled_from([[rows], [rows, 1], [1, rows], [rows, 2]])),
             "data": draw(st.lists(values.get(name, scalars), min_size=rows, max_size=rows))}
            for name in names
        ]}  # fmt: skip
    text = json.dumps(payload)
    return text.replace("0.5", "NaN").encode() if draw(st.booleans()) else text.encode()


def _check(server: OnnxServer, method: str, path: str, body: bytes,
           request_headers: list[tuple[bytes, bytes]]) -> None:  # fmt: skip
    response = call(server, method, path, body, request_headers)
    assert 200 <= response.status < 500, (response.status, body[:200], response.body[:200])
    if response.status >= 400:
        error = response.json()["error"]
        assert isinstance(error, str)
        assert error
    assert _counted_5xx(server) == 0


def _counted_5xx(server: OnnxServer) -> float:
    metrics = server.metrics.server_errors.collect()
    return sum(sample.value for metric in metrics for sample in metric.samples)


@settings(FUZZING, max_examples=250)
@given(path=st.sampled_from(PATHS), body=bodies(), request_headers=headers)
def test_given_any_inference_request_then_the_answer_is_2xx_or_a_json_4xx(
    server: OnnxServer, path: str, body: bytes, request_headers: list[tuple[bytes, bytes]]
) -> None:
    _check(server, "POST", path, body, request_headers)


@settings(FUZZING, max_examples=40)
@given(request_headers=headers, body=st.binary(max_size=32) | bodies())
def test_given_any_admin_request_then_the_answer_is_2xx_or_a_json_4xx(
    server: OnnxServer, request_headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    _check(server, "GET", "/admin/state", b"", request_headers)
    _check(server, "POST", "/admin/nothing", body, request_headers)


@settings(FUZZING, max_examples=150)
@given(body=feature_bodies())
def test_given_any_request_to_a_model_with_one_input_per_feature_then_2xx_or_a_json_4xx(
    tabular_server: OnnxServer, body: bytes
) -> None:
    _check(tabular_server, "POST", PATHS[0], body, [])


def test_given_the_fuzzing_then_a_valid_request_is_still_answered(server: OnnxServer) -> None:
    row = {"name": "input", "datatype": "FP32", "shape": [1, len(FEATURES)],
           "data": [0.1] * len(FEATURES)}  # fmt: skip
    response = call(server, "POST", PATHS[0], json.dumps({"inputs": [row]}).encode())

    assert response.status == 200
    assert response.json()["model_version"] == "1"
    assert _counted_5xx(server) == 0
