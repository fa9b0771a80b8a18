"""Convert to ONNX and gate on parity with scikit-learn."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step
from zenml_integrations.onnx.export.conversion import convert_to_onnx
from zenml_integrations.onnx.export.parity import (
    ParityReport,
    ParityTolerance,
    check_parity,
    enforce_parity,
)
from zenml_integrations.training.dataset import DatasetSchema, feature_kinds
from zenml_integrations.training.preprocessing import model_frame


@step
def export_onnx(
    sklearn_model: Pipeline,
    test_data: pd.DataFrame,
    feature_columns: list[str],
    dataset: DatasetSchema,
    tolerance: ParityTolerance,
) -> tuple[Annotated[bytes, "onnx_model"], Annotated[ParityReport, "onnx_parity"]]:
    """Convert model and preprocessing; fail the run if ONNX does not reproduce them."""
    kinds = feature_kinds(test_data, feature_columns, dataset)
    onnx_bytes = convert_to_onnx(sklearn_model, feature_columns, dataset.problem_type, dict(kinds))
    report = check_parity(
        sklearn_model,
        onnx_bytes,
        model_frame(test_data, kinds),
        dataset.problem_type,
        tolerance,
    )
    log_metadata({"onnx_parity": {**report.model_dump(mode="json"), "passed": report.passed}})
    enforce_parity(report)
    return onnx_bytes, report
