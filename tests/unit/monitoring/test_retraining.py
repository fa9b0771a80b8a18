"""The retraining rule: retrain only when drift persists."""

from __future__ import annotations

import pytest
from zenml_integrations.monitoring.retraining import drift_persists


@pytest.mark.parametrize(
    ("history", "runs", "retrain"),
    [
        ([False], 1, True),
        ([False], 2, False),  # one drifted window is not yet persistent drift
        ([False, False], 2, True),
        ([False, True], 2, False),
        ([True, False, False], 2, False),
    ],
)
def test_given_recent_verdicts_then_retrain_only_when_drift_persists(
    history: list[bool], runs: int, retrain: bool
) -> None:
    assert drift_persists(history, runs) is retrain
