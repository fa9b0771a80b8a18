"""The serving metrics' one definition: series names, labels, buckets, and what a status means.

The local ONNX server (``server/metrics.py``) and the serving image's seldon-core wrapper
(``seldon/onnx_seldon_model.py``) export these series, and the canary controller
(``kubernetes/canary.py``) queries them, so the three cannot drift apart. The serving image
gets a copy of this file beside the wrapper (``template/serving/metric_names.py``, kept equal
by a test): standard library only, since it runs in seldon-core's own environment.
"""

from __future__ import annotations

import re

# Counter of inference requests, by outcome (``status``).
REQUESTS = "onnx_server_requests_total"
REQUEST_LABELS = ("model", "version", "variant", "status")
# Histogram of the time from request parsed to answer ready, in seconds.
LATENCY = "onnx_server_request_latency_seconds"
LATENCY_LABELS = ("model", "version", "variant")
# Histogram of the mean of the last output column per answered request.
PREDICTION = "onnx_server_prediction"
PREDICTION_LABELS = ("model", "version")

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.0, 2.0,
)  # fmt: skip
PREDICTION_BUCKETS = (*(round(0.1 * step, 1) for step in range(1, 10)), 1.0, 10.0, 100.0, 1000.0)

# ``status`` values written by REST answers; gRPC answers write the gRPC status name.
OK, ERROR, INVALID = "ok", "error", "invalid"
# Variant label of a request refused before it was routed to a version.
REJECTED_VARIANT = "rejected"

# gRPC codes that blame the server (HTTP 5xx in gRPC's own HTTP mapping); every other non-OK
# code blames the request. Both spellings: Python's StatusCode names and Go's Code.String()
# (Seldon Core v2's agent writes the latter).
_GRPC_SERVER_CODES = ("UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
                      "DATA_LOSS")  # fmt: skip


def _go_spelling(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


# One rule for every series that carries a status or code label (ours, Seldon v1's executor,
# Seldon v2's agent): PromQL regular expressions (fully anchored, as PromQL anchors them).
SUCCESS_PATTERN = "|".join((OK, "OK", "2.."))
SERVER_ERROR_PATTERN = "|".join(
    (ERROR, "5..", *_GRPC_SERVER_CODES, *(_go_spelling(code) for code in _GRPC_SERVER_CODES))
)
# What a rollout judges: answers and server errors; a client's bad request says nothing about
# the version that refused it.
JUDGED_PATTERN = f"{SUCCESS_PATTERN}|{SERVER_ERROR_PATTERN}"

SUCCESS, CLIENT_ERROR, SERVER_ERROR = "success", "client_error", "server_error"


def status_class(status: str) -> str:
    """``success``, ``server_error`` or ``client_error`` for a status or code label value."""
    if re.fullmatch(SUCCESS_PATTERN, status):
        return SUCCESS
    if re.fullmatch(SERVER_ERROR_PATTERN, status):
        return SERVER_ERROR
    return CLIENT_ERROR


def le_label(bound: float) -> str:
    """A bucket's ``le`` label as Prometheus clients write it (``0.5``, ``1.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(float(bound))
