"""The Great Expectations data quality gate."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, save_artifact, step
from zenml.types import HTMLString
from zenml_integrations.great_expectations.gate import enforce, render_html, validate_frame
from zenml_integrations.great_expectations.suite import DataQualitySuite


@step
def data_quality_gate(
    raw_data: pd.DataFrame, suite: DataQualitySuite
) -> Annotated[HTMLString, "data_quality_report"]:
    """Validate the table; stop the pipeline if any expectation fails.

    A failed run keeps its report: it is saved as an artifact before the step
    raises, so the dashboard shows which expectation failed and why.
    """
    result = validate_frame(raw_data, suite)
    report = HTMLString(render_html(result))
    log_metadata(
        {
            "data_quality": {
                "success": result.success,
                "failed_expectations": result.failed_count,
                "expectations": len(result.outcomes),
            }
        }
    )
    if not result.success:
        save_artifact(report, name="data_quality_report_failed")
    enforce(result, suite_location="parameters.data_quality in configs/training.yaml")
    return report
