"""Per-version quality with Evidently, checked against scikit-learn; the series it exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sklearn import metrics
from zenml_integrations.monitoring.errors import MonitoringConfigError
from zenml_integrations.monitoring.outcome import MetricsExport
from zenml_integrations.monitoring.outcomes import (
    LabelCounts,
    LabelledPredictions,
    OutcomesError,
    VersionLabelCounts,
)
from zenml_integrations.monitoring.quality import (
    QualityAssessment,
    RetrainPolicy,
    assess_quality,
    load_kpis,
)
from zenml_integrations.monitoring.quality_export import publish_quality_outcome

TRAINED = {"roc_auc": 0.9, "accuracy": 0.85, "f1": 0.8, "log_loss": 0.35}


def predicted_positive_share(rows: pd.DataFrame) -> float:
    """A business KPI: the share of rows predicted as class 1."""
    return float(rows["prediction"].mean())


def _version_rows(version: str, rows: int, signal: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, rows)
    score = np.clip(signal * truth + (1 - signal) * rng.random(rows) + 0.1 * rng.random(rows), 0, 1)
    return pd.DataFrame(
        {
            "request_id": [f"{version}-{i}" for i in range(rows)], "row": 0, "version": version,
            "timestamp": 1.0, "prediction": (score > 0.5).astype(np.int64), "score": score,
            "label": np.where(truth == 1, "yes", "no"),
        }
    )  # fmt: skip


def _labelled(frames: list[pd.DataFrame]) -> LabelledPredictions:
    frame = pd.concat(frames, ignore_index=True)
    versions = {
        str(version): VersionLabelCounts(
            predictions=len(rows) + 5, matched=len(rows), late=2, missing=3, duplicate=1
        )
        for version, rows in frame.groupby("version")
    }
    counts = LabelCounts(
        outcomes=len(frame) + 9, versions=versions, unknown_id=4, before_window=2,
        window_start=0.0, window_end=10.0,
    )  # fmt: skip
    return LabelledPredictions(frame=frame, counts=counts)


@pytest.fixture(scope="module")
def classification() -> tuple[LabelledPredictions, QualityAssessment, str]:
    """v1 as good as at training, challenger v2 degraded, v3 degraded on too few labels."""
    one_class = _version_rows("4", 150, 0.7, 4).assign(label="no")  # ROC AUC is undefined
    labelled = _labelled(
        [_version_rows("1", 400, 0.7, 1), _version_rows("2", 400, 0.1, 2),
         _version_rows("3", 30, 0.0, 3), one_class]
    )  # fmt: skip
    kpis = load_kpis({"positive_share": f"{__name__}:predicted_positive_share"})
    assessment, report = assess_quality(
        labelled, "churn", dict.fromkeys("1234", TRAINED),
        RetrainPolicy(metric="roc_auc", max_drop=0.05), 100, kpis, positive_label="yes",
    )  # fmt: skip
    return labelled, assessment, report


def test_given_labelled_versions_then_metrics_match_scikit_learn_and_the_challenger_retrains(
    classification: tuple[LabelledPredictions, QualityAssessment, str],
) -> None:
    labelled, assessment, report = classification
    by_version = {quality.version: quality for quality in assessment.versions}
    assert [quality.version for quality in assessment.versions] == ["1", "2", "3", "4"]
    one_class = by_version.pop("4")
    assert (one_class.metrics, one_class.drops, one_class.below_threshold) == ({}, {}, False)
    assert one_class.unscored == "all 150 labels are class 0: the metrics need both"
    for version, quality in by_version.items():
        rows = labelled.frame[labelled.frame["version"] == version]
        truth = (rows["label"] == "yes").astype(int)
        expected = {
            "roc_auc": metrics.roc_auc_score(truth, rows["score"]),
            "accuracy": metrics.accuracy_score(truth, rows["prediction"]),
            "f1": metrics.f1_score(truth, rows["prediction"]),
            "log_loss": metrics.log_loss(truth, rows["score"]),
            "precision": metrics.precision_score(truth, rows["prediction"]),
            "recall": metrics.recall_score(truth, rows["prediction"]),
        }
        assert quality.metrics == pytest.approx(expected, rel=1e-9)
        assert quality.labels == len(rows)
        assert quality.drops["roc_auc"] == pytest.approx(0.9 - expected["roc_auc"])
        assert quality.drops["log_loss"] == pytest.approx(expected["log_loss"] - 0.35)
        assert quality.kpis == {"positive_share": pytest.approx(rows["prediction"].mean())}
    assert by_version["1"].drops["roc_auc"] < 0.05 < by_version["2"].drops["roc_auc"]
    assert by_version["3"].drops["roc_auc"] > 0.05  # as bad, but on 30 labels: no evidence
    assert [q.below_threshold for q in assessment.versions] == [False, True, False, False]
    assert assessment.retrain
    assert report.count("<h2>version ") == 4
    assert "RETRAIN" in report
    assert "4 with an unknown id" in report


def test_given_an_assessment_then_the_series_hold_metrics_drops_and_label_counts(
    classification: tuple[LabelledPredictions, QualityAssessment, str], tmp_path: Path
) -> None:
    labelled, assessment, _ = classification
    textfile = tmp_path / "quality.prom"

    outcome = publish_quality_outcome(
        assessment, labelled.counts, MetricsExport(textfile=str(textfile))
    )

    assert outcome.retrain
    assert outcome.degraded_versions == ["2"]
    assert outcome.metrics_exported_to == [str(textfile)]
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(textfile.read_text())
        for sample in family.samples
    }
    v2 = {quality.version: quality for quality in assessment.versions}["2"]

    def series(name: str, version: str, **labels: str) -> float:
        return samples[
            (name, tuple(sorted({"model": "churn", "version": version, **labels}.items())))
        ]

    assert series("model_quality_metric", "2", metric="roc_auc") == v2.metrics["roc_auc"]
    assert series("model_quality_training_metric", "2", metric="roc_auc") == 0.9
    assert series("model_quality_drop", "2", metric="roc_auc") == v2.drops["roc_auc"]
    assert series("model_quality_below_threshold", "2", metric="roc_auc") == 1
    assert series("model_quality_below_threshold", "1", metric="roc_auc") == 0
    assert series("model_quality_kpi", "1", kpi="positive_share") > 0
    assert series("model_quality_labels", "2", state="matched") == 400
    assert series("model_quality_labels", "2", state="late") == 2
    assert series("model_quality_labels", "2", state="missing") == 3
    assert series("model_quality_labels", "2", state="duplicate") == 1
    unknown = (("model", "churn"), ("reason", "unknown_id"))
    assert samples[("model_quality_unmatched_labels", unknown)] == 4
    assert samples[("model_quality_retrain", (("model", "churn"),))] == 1


def test_given_a_regressor_then_rmse_mae_and_r2_match_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    truth = rng.normal(50, 10, 200)
    frame = pd.DataFrame(
        {"request_id": [str(i) for i in range(200)], "row": 0, "version": "4", "timestamp": 1.0,
         "prediction": truth + rng.normal(0, 3, 200), "score": np.nan, "label": truth}
    )  # fmt: skip
    trained = {"rmse": 2.0, "mae": 1.5, "r2": 0.95}

    assessment, _ = assess_quality(
        _labelled([frame]), "price", {"4": trained}, RetrainPolicy(metric="rmse", max_drop=0.5),
        100, {},
    )  # fmt: skip

    (quality,) = assessment.versions
    rmse = float(np.sqrt(metrics.mean_squared_error(truth, frame["prediction"])))
    assert assessment.problem_type == "regression"
    assert quality.metrics == pytest.approx(
        {"rmse": rmse, "mae": metrics.mean_absolute_error(truth, frame["prediction"]),
         "r2": metrics.r2_score(truth, frame["prediction"])}, rel=1e-9,
    )  # fmt: skip
    assert quality.drops["rmse"] == pytest.approx(rmse - 2.0)
    assert quality.below_threshold  # an rmse near 3 is worse than 2.0 by more than 0.5


def test_given_labels_that_are_not_classes_or_a_bad_kpi_then_the_error_says_what_to_set() -> None:
    frame = _version_rows("1", 20, 0.5, 7).assign(label=2)
    with pytest.raises(OutcomesError, match=r"labels \['2'\] are not 0/1: set .*positive_label"):
        assess_quality(_labelled([frame]), "churn", {"1": TRAINED}, RetrainPolicy(), 10, {})
    with pytest.raises(MonitoringConfigError, match="'rmse' is not registered for binary_class"):
        assess_quality(_labelled([frame]), "churn", {"1": TRAINED}, RetrainPolicy(metric="rmse"),
                       10, {})  # fmt: skip
    with pytest.raises(MonitoringConfigError, match="KPI 'revenue': cannot import 'nowhere:x'"):
        load_kpis({"revenue": "nowhere:x"})
    with pytest.raises(ValueError, match="retrain metric 'auc' is not one of"):
        RetrainPolicy(metric="auc")
