"""Errors of the Evidently drift gate plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zenml_integrations.evidently.gate import DriftVerdict


class DriftGateError(Exception):
    """Base class for everything the drift gate plugin refuses or cannot do."""


class DriftGateNotInStack(DriftGateError):
    """The active stack's data validator is not the ``evidently_gate`` flavor."""


class DriftInputError(DriftGateError, ValueError):
    """A drift check was called without the frames or column roles it needs."""


class DriftTestMissing(DriftGateError):
    """Evidently answered without a drift test for a column the gate asked about."""


class DriftGateFailed(DriftGateError):
    """The data drifted: the model is registered but not promoted, ``champion`` stays put."""

    def __init__(self, verdict: DriftVerdict) -> None:
        self.verdict = verdict
        super().__init__(
            f"not promoted, the drift gate failed: {verdict.reason} The champion is unchanged; "
            "read the run's drift_report, then retrain on data that covers the new values or "
            "widen the stack's drift policy (max_drift_share)"
        )
