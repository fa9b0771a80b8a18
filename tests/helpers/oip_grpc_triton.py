"""tritonclient.grpc with default options against the ONNX server's gRPC endpoint, own process.

    python tests/helpers/oip_grpc_triton.py ADDRESS MODEL ROWS.npy RESULT_DIR

tritonclient and kserve register the same protobuf names, so each client runs in
a process of its own. Importing the server's message module here as well shows
that the server's private descriptor pool does not clash with a client's. Writes
``outputs.npz`` (the answers, for a bitwise comparison) and ``result.json``
(metadata as the client's own types parsed it, and the status of each bad request
with the good request that followed it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import tritonclient.grpc as triton
from tritonclient.utils import InferenceServerException
from zenml_integrations.onnx.server.proto import grpc_predict_v2_pb2 as ours


def main(address: str, model: str, rows_path: Path, result_dir: Path) -> None:
    rows = np.load(rows_path)
    with grpc.insecure_channel(address) as channel:  # started beside the server: wait for it
        grpc.channel_ready_future(channel).result(timeout=60)
    client = triton.InferenceServerClient(address)
    result: dict[str, Any] = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "model_ready": client.is_model_ready(model),
        "server_metadata": _message(client.get_server_metadata()),
        "model_metadata": _message(client.get_model_metadata(model)),
    }

    def infer(
        inputs: list[triton.InferInput], outputs: list[str] | None = None, version: str = ""
    ) -> triton.InferResult:
        requested = [triton.InferRequestedOutput(name) for name in outputs or []] or None
        return client.infer(model, inputs, model_version=version, outputs=requested)

    def good() -> np.ndarray:
        answer = infer([_input("input", rows[:1])])
        return answer.as_numpy("probabilities")

    answers = {}
    for batch in (1, 64):
        answer = infer([_input("input", rows[:batch])])
        answers[f"probabilities_{batch}"] = answer.as_numpy("probabilities")
        answers[f"label_{batch}"] = answer.as_numpy("label")
        result[f"version_{batch}"] = answer.get_response().model_version
    only = infer([_input("input", rows[:2])], outputs=["probabilities"])
    result["only_probabilities"] = [output.name for output in only.get_response().outputs]
    pinned = infer([_input("input", rows[:1])], version="1")
    result["pinned_version"] = pinned.get_response().model_version

    bad: dict[str, Any] = {}
    short = _input("input", rows[:2])
    short.set_shape([3, 8])  # 64 raw bytes for a shape that needs 96
    strings = triton.InferInput("input", [1, 8], "BYTES")
    strings.set_data_from_numpy(np.array([[b"a"] * 8], dtype=object))
    oversize = _input("input", np.tile(rows[:1], (3000, 1)))  # 96,000 bytes, limit 64 KiB
    cases = {
        "raw_size": [short],
        "wrong_datatype": [strings],
        "unknown_input": [_input("amount", rows[:1])],
        "oversize": [oversize],
    }
    for case, inputs in cases.items():
        try:
            infer(inputs)
            bad[case] = {"status": "OK"}
        except InferenceServerException as error:
            bad[case] = {"status": error.status(), "message": error.message()}
        bad[case]["then_good"] = good().tolist()
    bad["unknown_output"] = _status(lambda: infer([_input("input", rows[:1])], ["score"]))
    bad["unknown_model"] = _status(lambda: client.get_model_metadata("no-such-model"))
    for case, body in _broken_bodies(model, rows[:1]).items():
        bad[case] = _raw_call(address, body)
        bad[case]["then_good"] = good().tolist()
    result["bad"] = bad
    result["pool_is_private"] = ours.ModelInferRequest.DESCRIPTOR.file.pool is ours.POOL
    np.savez(result_dir / "outputs.npz", **answers)
    (result_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")


def _input(name: str, values: np.ndarray) -> triton.InferInput:
    tensor = triton.InferInput(name, list(values.shape), "FP32")
    tensor.set_data_from_numpy(values)
    return tensor


def _message(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message, preserving_proto_field_name=True)


def _status(call: Any) -> dict[str, Any]:
    try:
        call()
    except InferenceServerException as error:
        return {"status": error.status(), "message": error.message()}
    return {"status": "OK"}


def _broken_bodies(model: str, row: np.ndarray) -> dict[str, bytes]:
    """Requests no client library sends: a cut-off message, BYTES lengths past the end."""
    request = ours.ModelInferRequest(model_name=model)
    request.inputs.add(name="input", datatype="FP32", shape=list(row.shape))
    request.raw_input_contents.append(row.astype("<f4").tobytes())
    whole = request.SerializeToString()
    overrun = ours.ModelInferRequest(model_name=model)
    overrun.inputs.add(name="input", datatype="BYTES", shape=[1, 1])
    overrun.raw_input_contents.append((1000).to_bytes(4, "little") + b"abc")
    return {"truncated": whole[: len(whole) - 7], "bytes_overrun": overrun.SerializeToString()}


def _raw_call(address: str, body: bytes) -> dict[str, Any]:
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
        try:
            call(body, timeout=10)
        except grpc.RpcError as error:
            return {"status": error.code().name, "message": error.details()}
    return {"status": "OK"}


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
