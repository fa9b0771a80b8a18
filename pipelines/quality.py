"""Model quality: join true outcomes with served predictions, score, export, say when to retrain."""

from __future__ import annotations

from zenml import pipeline
from zenml_integrations.monitoring.health_hooks import report_run_failure, report_run_success
from zenml_integrations.monitoring.outcome import MetricsExport
from zenml_integrations.monitoring.outcomes import OutcomesSource
from zenml_integrations.monitoring.quality import QualityWindow, RetrainPolicy
from zenml_integrations.monitoring.quality_export import QUALITY_EXPORT

from steps.quality import assess_model_quality, load_labelled_predictions, publish_quality

DEFAULT_WINDOW = QualityWindow()
DEFAULT_RETRAIN = RetrainPolicy()


@pipeline(enable_cache=False, on_success=report_run_success, on_failure=report_run_failure)
def quality_pipeline(
    model_name: str,
    outcomes: OutcomesSource,
    window: QualityWindow = DEFAULT_WINDOW,
    retrain: RetrainPolicy = DEFAULT_RETRAIN,
    kpis: dict[str, str] | None = None,
    export: MetricsExport = QUALITY_EXPORT,
) -> None:
    """Score each served version on the outcomes that arrived, against its training metrics.

    The outcome says ``retrain`` when a version with enough labels dropped
    past ``retrain.max_drop``; ``run.py quality`` then starts the training pipeline.
    """
    labelled_predictions, label_counts = load_labelled_predictions(
        model_name=model_name, outcomes=outcomes, window=window
    )
    quality_assessment, _ = assess_model_quality(
        labelled_predictions=labelled_predictions, label_counts=label_counts,
        model_name=model_name, outcomes=outcomes, window=window, retrain=retrain,
        kpis=kpis or {},
    )  # fmt: skip
    publish_quality(quality_assessment=quality_assessment, label_counts=label_counts, export=export)
