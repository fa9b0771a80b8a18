"""The admin API (``/admin/state|deploy|promote|rollback``), behind a bearer token.

The deployer drives rollouts through these routes; without a configured
token they answer 403, so a server never accepts model changes by default.
"""

from __future__ import annotations

import hmac
import stat
from functools import partial
from pathlib import Path
from typing import Any

import orjson
from zenml_integrations.onnx.errors import OnnxServerStartError
from zenml_integrations.onnx.rollout.config import RolloutConfig, Strategy
from zenml_integrations.onnx.rollout.version import InvalidVersionLabel, validate_version_label
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.http import (
    HttpError,
    Receive,
    Response,
    Scope,
    off_the_loop,
    read_body,
)
from zenml_integrations.onnx.server.http import json_response as answer
from zenml_integrations.onnx.server.model import ModelFolder, ModelLoadError, OnnxModel
from zenml_integrations.onnx.server.rollout_control import RolloutControl

MAX_ADMIN_BODY_BYTES = 16 * 1024


class AdminApi:
    """Routes admin requests to ``RolloutControl`` once the token checks out."""

    def __init__(self, config: ServerConfig, rollout: RolloutControl, token: str | None) -> None:
        self.config = config
        self.rollout = rollout
        self._token = token

    async def handle(
        self, method: str, parts: list[str], scope: Scope, receive: Receive
    ) -> Response:
        """Answer ``/admin/<parts>``: 401/403 before anything else, then the action."""
        self._authorize(scope)
        if method == "GET" and parts == ["state"]:
            return answer(self.rollout.describe())
        if method != "POST" or len(parts) != 1:
            raise HttpError(404, f"no admin route for {method} /admin/{'/'.join(parts)}")
        request = _json_object(await read_body(scope, receive, MAX_ADMIN_BODY_BYTES))
        if parts == ["deploy"]:
            # Reading and loading a model takes up to seconds: off the event loop.
            self.rollout.deploy(*await off_the_loop(partial(_deploy_request, request, self.config)))
        elif parts == ["promote"]:
            self.rollout.promote()
        elif parts == ["rollback"]:
            self.rollout.rollback(str(request.get("reason", "manual rollback")))
        else:
            raise HttpError(404, f"no admin route for POST /admin/{parts[0]}")
        return answer(self.rollout.describe())

    def _authorize(self, scope: Scope) -> None:
        if self._token is None:
            raise HttpError(
                403,
                f"admin API disabled: set {self.config.admin_token_env} or admin_token_file "
                "to enable it",
            )
        supplied = [value for key, value in scope.get("headers", []) if key == b"authorization"]
        if len(supplied) > 1:  # proxies and servers disagree on which one counts
            raise HttpError(
                400, f"{len(supplied)} Authorization headers; send exactly one (Bearer <token>)"
            )
        scheme, _, token = (supplied[0] if supplied else b"").partition(b" ")
        if scheme != b"Bearer" or not hmac.compare_digest(token, self._token.encode()):
            raise HttpError(401, "missing or wrong admin token (Authorization: Bearer <token>)")


def read_token(path: Path | None) -> str | None:
    """The token in ``path`` (stripped), or None when there is no file or it is empty.

    Raises:
        OnnxServerStartError: when group or others have access to the file (whoever
            reads the token can deploy models).
    """
    if path is None or not path.is_file():
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OnnxServerStartError(
            f"admin token file {path} is open to group or others (mode {mode:04o}); "
            f"run chmod 600 {path}"
        )
    return path.read_text(encoding="utf-8").strip() or None


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        request = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise HttpError(400, "admin request body is not valid JSON") from None
    if not isinstance(request, dict):
        raise HttpError(400, "admin request body must be a JSON object")
    return request


def _deploy_request(
    request: dict[str, Any], config: ServerConfig
) -> tuple[OnnxModel, RolloutConfig]:
    version = request.get("version")
    path = request.get("path")
    if not isinstance(version, str) or not version or not isinstance(path, str):
        raise HttpError(400, "deploy needs 'version' (string) and 'path' (the .onnx file)")
    try:
        validate_version_label(version)
    except InvalidVersionLabel as error:
        raise HttpError(400, str(error)) from None
    try:
        rollout = RolloutConfig.model_validate(request.get("rollout") or {})
    except ValueError as error:
        raise HttpError(400, f"invalid rollout: {error}") from None
    try:
        model = OnnxModel.load(
            config.model_name, version, Path(path), folder=ModelFolder.of(config),
            expected_sha256=request.get("sha256"), intra_op_threads=config.intra_op_threads,
        )  # fmt: skip
    except ModelLoadError as error:
        raise HttpError(400, str(error)) from None
    if rollout.strategy is Strategy.BLUE_GREEN and len(rollout.steps) > 1:
        rollout = rollout.model_copy(update={"steps": [1.0]})
    return model, rollout
