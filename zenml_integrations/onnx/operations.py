"""Hands-on operations on a running ONNX server: find it, read its state, rotate its token.

The deployment pipeline drives rollouts; an operator needs the same server
by model name from a shell, without knowing where the deployer keeps its
runtime files or which port the daemon got.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from zenml_integrations.onnx.admin_client import AdminClient
from zenml_integrations.onnx.errors import OnnxError

if TYPE_CHECKING:
    from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
    from zenml_integrations.onnx.service import OnnxServerService

RESTART_TIMEOUT_SECONDS = 60


class ServerNotFound(OnnxError):
    """No ONNX server for the model in the active stack, or it is not running."""


class TokenRotationRefused(OnnxError):
    """The token cannot be rotated through the token file."""


@dataclass(frozen=True)
class ServerHandle:
    """A running server of the active stack's ONNX deployer, and how to talk to it."""

    deployer: OnnxModelDeployer
    service: OnnxServerService
    base_url: str
    token_env: str
    token_file: Path | None

    def admin(self) -> AdminClient:
        """A client for the admin API with the token the server accepts now."""
        from zenml_integrations.onnx.model_deployer import OnnxModelDeployer

        return AdminClient(self.base_url, OnnxModelDeployer.admin_token(self.service))


def find_server(model_name: str) -> ServerHandle:
    """The running server for ``model_name`` in the active stack.

    Raises:
        ServerNotFound: when the active stack has no ONNX deployer, no server
            for the model, or the server is not running.
    """
    from zenml_integrations.onnx.model_deployer import OnnxModelDeployer
    from zenml_integrations.onnx.service import OnnxServerService

    try:
        deployer = cast(OnnxModelDeployer, OnnxModelDeployer.get_active_model_deployer())
    except TypeError:  # ZenML's way of saying the stack has no deployer of this flavor
        raise ServerNotFound(
            "the active stack has no ONNX model deployer: activate the stack that serves "
            f"{model_name!r} (`zenml stack set ...`)"
        ) from None
    services = deployer.find_model_server(model_name=model_name)
    if not services:
        raise ServerNotFound(
            f"no server for model {model_name!r} in the active stack: run `make deploy` first"
        )
    service = services[0]
    if not isinstance(service, OnnxServerService):
        raise ServerNotFound(
            f"the server for {model_name!r} is a {type(service).__name__}, not a local daemon: "
            "these commands operate local servers; use the cluster's tools for the others"
        )
    service.update_status()
    if not service.is_running or not service.endpoint.status.uri:
        raise ServerNotFound(
            f"the server for {model_name!r} ({service.uuid}) is not running "
            f"({service.status.state.value}): `make deploy` restarts it"
        )
    settings = service.config.server_settings
    token_file = settings.get("admin_token_file")
    return ServerHandle(
        deployer=deployer,
        service=service,
        base_url=service.endpoint.status.uri.rstrip("/"),
        token_env=str(settings.get("admin_token_env", "")),
        token_file=Path(token_file) if token_file else None,
    )


def rotate_admin_token(model_name: str) -> ServerHandle:
    """Write a new random token to the server's token file and restart the server.

    The server reads its token once, at start-up, so the old token keeps
    working until the restart; the serving state file brings back the same
    champion and warm previous champion afterwards. An in-flight rollout is
    not kept across a restart (finish or roll it back first).

    Raises:
        TokenRotationRefused: when the server takes its token from an environment
            variable (rotate it there), has no token file, or has a rollout in flight.
        ServerNotFound: when the server is missing, or does not come back.
    """
    handle = find_server(model_name)
    if handle.token_env and os.environ.get(handle.token_env):
        raise TokenRotationRefused(
            f"${handle.token_env} is set, so the server uses it instead of its token file: "
            f"put the new token in ${handle.token_env} (or unset it) and restart the server"
        )
    if handle.token_file is None:
        raise TokenRotationRefused(
            f"the server for {model_name!r} was deployed without a token file: redeploy it"
        )
    state = handle.admin().state()
    if state["challenger"] is not None:
        raise TokenRotationRefused(
            f"version {state['challenger']} is being rolled out and a restart would drop it: "
            "promote it or roll it back first"
        )
    _write_secret(handle.token_file, secrets.token_urlsafe(32))
    handle.deployer.stop_model_server(handle.service.uuid, timeout=RESTART_TIMEOUT_SECONDS)
    handle.deployer.start_model_server(handle.service.uuid, timeout=RESTART_TIMEOUT_SECONDS)
    restarted = find_server(model_name)
    restarted.admin().state()  # the new token must be accepted before we say it is done
    return restarted


def _write_secret(path: Path, value: str) -> None:
    """Replace ``path`` atomically with a file only its owner can read."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(value)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
