"""kserve's InferenceGRPCClient, default options, against an ONNX server (run in its own process).

    python tests/helpers/oip_grpc_kserve.py ADDRESS MODEL ROWS.npy RESULT_DIR

Runs apart from the tritonclient script (both register ``inference.*`` in
protobuf's default pool). Sends numpy data (raw_input_contents, the client's
default) and plain lists (typed ``contents``); metadata comes from kserve's own
stub and messages. Writes ``outputs.npz`` and ``result.json`` as the Triton script does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.protobuf.json_format import MessageToDict
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from kserve.protocol.infer_type import RequestedOutput
from zenml_integrations.onnx.server.proto import grpc_predict_v2_pb2 as ours


async def main(address: str, model: str, rows_path: Path, result_dir: Path) -> None:
    rows = np.load(rows_path)
    with grpc.insecure_channel(address) as channel:  # started beside the server: wait for it
        grpc.channel_ready_future(channel).result(timeout=60)
    client = InferenceGRPCClient(address)

    async def infer(
        inputs: list[InferInput], outputs: list[str] | None = None, version: str | None = None
    ) -> Any:
        request = InferRequest(
            model_name=model,
            infer_inputs=inputs,
            model_version=version,
            request_outputs=[RequestedOutput(name) for name in outputs] if outputs else None,
            request_id="kserve-request-7",
        )
        return await client.infer(request)

    result: dict[str, Any] = {
        "live": await client.is_server_live(),
        "ready": await client.is_server_ready(),
        "model_ready": await client.is_model_ready(model),
    }
    async with grpc.aio.insecure_channel(address) as channel:
        stub = GRPCInferenceServiceStub(channel)
        server = await stub.ServerMetadata(pb.ServerMetadataRequest())
        metadata = await stub.ModelMetadata(pb.ModelMetadataRequest(name=model))
    result["server_metadata"] = MessageToDict(server, preserving_proto_field_name=True)
    result["model_metadata"] = MessageToDict(metadata, preserving_proto_field_name=True)

    answers: dict[str, np.ndarray] = {}
    for batch in (1, 64):
        answer = await infer([_numpy_input(rows[:batch])])
        answers[f"probabilities_{batch}"] = _output(answer, "probabilities")
        answers[f"label_{batch}"] = _output(answer, "label")
        result[f"version_{batch}"] = answer.model_version
        result[f"id_{batch}"] = answer.id
    typed = InferInput("input", [2, 8], "FP32", data=rows[:2].reshape(-1).tolist())
    answers["probabilities_typed"] = _output(await infer([typed]), "probabilities")
    only = await infer([_numpy_input(rows[:2])], outputs=["probabilities"])
    result["only_probabilities"] = [output.name for output in only.outputs]

    bad: dict[str, Any] = {}
    wide = InferInput("input", [1, 8], "INT8", data=[1000, 0, 0, 0, 0, 0, 0, 0])
    short_list = InferInput("input", [2, 8], "FP32", data=rows[:1].reshape(-1).tolist())
    for case, inputs in {"value_out_of_range": [wide], "contents_count": [short_list]}.items():
        try:
            await infer(inputs)
            bad[case] = {"status": "OK"}
        except grpc.aio.AioRpcError as error:
            bad[case] = {"status": error.code().name, "message": error.details()}
        bad[case]["then_good"] = _output(
            await infer([_numpy_input(rows[:1])]), "probabilities"
        ).tolist()
    result["bad"] = bad
    result["pool_is_private"] = ours.ModelInferRequest.DESCRIPTOR.file.pool is ours.POOL
    await client.close()
    np.savez(result_dir / "outputs.npz", **answers)
    (result_dir / "result.json").write_text(json.dumps(result), encoding="utf-8")


def _numpy_input(values: np.ndarray) -> InferInput:
    tensor = InferInput("input", list(values.shape), "FP32")
    tensor.set_data_from_numpy(values)
    return tensor


def _output(answer: Any, name: str) -> np.ndarray:
    (output,) = [output for output in answer.outputs if output.name == name]
    return np.asarray(output.as_numpy())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])))
