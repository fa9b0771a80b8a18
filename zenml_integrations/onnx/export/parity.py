"""The ONNX parity gate: the exported model must reproduce scikit-learn on held-out rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.onnx.errors import OnnxParityError
from zenml_integrations.onnx.export.conversion import INPUT_NAME

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline


class ParityTolerance(BaseModel):
    """How far ONNX outputs may stray from scikit-learn's (the ``numpy.isclose`` rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    absolute: float = Field(default=1e-4, ge=0)
    relative: float = Field(default=1e-5, ge=0)


class ParityReport(BaseModel):
    """How closely the ONNX model reproduces scikit-learn on held-out rows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    compared_output: Literal["probabilities", "predictions"]
    max_abs_diff: float
    absolute_tolerance: float
    relative_tolerance: float
    values_out_of_tolerance: int
    label_mismatches: int

    @property
    def passed(self) -> bool:
        """True when every value is within tolerance and every label agrees."""
        return self.values_out_of_tolerance == 0 and self.label_mismatches == 0


def model_feeds(onnx_inputs: list[str], frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The onnxruntime feeds for a model frame (``training.preprocessing.model_frame``)."""
    if onnx_inputs == [INPUT_NAME]:
        return {INPUT_NAME: np.ascontiguousarray(frame.to_numpy(dtype=np.float32))}
    return {
        name: np.ascontiguousarray(
            frame[[name]].to_numpy(dtype=object if frame[name].dtype.kind == "O" else np.float32)
        )
        for name in onnx_inputs
    }


def run_onnx(onnx_bytes: bytes, features: pd.DataFrame | np.ndarray) -> dict[str, np.ndarray]:
    """Run the model once with onnxruntime on a single thread; outputs by name.

    ``features`` is a model frame, or the float matrix of a single-input model.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    feeds = (
        {INPUT_NAME: np.ascontiguousarray(features, dtype=np.float32)}
        if isinstance(features, np.ndarray)
        else model_feeds([node.name for node in session.get_inputs()], features)
    )
    values = session.run(names, feeds)
    return dict(zip(names, (np.asarray(value) for value in values), strict=True))


def check_parity(
    model: Pipeline,
    onnx_bytes: bytes,
    features: pd.DataFrame,
    problem_type: str,
    tolerance: ParityTolerance | None = None,
) -> ParityReport:
    """Compare ONNX and scikit-learn outputs on the same rows of a model frame.

    Both sides see the frame the served model receives (float32 numbers, string
    categories, missing values included), so any difference comes from the
    conversion itself: preprocessing and estimator alike. A value passes when
    ``|sklearn - onnx| <= absolute_tolerance + relative_tolerance * |sklearn|``
    (the ``numpy.isclose`` rule): float32 arithmetic on a regression target
    near 100 is only exact to about 1e-5 relative.
    """
    tolerance = tolerance or ParityTolerance()
    rows = features.astype(
        {name: np.float32 for name, dtype in features.dtypes.items() if dtype.kind != "O"}
    )
    outputs = run_onnx(onnx_bytes, rows)
    if problem_type == "binary_classification":
        expected = model.predict_proba(rows)
        actual = outputs["probabilities"]
        label_mismatches = int(
            np.sum(model.predict(rows).astype(np.int64) != outputs["label"].astype(np.int64))
        )
        compared: Literal["probabilities", "predictions"] = "probabilities"
    else:
        expected = model.predict(rows)
        actual = outputs["variable"].reshape(expected.shape)
        label_mismatches = 0
        compared = "predictions"
    difference = np.abs(expected - actual)
    out_of_tolerance = int(
        np.sum(difference > tolerance.absolute + tolerance.relative * np.abs(expected))
    )
    return ParityReport(
        rows=len(rows),
        compared_output=compared,
        max_abs_diff=float(difference.max()) if len(rows) else 0.0,
        absolute_tolerance=tolerance.absolute,
        relative_tolerance=tolerance.relative,
        values_out_of_tolerance=out_of_tolerance,
        label_mismatches=label_mismatches,
    )


def enforce_parity(report: ParityReport) -> None:
    """Fail the run when the ONNX model does not reproduce scikit-learn.

    Raises:
        OnnxParityError: with the measured difference and the tolerance.
    """
    if not report.passed:
        raise OnnxParityError(
            f"ONNX parity gate failed on {report.rows} held-out rows: "
            f"{report.values_out_of_tolerance} {report.compared_output} outside "
            f"atol={report.absolute_tolerance:.3g} + rtol={report.relative_tolerance:.3g}, "
            f"max |sklearn - onnx| = {report.max_abs_diff:.3g}, "
            f"{report.label_mismatches} label mismatches. "
            "The ONNX model is not registered; check the converter for this estimator."
        )
