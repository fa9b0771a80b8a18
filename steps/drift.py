"""The Evidently drift gate: a typed verdict, and the full report for the dashboard."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml.client import Client
from zenml.types import HTMLString
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.evidently.summary import with_verdict
from zenml_integrations.evidently.validator import ColumnRoles, EvidentlyDriftGate


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
    validator = Client().active_stack.data_validator
    if not isinstance(validator, EvidentlyDriftGate):
        raise RuntimeError(
            "the drift gate needs the stack's data validator to be the 'evidently_gate' "
            f"flavor (found {type(validator).__name__ if validator else 'none'}); add it with "
            "`mlops-kit stack apply stacks/local.yaml`"
        )
    # Numbers are tested as numerical; strings, categories and bools as categorical.
    roles = ColumnRoles.from_frame(reference, feature_columns, id_columns, timestamp_column)
    # Targets and other bookkeeping columns are not model inputs: compare inputs only.
    kept = [*feature_columns, *roles.id_columns, *([timestamp_column] if timestamp_column else [])]
    reference = reference[[column for column in kept if column in reference]]
    current = current[[column for column in kept if column in current]]
    verdict = validator.data_validation(current, reference, roles=roles)
    log_metadata(
        {
            "drift_gate": {
                "passed": verdict.passed,
                "reason": verdict.reason,
                "drift_share": verdict.drift_share,
                "drifted_columns": [column.column for column in verdict.drifted_columns],
            }
        }
    )
    report = validator.report_html(reference, current, roles)
    return verdict, HTMLString(with_verdict(report, verdict))
