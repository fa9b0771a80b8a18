"""Convert to ONNX and gate on parity with scikit-learn."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.pipeline import Pipeline
from zenml import log_metadata, step
from zenml_integrations.onnx.export.conversion import convert_to_onnx
from zenml_integrations.onnx.export.parity import check_parity, enforce_parity
from zenml_integrations.training.dataset import DatasetSchema, feature_kinds
from zenml_integrations.training.preprocessing import model_frame


class ParityTolerance(BaseModel):
    """How far ONNX outputs may stray from scikit-learn's (numpy.isclose rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    absolute: float = Field(default=1e-4, ge=0)
    relative: float = Field(default=1e-5, ge=0)


@step
def export_onnx(
    sklearn_model: Pipeline,
    test_data: pd.DataFrame,
    feature_columns: list[str],
    dataset: DatasetSchema,
    tolerance: ParityTolerance,
) -> tuple[Annotated[bytes, "onnx_model"], Annotated[dict[str, float | int | str], "onnx_parity"]]:
    """Convert model and preprocessing; fail the run if ONNX does not reproduce them."""
    kinds = feature_kinds(test_data, feature_columns, dataset)
    onnx_bytes = convert_to_onnx(sklearn_model, feature_columns, dataset.problem_type, dict(kinds))
    report = check_parity(
        sklearn_model,
        onnx_bytes,
        model_frame(test_data, kinds),
        dataset.problem_type,
        absolute_tolerance=tolerance.absolute,
        relative_tolerance=tolerance.relative,
    )
    log_metadata({"onnx_parity": {**asdict(report), "passed": report.passed}})
    enforce_parity(report)
    return onnx_bytes, {**asdict(report), "passed": str(report.passed)}
