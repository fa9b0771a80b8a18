"""Which served traffic a monitoring run judges: the window, the log folder, the busiest version."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.monitoring.errors import InferenceLogsNotFound, NotEnoughTraffic
from zenml_integrations.monitoring.inference_logs import (
    ServedTraffic,
    busiest,
    read_inference_logs,
)


class MonitoringWindow(BaseModel):
    """Which served traffic to check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hours: float = Field(default=24.0, gt=0, description="Look back this far from now.")
    min_rows: int = Field(
        default=500, ge=1, description="Fewer served rows than this: too little to judge."
    )
    log_dir: str | None = Field(
        default=None, description="Inference log folder; default: the deployer's server for it."
    )


class ServedWindow(BaseModel):
    """The traffic a monitoring run judged: whose, how much, and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str
    version: str = Field(description="The version that answered the most rows in the window.")
    rows: int
    requests: int
    versions_seen: list[str]
    first_timestamp: float
    last_timestamp: float
    log_dir: str


def inference_log_dir(model_name: str) -> Path:
    """Where the active stack's model server for ``model_name`` writes its inference logs.

    Any model deployer whose service config has ``server_settings`` with an
    ``inference_log_dir`` will do, so this plugin needs no deployer's code.

    Raises:
        InferenceLogsNotFound: with no deployer, no server, or a server without logging.
    """
    from zenml.client import Client

    deployer = Client().active_stack.model_deployer
    if deployer is None:
        raise InferenceLogsNotFound(
            "the active stack has no model deployer to ask for the inference logs: set "
            "parameters.window.log_dir in configs/monitoring.yaml, or use the project's stack"
        )
    services = deployer.find_model_server(model_name=model_name)
    if not services:
        raise InferenceLogsNotFound(
            f"no server for {model_name} on the {deployer.name!r} deployer: deploy it first "
            "(make deploy)"
        )
    settings: dict[str, Any] = getattr(services[0].config, "server_settings", None) or {}
    if "inference_log_dir" not in settings:
        raise InferenceLogsNotFound(
            f"the {model_name} server was deployed without inference logging (server "
            f"settings: {sorted(settings)}); redeploy it with inference logs, or set "
            "parameters.window.log_dir"
        )
    return Path(settings["inference_log_dir"])


def busiest_served_traffic(
    model_name: str, window: MonitoringWindow, log_dir: Path
) -> tuple[ServedTraffic, ServedWindow]:
    """The inputs of the version that answered most rows in the window, and their summary.

    That version's training reference applies to the traffic.

    Raises:
        NotEnoughTraffic: when fewer than ``window.min_rows`` rows were served.
    """
    until = time.time()
    traffic = read_inference_logs(log_dir, model_name, since=until - window.hours * 3600)
    served = busiest(traffic)
    if served is None or len(served.inputs) < window.min_rows:
        rows = 0 if served is None else len(served.inputs)
        raise NotEnoughTraffic(
            f"not enough served traffic yet to judge drift: {rows} rows of {model_name} in the "
            f"last {window.hours:g} h (inference logs: {log_dir}), {window.min_rows} needed. "
            "Send more requests to the endpoint, or lower parameters.window.min_rows "
            "(or widen parameters.window.hours) in configs/monitoring.yaml"
        )
    summary = ServedWindow(
        model_name=model_name,
        version=served.version,
        rows=len(served.inputs),
        requests=served.requests,
        versions_seen=sorted(traffic),
        first_timestamp=served.first_timestamp,
        last_timestamp=served.last_timestamp,
        log_dir=str(log_dir),
    )
    return served, summary
