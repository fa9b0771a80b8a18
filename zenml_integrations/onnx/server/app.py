"""The ASGI application: the route table of OIP V2, ``/metrics`` and ``/admin``.

A bare ASGI callable rather than a web framework: the hot path is parse,
route, run, encode, and a few counters. The routes are thin: inference is
``DataPlane``'s, rollout changes are ``RolloutControl``'s, the admin API is
``AdminApi``'s. Every request error becomes a 4xx with ``{"error": ...}``;
nothing a client sends can stop the process.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from zenml_integrations import __version__
from zenml_integrations.onnx.server.admin import AdminApi, read_token
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.feature_lookup import EntityFeatures, entity_features
from zenml_integrations.onnx.server.http import (
    JSON_HEADERS,
    HttpError,
    Receive,
    Response,
    Scope,
    Send,
    error_body,
    json_response,
    read_body,
)
from zenml_integrations.onnx.server.inference import Answered, DataPlane
from zenml_integrations.onnx.server.inference_log import InferenceLogger
from zenml_integrations.onnx.server.log_throttle import LogThrottle
from zenml_integrations.onnx.server.metrics import ServerMetrics
from zenml_integrations.onnx.server.model import ModelFolder, OnnxModel
from zenml_integrations.onnx.server.rest import infer_rest
from zenml_integrations.onnx.server.rollout_control import Answer, RolloutControl, RolloutRefused
from zenml_integrations.onnx.server.state import ServedVersion, ServingState, load_state
from zenml_integrations.onnx.server.tensors import InferenceRequestError

logger = logging.getLogger("zenml_integrations.onnx.server")

SERVER_NAME = "zenml-mlops-kit-onnx"
# What /v2 advertises: Triton's binary tensor data, and the rollout state at
# GET /v2/models/{name}/rollout (this server's own).
EXTENSIONS = ["binary_tensor_data", "rollout"]


class OnnxServer:
    """One model name, several loaded versions, one router and its rollback policy."""

    def __init__(
        self,
        config: ServerConfig,
        champion: OnnxModel,
        *,
        restored: ServingState | None = None,
    ) -> None:
        self.config = config
        self.metrics = ServerMetrics()
        self.rollout = RolloutControl(
            config.model_name,
            champion,
            self.metrics,
            state_file=config.state_file,
            restored=restored,
            load=lambda served: _reload(config, served),
        )
        # Built before serving starts: a source that does not fit the model stops the start.
        entities: EntityFeatures | None = (
            entity_features(config.feature_lookup, champion.feature_names,
                            self.metrics.registry, config.model_name)
            if config.feature_lookup is not None
            else None
        )  # fmt: skip
        inference_log = (
            InferenceLogger(
                config.inference_log_dir,
                config.inference_log_max_bytes,
                self.metrics.inference_log_counters(config.model_name),
                max_files=config.inference_log_max_files,
            )
            if config.inference_log_dir is not None
            else None
        )
        self.data_plane = DataPlane(config, self.rollout, entities, inference_log)
        token = os.environ.get(config.admin_token_env) or read_token(config.admin_token_file)
        self.admin = AdminApi(config, self.rollout, token)
        self._policy_task: asyncio.Task[None] | None = None
        self._infer_path = f"/v2/models/{config.model_name}/infer"
        self._tracebacks = LogThrottle(logger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI event."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        answer: Answer | None = None
        try:
            response = await self._dispatch(scope, receive)
            if isinstance(response, Answered):
                answer = response.answer
                response = response.response
            status, headers, body = response
        except (HttpError, RolloutRefused, InferenceRequestError) as error:
            status, headers, body = error.status, JSON_HEADERS, error_body(str(error))
            if status >= 500:
                self._count_server_error(status, error)
        except Exception as error:  # the last line of defence: log it, answer 500, keep serving
            self._tracebacks.exception(
                error, "unhandled error on %s %s", scope.get("method"), scope.get("path")
            )
            self._count_server_error(500, error)
            status, headers, body = 500, JSON_HEADERS, error_body("internal server error")
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        try:
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        except Exception:  # e.g. a header value the HTTP server refuses: the client got nothing
            if answer is not None:
                self.rollout.settle(answer, sent=False)
            raise
        if answer is not None:
            self.rollout.settle(answer, sent=True)

    def _count_server_error(self, status: int, error: Exception) -> None:
        """Count a 5xx answer in ``/metrics``, by status and the error behind it."""
        self.metrics.server_errors.labels(
            self.config.model_name, str(status), type(error).__name__
        ).inc()

    async def _dispatch(self, scope: Scope, receive: Receive) -> Response | Answered:
        method: str = scope["method"]
        if method == "POST" and scope["path"] == self._infer_path:  # the hot path, unrouted
            body = await read_body(scope, receive, self.config.max_body_bytes)
            return await infer_rest(self.data_plane, body, scope["headers"], None)
        parts = [part for part in scope["path"].split("/") if part]
        if parts[:1] == ["v2"]:
            return await self._v2(method, parts[1:], scope, receive)
        if parts == ["metrics"] and method == "GET":
            payload = generate_latest(self.metrics.registry)
            return 200, [(b"content-type", CONTENT_TYPE_LATEST.encode())], payload
        if parts[:1] == ["admin"]:
            return await self.admin.handle(method, parts[1:], scope, receive)
        raise HttpError(404, f"no route for {method} {scope['path']}")

    async def _v2(
        self, method: str, parts: list[str], scope: Scope, receive: Receive
    ) -> Response | Answered:
        """Open Inference Protocol routes below ``/v2``."""
        if method == "POST" and len(parts) in (3, 5) and parts[-1] == "infer":
            self._check_model_name(parts[1])
            if len(parts) == 5 and parts[2] != "versions":
                raise HttpError(404, f"no route for POST /v2/{'/'.join(parts)}")
            pinned = parts[3] if len(parts) == 5 else None
            body = await read_body(scope, receive, self.config.max_body_bytes)
            return await infer_rest(self.data_plane, body, scope["headers"], pinned)
        if method != "GET":
            raise HttpError(405, f"{method} is not allowed here")
        if parts == ["health", "live"]:
            return json_response({"live": True})
        if parts == ["health", "ready"]:
            ready = bool(self.rollout.models)
            return json_response({"ready": ready}, 200 if ready else 503)
        if not parts:
            return json_response(
                {"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS}
            )
        if parts == ["models"]:
            return json_response({"models": [self.config.model_name]})
        if len(parts) == 3 and parts[0] == "models" and parts[2] == "rollout":
            self._check_model_name(parts[1])
            return json_response(self.rollout.describe())
        if parts[0] == "models" and len(parts) >= 2:
            return self._model_metadata(parts[1:])
        raise HttpError(404, f"no route for GET /v2/{'/'.join(parts)}")

    def _model_metadata(self, parts: list[str]) -> Response:
        """``/v2/models/{name}[/versions/{v}][/ready]``."""
        self._check_model_name(parts[0])
        version = self.rollout.router.state.champion
        rest = parts[1:]
        if rest[:1] == ["versions"] and len(rest) >= 2:
            version, rest = rest[1], rest[2:]
        model = self.rollout.model(version)
        if not rest:
            metadata: dict[str, Any] = model.metadata()
            metadata["versions"] = sorted(self.rollout.models)
            return json_response(metadata)
        if rest == ["ready"]:
            return json_response({"name": model.name, "version": version, "ready": True})
        raise HttpError(404, f"no route for GET /v2/models/{'/'.join(parts)}")

    def _check_model_name(self, name: str) -> None:
        if name != self.config.model_name:
            raise HttpError(
                404, f"unknown model {name!r}; this server serves {self.config.model_name!r}"
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._policy_task = asyncio.create_task(self.rollout.run_policy())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._policy_task is not None:
                    self._policy_task.cancel()
                if self.data_plane.inference_log is not None:
                    self.data_plane.inference_log.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_server(
    config: ServerConfig, version: str, path: Path, sha256: str | None = None
) -> OnnxServer:
    """A server for the champion at ``path``, or for the state it had before a restart."""
    if config.model_dir is None:  # by default, versions are deployed beside the launch model
        config = config.model_copy(update={"model_dir": path.parent})
    launched = OnnxModel.load(
        config.model_name, version, path, folder=ModelFolder.of(config), expected_sha256=sha256,
        intra_op_threads=config.intra_op_threads,
    )  # fmt: skip
    state = load_state(config.state_file, launched.sha256) if config.state_file else None
    if state is not None:
        logger.info("restoring the serving state in %s", config.state_file)
    return OnnxServer(config, launched, restored=state)


def _reload(config: ServerConfig, served: ServedVersion) -> OnnxModel:
    """A version the state file recorded (``ModelLoadError`` when it cannot be loaded)."""
    return OnnxModel.load(
        config.model_name, served.version, Path(served.path), folder=ModelFolder.of(config),
        expected_sha256=served.sha256, intra_op_threads=config.intra_op_threads,
    )  # fmt: skip
