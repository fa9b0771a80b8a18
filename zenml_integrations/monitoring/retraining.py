"""When served traffic has drifted for long enough to retrain."""

from __future__ import annotations


def drift_persists(passed_newest_first: list[bool], consecutive_runs: int) -> bool:
    """True when the newest ``consecutive_runs`` drift checks all failed.

    One drifted window can be a holiday or a bad batch upstream; retraining
    on it would teach the model the anomaly.
    """
    if consecutive_runs < 1:
        raise ValueError("consecutive_runs must be at least 1")
    recent = passed_newest_first[:consecutive_runs]
    return len(recent) == consecutive_runs and not any(recent)
