"""A monitoring run's outcome: series exported where configured, retraining decided."""

from __future__ import annotations

from pathlib import Path

import pytest
from zenml_integrations.evidently.gate import ColumnDrift, DriftVerdict
from zenml_integrations.monitoring.errors import MonitoringConfigError
from zenml_integrations.monitoring.outcome import MetricsExport, publish_drift_outcome
from zenml_integrations.monitoring.traffic import ServedWindow

SERVED = ServedWindow(
    model_name="churn", version="3", rows=600, requests=12, versions_seen=["3"],
    first_timestamp=1.0, last_timestamp=2.0, log_dir="logs",
)  # fmt: skip


def _verdict(passed: bool) -> DriftVerdict:
    age = ColumnDrift(column="age", column_type="numerical", method="wasserstein", score=0.4,
                      threshold=0.1, drifted=not passed)  # fmt: skip
    return DriftVerdict(
        passed=passed, reason="test", drift_share=0.0 if passed else 1.0, max_drift_share=0.3,
        columns=[age], reference_rows=1, current_rows=1,
    )  # fmt: skip


def test_given_drift_when_retraining_after_one_run_then_retrain_and_series_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUSH_URL", raising=False)
    textfile = tmp_path / "metrics" / "drift.prom"
    export = MetricsExport(textfile=str(textfile), pushgateway_url_env="PUSH_URL")

    outcome = publish_drift_outcome(_verdict(passed=False), SERVED, export, retrain_after_runs=1)

    assert (outcome.model_name, outcome.version) == ("churn", "3")
    assert outcome.drift_passed is False
    assert outcome.drifted_columns == ["age"]
    assert outcome.retrain is True
    assert outcome.metrics_exported_to == [str(textfile)]
    assert 'model_drift_detected{feature="age",model="churn",version="3"} 1.0' in (
        textfile.read_text()
    )


def test_given_no_drift_and_no_textfile_then_nothing_exported_and_no_retrain() -> None:
    export = MetricsExport(textfile=None, pushgateway_url_env="UNSET_PUSH_URL_FOR_TEST")

    outcome = publish_drift_outcome(_verdict(passed=True), SERVED, export, retrain_after_runs=1)

    assert (outcome.retrain, outcome.metrics_exported_to) == (False, [])


def test_given_zero_runs_when_deciding_then_refused_naming_the_setting() -> None:
    export = MetricsExport(textfile=None, pushgateway_url_env="UNSET_PUSH_URL_FOR_TEST")
    with pytest.raises(MonitoringConfigError, match="retrain_after_drifted_runs must be at least"):
        publish_drift_outcome(_verdict(passed=False), SERVED, export, retrain_after_runs=0)
