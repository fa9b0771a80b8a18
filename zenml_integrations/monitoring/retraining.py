"""When served traffic has drifted for long enough to retrain."""

from __future__ import annotations

from zenml_integrations.monitoring.errors import MonitoringConfigError

MONITORING_PIPELINE = "monitoring_pipeline"
OUTCOME_STEP = "publish_drift"
OUTCOME_METADATA = "monitoring_outcome"


def drift_persists(passed_newest_first: list[bool], consecutive_runs: int) -> bool:
    """True when the newest ``consecutive_runs`` drift checks all failed.

    One drifted window can be a holiday or a bad batch upstream; retraining
    on it would teach the model the anomaly.

    Raises:
        MonitoringConfigError: when ``consecutive_runs`` is below 1.
    """
    if consecutive_runs < 1:
        raise MonitoringConfigError(
            f"retrain_after_drifted_runs must be at least 1, got {consecutive_runs}: "
            "set it in configs/monitoring.yaml"
        )
    recent = passed_newest_first[:consecutive_runs]
    return len(recent) == consecutive_runs and not any(recent)


def earlier_verdicts(count: int) -> list[bool]:
    """Whether each of the last ``count`` finished monitoring runs passed, newest first.

    Read from the outcome step's run metadata, which every version of the
    step has logged, so runs made before an upgrade still count. A run
    without it counts as passed: no evidence of drift.
    """
    if count <= 0:
        return []
    from zenml.client import Client

    runs = Client().list_pipeline_runs(
        pipeline_name=MONITORING_PIPELINE, status="completed", sort_by="desc:created", size=count
    )
    passed = []
    for run in runs.items:
        outcome = run.steps[OUTCOME_STEP].run_metadata.get(OUTCOME_METADATA)
        passed.append(not isinstance(outcome, dict) or bool(outcome.get("drift_passed", True)))
    return passed


def metric_drop(metric: str, production: float, training: float) -> float:
    """How much worse ``production`` is than ``training``, in the metric's units (< 0: better).

    Raises:
        MonitoringConfigError: for a metric whose better direction is not known.
    """
    from zenml_integrations.training.metrics import HIGHER_IS_BETTER

    if metric not in HIGHER_IS_BETTER:
        raise MonitoringConfigError(
            f"quality metric {metric!r} is not one of {sorted(HIGHER_IS_BETTER)}: set "
            "quality.parameters.retrain.metric in configs/monitoring.yaml"
        )
    return training - production if HIGHER_IS_BETTER[metric] else production - training


def quality_dropped(drop: float | None, max_drop: float, labels: int, min_labels: int) -> bool:
    """True when enough outcomes show the model worse than at training by more than allowed.

    A handful of labels is noise, not evidence: below ``min_labels`` no
    version triggers retraining, however bad its numbers look.
    """
    return drop is not None and labels >= min_labels and drop > max_drop
