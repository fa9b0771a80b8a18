"""``inference.GRPCInferenceService``: the Open Inference Protocol over gRPC, beside REST.

Thin like the REST routes: ``ModelInfer`` decodes the message, hands it to the
same ``DataPlane`` as REST (routing, rollout, fallback, shadow, metrics,
inference log, input validation), and encodes the result; the other calls read
the same state as their REST twins. Every refusal is a gRPC status with the
REST error's message (400 -> INVALID_ARGUMENT, 404 -> NOT_FOUND, 5xx ->
INTERNAL or UNAVAILABLE); nothing a client sends can stop the server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from google.protobuf.message import DecodeError
from zenml_integrations import __version__
from zenml_integrations.onnx.server.app import SERVER_NAME, OnnxServer
from zenml_integrations.onnx.server.grpc_codec import decode_infer_request, encode_infer_response
from zenml_integrations.onnx.server.http import HttpError, off_the_loop
from zenml_integrations.onnx.server.log_throttle import LogThrottle
from zenml_integrations.onnx.server.proto.grpc_predict_v2_pb2 import (
    ModelInferRequest,
    ModelMetadataRequest,
    ModelMetadataResponse,
    ModelReadyRequest,
    ModelReadyResponse,
    ServerLiveRequest,
    ServerLiveResponse,
    ServerMetadataRequest,
    ServerMetadataResponse,
    ServerReadyRequest,
    ServerReadyResponse,
)
from zenml_integrations.onnx.server.rest import THREADED_PARSE_BYTES
from zenml_integrations.onnx.server.rollout_control import RolloutRefused
from zenml_integrations.onnx.server.tensors import InferenceRequestError

if TYPE_CHECKING:
    from zenml_integrations.onnx.server.model import OnnxModel

logger = logging.getLogger("zenml_integrations.onnx.server")

SERVICE_NAME = "inference.GRPCInferenceService"
# The gRPC code of each HTTP status the data plane and the rollout raise; another
# 4xx is INVALID_ARGUMENT, another 5xx INTERNAL.
GRPC_CODES: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.INVALID_ARGUMENT,
    500: grpc.StatusCode.INTERNAL,
    503: grpc.StatusCode.UNAVAILABLE,
}
_SERVER_ERRORS = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNAVAILABLE)


def grpc_code(status: int) -> grpc.StatusCode:
    """The gRPC status code for an HTTP status."""
    fallback = grpc.StatusCode.INTERNAL if status >= 500 else grpc.StatusCode.INVALID_ARGUMENT
    return GRPC_CODES.get(status, fallback)


class InferenceService:
    """The six OIP calls, answered from ``server``'s data plane and rollout."""

    def __init__(self, server: OnnxServer) -> None:
        self.server = server
        self.config = server.config
        self.data_plane = server.data_plane
        self.rollout = server.rollout
        self.max_message_bytes = server.config.max_body_bytes
        self._tracebacks = LogThrottle(logger)

    async def server_live(self, _request: ServerLiveRequest, _context: Any) -> ServerLiveResponse:
        """The process answers."""
        return ServerLiveResponse(live=True)

    async def server_ready(
        self, _request: ServerReadyRequest, _context: Any
    ) -> ServerReadyResponse:
        """At least one version is loaded."""
        return ServerReadyResponse(ready=bool(self.rollout.models))

    async def server_metadata(
        self, _request: ServerMetadataRequest, _context: Any
    ) -> ServerMetadataResponse:
        """Name and version, as REST's ``GET /v2``; no extensions (REST's are REST-only)."""
        return ServerMetadataResponse(name=SERVER_NAME, version=__version__)

    async def model_ready(
        self, request: ModelReadyRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ModelReadyResponse:
        """Whether the named version (default: the champion) is loaded."""
        await self._model(request.name, request.version, context)
        return ModelReadyResponse(ready=True)

    async def model_metadata(
        self, request: ModelMetadataRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ModelMetadataResponse:
        """A version's inputs and outputs (-1 for a variable dimension), as REST gives them."""
        model = await self._model(request.name, request.version, context)
        metadata = model.metadata()
        return ModelMetadataResponse(
            name=metadata["name"],
            versions=sorted(self.rollout.models),
            platform=metadata["platform"],
            inputs=metadata["inputs"],
            outputs=metadata["outputs"],
        )

    async def model_infer(self, body: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        """One inference through the data plane; ``body`` is the serialized request.

        Refusals are counted as REST counts them: an oversized message is refused
        before it is read (like a 413), an undecodable one or one whose tensors do
        not fit their shapes counts as a rejected request.
        """
        try:
            if len(body) > self.max_message_bytes:
                raise InferenceRequestError(
                    f"ModelInferRequest of {len(body)} bytes exceeds the limit of "
                    f"{self.max_message_bytes} (max_body_bytes); send fewer rows per request"
                )
            large = len(body) >= THREADED_PARSE_BYTES  # decoded off the loop, as REST does
            try:
                parse = partial(ModelInferRequest.FromString, body)
                message = await off_the_loop(parse) if large else parse()
            except DecodeError as error:
                self.data_plane.count_rejected(None)
                raise InferenceRequestError(
                    f"the request is not a valid ModelInferRequest ({error}); it may be truncated"
                ) from None
            self._check_model_name(message.model_name)
            pinned = message.model_version or None
            self.data_plane.parse_model(pinned)  # an unknown pinned version: NOT_FOUND first
            try:
                decode = partial(decode_infer_request, message)
                request = await off_the_loop(decode) if large else decode()
            except InferenceRequestError:
                self.data_plane.count_rejected(pinned)
                raise
            result, answer = await self.data_plane.infer_decoded(request, pinned)
        except Exception as error:  # every refusal becomes a status; the server keeps serving
            await self._abort(context, error)
        try:
            payload = encode_infer_response(result)
        except Exception as error:  # an answer that cannot be encoded is never sent: an error
            self.rollout.settle(answer, sent=False)
            await self._abort(context, error)
        self.rollout.settle(answer, sent=True)
        return payload

    async def _model(
        self, name: str, version: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> OnnxModel:
        try:
            self._check_model_name(name)
            return self.rollout.model(version or self.rollout.router.state.champion)
        except Exception as error:
            await self._abort(context, error)

    def _check_model_name(self, name: str) -> None:
        if name != self.config.model_name:
            raise HttpError(
                404, f"unknown model {name!r}; this server serves {self.config.model_name!r}"
            )

    async def _abort(
        self, context: grpc.aio.ServicerContext[Any, Any], error: Exception
    ) -> NoReturn:
        """End the call with the status ``error`` stands for, and its message."""
        if isinstance(error, InferenceRequestError | HttpError | RolloutRefused):
            code, message = grpc_code(error.status), str(error)
        else:
            self._tracebacks.exception(error, "unhandled error in a gRPC call")
            code, message = grpc.StatusCode.INTERNAL, "internal server error"
        if code in _SERVER_ERRORS:
            self.server.metrics.server_errors.labels(
                self.config.model_name, code.name, type(error).__name__
            ).inc()
        await context.abort(code, message)
        raise AssertionError("grpc.aio's abort returned")  # it raises; this tells mypy so


def rpc_handlers(service: InferenceService) -> grpc.GenericRpcHandler:
    """The method table of ``inference.GRPCInferenceService``."""
    typed: dict[str, tuple[Callable[..., Awaitable[Any]], Any]] = {
        "ServerLive": (service.server_live, ServerLiveRequest),
        "ServerReady": (service.server_ready, ServerReadyRequest),
        "ServerMetadata": (service.server_metadata, ServerMetadataRequest),
        "ModelReady": (service.model_ready, ModelReadyRequest),
        "ModelMetadata": (service.model_metadata, ModelMetadataRequest),
    }
    handlers = {
        name: grpc.unary_unary_rpc_method_handler(
            method,
            request_deserializer=message.FromString,
            response_serializer=lambda response: response.SerializeToString(),
        )
        for name, (method, message) in typed.items()
    }
    # Bytes in, bytes out: the size check comes before parsing, and a parse error is ours to word.
    handlers["ModelInfer"] = grpc.unary_unary_rpc_method_handler(service.model_infer)
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
