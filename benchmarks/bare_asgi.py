"""The floor for any Python server: one bare ASGI route around onnxruntime.

    python benchmarks/bare_asgi.py MODEL.onnx PORT

No routing, validation, metrics or logging: parse, run, encode. The serve
benchmark runs it beside our server so that their gap is measured on the
same machine in the same run.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import uvicorn


def build_app(model_path: str) -> Any:
    """An ASGI callable that answers every POST with the model's outputs."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    output_names = [output.name for output in session.get_outputs()]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        tensor = orjson.loads(body)["inputs"][0]
        batch = np.asarray(tensor["data"], np.float32).reshape(tensor["shape"])
        outputs = session.run(output_names, {input_name: batch})
        payload = orjson.dumps(
            {"outputs": [output.ravel() for output in outputs]}, option=orjson.OPT_SERIALIZE_NUMPY
        )
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(payload)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


if __name__ == "__main__":
    uvicorn.run(build_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]),
                log_level="warning", access_log=False, lifespan="off")  # fmt: skip
