"""The Evidently drift gate: a typed verdict, and the full report for the dashboard."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.types import HTMLString
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.evidently.validator import active_drift_gate


@step
def drift_gate(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    feature_columns: list[str],
    id_columns: list[str] | None = None,
    timestamp_column: str | None = None,
) -> tuple[Annotated[DriftVerdict, "drift_verdict"], Annotated[HTMLString, "drift_report"]]:
    """Compare ``current`` with ``reference`` under the stack's drift policy.

    The verdict comes from the few metrics it needs; Evidently's full report
    is rendered afterwards for people. The step itself never blocks: the
    steps that promote or deploy read the verdict and refuse, so a failed
    gate still leaves its report in the dashboard.
    """
    verdict, report = active_drift_gate().check_model_inputs(
        reference, current, feature_columns, id_columns, timestamp_column
    )
    log_metadata({"drift_gate": verdict.summary()})
    return verdict, HTMLString(report)
