"""One REST inference request: body to ``DecodedRequest``, ``InferResult`` to body.

The transport's share only: the binary header, JSON decoding (a large body
in the worker thread), and the response's encoding and headers. Everything
else happens once for every transport in ``DataPlane.infer_decoded``.
"""

from __future__ import annotations

from functools import partial

from zenml_integrations.onnx.server.binary import HEADER_LENGTH, header_length
from zenml_integrations.onnx.server.http import Headers, off_the_loop
from zenml_integrations.onnx.server.inference import Answered, DataPlane
from zenml_integrations.onnx.server.protocol import RestRequest, decode_request, encode_response
from zenml_integrations.onnx.server.tensors import InferenceRequestError

# Bodies from this size on are decoded in a worker thread (a 4 MiB body takes ~15 ms to parse).
THREADED_PARSE_BYTES = 64 * 1024
JSON = b"application/json"
BINARY = b"application/octet-stream"


async def infer_rest(
    data_plane: DataPlane, body: bytes, request_headers: Headers, pinned_version: str | None
) -> Answered:
    """Answer one ``POST .../infer``; ``pinned_version`` bypasses the router."""
    model = data_plane.parse_model(pinned_version)  # an unknown pinned version: 404 first
    try:
        length = None
        for key, value in request_headers:
            if key == HEADER_LENGTH:
                length = header_length(value, len(body))
        rest: RestRequest
        if len(body) < THREADED_PARSE_BYTES:
            rest = decode_request(body, length, model, data_plane.entities)
        else:
            decode = partial(decode_request, body, length, model, data_plane.entities)
            rest = await off_the_loop(decode)
    except InferenceRequestError:
        data_plane.count_rejected(pinned_version)
        raise
    result, answer = await data_plane.infer_decoded(rest.request, pinned_version)
    try:
        payload, json_length = encode_response(
            result, rest.binary_outputs and rest.request.outputs is None
        )
    except Exception:  # an answer that cannot be encoded is never sent: an error
        data_plane.rollout.settle(answer, sent=False)
        raise
    headers: Headers = [
        (b"content-type", JSON if json_length is None else BINARY),
        (b"x-model-version", result.model_version.encode()),
        (b"x-model-variant", result.variant.encode()),
    ]
    if json_length is not None:
        headers.append((HEADER_LENGTH, str(json_length).encode()))
    return Answered((200, headers, payload), answer)
