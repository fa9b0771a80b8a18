"""Run the ONNX server: ``python -m zenml_integrations.onnx.server --help``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from zenml_integrations.onnx.server.config import ServerConfig


def version_label(value: str) -> str:
    """``value`` if it is a valid version label, else the option's one-line error."""
    from zenml_integrations.onnx.rollout.version import (
        InvalidVersionLabel,
        validate_version_label,
    )

    try:
        return validate_version_label(value)
    except InvalidVersionLabel as error:
        raise click.BadParameter(str(error)) from None


@click.command()
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
)
@click.option(
    "--version",
    required=True,
    callback=lambda _context, _option, value: version_label(value),
    help="Version label of the champion model (letters, digits, '.', '_', '-').",
)
@click.option("--sha256", help="Refuse to start unless the model file has this checksum.")
@click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--model-name", help="Overrides the config's model_name.")
@click.option("--host", help="Overrides the config's host (default 127.0.0.1).")
@click.option("--port", type=int, help="Overrides the config's port.")
@click.option(
    "--grpc-port",
    type=int,
    help="Overrides the config's grpc_port: serve OIP over gRPC on this port too (0: off).",
)
def main(
    model_path: Path,
    version: str,
    sha256: str | None,
    config_path: Path | None,
    model_name: str | None,
    host: str | None,
    port: int | None,
    grpc_port: int | None,
) -> None:
    """Serve one ONNX model over the Open Inference Protocol (V2)."""
    from zenml_integrations.onnx.errors import OnnxError
    from zenml_integrations.onnx.server.app import create_server
    from zenml_integrations.onnx.server.grpc_server import GrpcStartError, serve

    overrides = {"model_name": model_name, "host": host, "port": port, "grpc_port": grpc_port}
    config = _server_config(config_path, overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        server = create_server(config, version, model_path, sha256)
    except (OnnxError, OSError) as error:  # a refused start is a message, not a traceback
        raise click.ClickException(str(error)) from error
    try:
        serve(server, config)
    except GrpcStartError as error:
        raise click.ClickException(str(error)) from None


def _server_config(config_path: Path | None, overrides: dict[str, Any]) -> ServerConfig:
    """The validated settings, or a one-line message saying which one is wrong."""
    from pydantic import ValidationError
    from zenml_integrations.onnx.server.config import ServerConfig

    source = f"server config {config_path}" if config_path else "server settings"
    try:
        settings = json.loads(config_path.read_text(encoding="utf-8")) if config_path else {}
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read {source}: {error}") from None
    if not isinstance(settings, dict):
        raise click.ClickException(f"{source} must be a JSON object, got {type(settings).__name__}")
    settings.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return ServerConfig.model_validate(settings)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, problem['loc'])) or 'settings'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise click.ClickException(
            f"invalid {source}: {problems} (--model-name sets model_name; --config takes "
            "the other fields as JSON)"
        ) from None


if __name__ == "__main__":
    main()
