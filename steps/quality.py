"""Model quality: served predictions joined with their true outcomes, scored per version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.types import HTMLString
from zenml_integrations.mlflow.champion import active_stack_registry
from zenml_integrations.monitoring.outcome import MetricsExport
from zenml_integrations.monitoring.outcomes import LabelCounts, LabelledPredictions, OutcomesSource
from zenml_integrations.monitoring.quality import (
    QualityAssessment,
    QualityWindow,
    RetrainPolicy,
    assess_quality,
    labelled_window,
    load_kpis,
    registered_metrics,
)
from zenml_integrations.monitoring.quality_export import QualityOutcome, publish_quality_outcome
from zenml_integrations.monitoring.traffic import inference_log_dir


@step(enable_cache=False)
def load_labelled_predictions(
    model_name: str, outcomes: OutcomesSource, window: QualityWindow
) -> tuple[Annotated[pd.DataFrame, "labelled_predictions"], Annotated[LabelCounts, "label_counts"]]:
    """The window's predictions that have a true outcome, and the count of every other case.

    Raises:
        NotEnoughTraffic: when no prediction was logged in the window.
        OutcomesError: when the outcomes file is missing or lacks a configured column.
    """
    log_dir = Path(window.log_dir) if window.log_dir else inference_log_dir(model_name)
    labelled = labelled_window(model_name, outcomes, window, log_dir)
    log_metadata({"label_counts": labelled.counts.model_dump()})
    return labelled.frame, labelled.counts


@step(enable_cache=False)
def assess_model_quality(
    labelled_predictions: pd.DataFrame,
    label_counts: LabelCounts,
    model_name: str,
    outcomes: OutcomesSource,
    window: QualityWindow,
    retrain: RetrainPolicy,
    kpis: dict[str, str],
) -> tuple[
    Annotated[QualityAssessment, "quality_assessment"], Annotated[HTMLString, "quality_report"]
]:
    """Each version's metrics (Evidently) and KPIs beside its registered training metrics.

    The registry is read, no experiment is tracked: no MLflow run per quality check.
    """
    client = active_stack_registry()
    training = {
        version: registered_metrics(client, model_name, version)
        for version in label_counts.versions
    }
    assessment, report = assess_quality(
        LabelledPredictions(frame=labelled_predictions, counts=label_counts),
        model_name, training, retrain, window.min_labels, load_kpis(kpis),
        outcomes.positive_label,
    )  # fmt: skip
    return assessment, HTMLString(report)


@step(enable_cache=False)
def publish_quality(
    quality_assessment: QualityAssessment, label_counts: LabelCounts, export: MetricsExport
) -> Annotated[QualityOutcome, "quality_outcome"]:
    """Export the ``model_quality_*`` series and say whether a version needs retraining."""
    outcome = publish_quality_outcome(quality_assessment, label_counts, export)
    log_metadata({"quality_outcome": outcome.model_dump()})
    return outcome
