"""The drift gate's failure type: one base, and the message the training log shows."""

from __future__ import annotations

from zenml_integrations.evidently.errors import DriftGateError, DriftGateFailed
from zenml_integrations.evidently.gate import DriftVerdict


def test_given_a_failed_verdict_when_raised_then_message_says_why_and_what_to_do() -> None:
    verdict = DriftVerdict(
        passed=False, reason="Failed: 2 of 4 columns drifted: age, plan.", drift_share=0.5,
        max_drift_share=0.3, columns=[], reference_rows=10, current_rows=10,
    )  # fmt: skip

    error = DriftGateFailed(verdict)

    message = str(error)
    assert message.startswith("not promoted, the drift gate failed: Failed: 2 of 4 columns")
    assert "drift_report" in message
    assert "\n" not in message
    assert error.verdict is verdict
    assert isinstance(error, DriftGateError)
    assert not isinstance(error, RuntimeError)
