"""The one status rule the serving metrics and the canary controller's queries share."""

from __future__ import annotations

import re

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from zenml_integrations.onnx import metric_names
from zenml_integrations.onnx.server.metrics import ServerMetrics

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        *((status, "success") for status in ("ok", "OK", "200", "204")),
        *((status, "server_error") for status in (
            "error", "500", "503", "INTERNAL", "Internal", "UNAVAILABLE", "Unavailable",
            "DEADLINE_EXCEEDED", "DeadlineExceeded", "UNKNOWN", "DATA_LOSS", "UNIMPLEMENTED",
        )),
        *((status, "client_error") for status in (
            "invalid", "400", "404", "429", "INVALID_ARGUMENT", "InvalidArgument", "NOT_FOUND",
            "NotFound", "RESOURCE_EXHAUSTED", "CANCELLED", "PERMISSION_DENIED", "Ok", "2000",
        )),
    ],
)  # fmt: skip
def test_given_a_status_or_code_when_classed_then_one_rule_says_whose_fault(
    status: str, expected: str
) -> None:
    assert metric_names.status_class(status) == expected
    # PromQL anchors its regular expressions: the query patterns give the same answer.
    judged = re.fullmatch(metric_names.JUDGED_PATTERN, status) is not None
    assert judged == (expected != "client_error")


def test_given_grpc_statuses_when_a_version_is_forgotten_then_its_request_series_go() -> None:
    metrics = ServerMetrics()
    metrics.series("churn", "2", "canary").ok.inc()
    metrics.requests_with_status("churn", "2", "canary", "INVALID_ARGUMENT").inc()
    metrics.requests_with_status("churn", "1", "champion", "OK").inc()

    metrics.forget_version("churn", "2")

    exposition = generate_latest(metrics.registry).decode()
    assert 'version="2"' not in exposition
    requests = {
        (sample.labels["version"], sample.labels["status"], sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == metric_names.REQUESTS
    }
    assert requests == {("1", "OK", 1.0)}
