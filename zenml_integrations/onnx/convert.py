"""Convert a fitted scikit-learn pipeline to ONNX and prove the two agree.

Conversion pins the opsets and disables ZipMap so classifiers return a plain
probability tensor (ZipMap outputs break Triton and force clients to parse
maps). A model of numeric features takes one float32 tensor ``input`` of shape
[batch, features]; a model with categorical or date features takes one
``[batch, 1]`` tensor per feature, named after it (strings for categories,
float32 otherwise). Feature names, order and kinds are stored in the model's
metadata so a server can validate requests and a registry can detect a
changed input signature.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from zenml_integrations.onnx.errors import (
    OnnxArtifactMismatch,
    OnnxConversionError,
    OnnxParityError,
)

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

ONNX_OPSET = 17
ONNX_ML_OPSET = 3
INPUT_NAME = "input"
FEATURE_NAMES_KEY = "feature_names"
FEATURE_KINDS_KEY = "feature_kinds"
PROBLEM_TYPE_KEY = "problem_type"


@dataclass(frozen=True)
class ParityReport:
    """How closely the ONNX model reproduces scikit-learn on held-out rows."""

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


def convert_to_onnx(
    model: Pipeline,
    feature_names: list[str],
    problem_type: str,
    feature_kinds: dict[str, str] | None = None,
) -> bytes:
    """Serialize a fitted pipeline as an ONNX model.

    ``feature_kinds`` (by feature name; numeric when omitted) decides the inputs:
    any ``categorical`` or ``datetime`` feature gives one input per feature.

    Raises:
        OnnxConversionError: when skl2onnx does not support the pipeline.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    final_estimator = model.steps[-1][1]
    refuse_unfaithful_conversion(type(final_estimator).__name__)
    kinds = {name: (feature_kinds or {}).get(name, "numeric") for name in feature_names}
    if any(kind not in ("numeric", "boolean") for kind in kinds.values()):
        initial_types: list[tuple[str, Any]] = [
            (
                name,
                StringTensorType([None, 1])
                if kind == "categorical"
                else FloatTensorType([None, 1]),
            )
            for name, kind in kinds.items()
        ]
    else:
        initial_types = [(INPUT_NAME, FloatTensorType([None, len(feature_names)]))]

    options = (
        {id(final_estimator): {"zipmap": False}}
        if problem_type == "binary_classification"
        else None
    )
    try:
        onnx_model = convert_sklearn(
            model,
            initial_types=initial_types,
            target_opset={"": ONNX_OPSET, "ai.onnx.ml": ONNX_ML_OPSET},
            options=options,
        )
    except (RuntimeError, NotImplementedError, TypeError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise OnnxConversionError(
            f"skl2onnx cannot convert {type(final_estimator).__name__}: "
            f"{type(error).__name__}: {first_line}"
        ) from error
    onnx_model.doc_string = f"{type(final_estimator).__name__} ({problem_type})"
    for key, value in (
        (FEATURE_NAMES_KEY, json.dumps(feature_names)),
        (FEATURE_KINDS_KEY, json.dumps(kinds)),
        (PROBLEM_TYPE_KEY, problem_type),
    ):
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = key, value
    return bytes(onnx_model.SerializeToString())


def refuse_unfaithful_conversion(estimator: str) -> None:
    """Refuse estimators whose ONNX conversion cannot pass the parity gate, saying why.

    Raises:
        OnnxConversionError: for ``HistGradientBoosting*`` with skl2onnx up to 1.20, whose
            converter fails under protobuf 7 and converts wrongly under protobuf 6 (skl2onnx
            issue 1227, fixed after 1.20).
    """
    import skl2onnx

    release = tuple(int(part) for part in skl2onnx.__version__.split(".")[:2])
    if estimator.startswith("HistGradientBoosting") and release <= (1, 20):
        raise OnnxConversionError(
            f"skl2onnx {skl2onnx.__version__} cannot convert {estimator} faithfully (it fails "
            "under protobuf 7 and breaks parity under protobuf 6: skl2onnx issue 1227, fixed "
            "after 1.20); use the gradient_boosting family (GradientBoosting*) instead"
        )


def input_signature(onnx_bytes: bytes) -> dict[str, object]:
    """Inputs (name, element type, shape), feature names and kinds: what a client must send.

    A single-input model keeps the flat form registered versions already record.
    """
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    inputs = [
        {
            "name": graph_input.name,
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(
                graph_input.type.tensor_type.elem_type
            ).name,
            "shape": [dim.dim_value or -1 for dim in graph_input.type.tensor_type.shape.dim],
        }
        for graph_input in model.graph.input
    ]
    feature_names = json.loads(metadata.get(FEATURE_NAMES_KEY, "[]"))
    if len(inputs) == 1:
        return {**inputs[0], "feature_names": feature_names}
    return {
        "inputs": inputs,
        "feature_names": feature_names,
        "feature_kinds": json.loads(metadata.get(FEATURE_KINDS_KEY, "{}")),
    }


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
    absolute_tolerance: float = 1e-4,
    relative_tolerance: float = 1e-5,
) -> ParityReport:
    """Compare ONNX and scikit-learn outputs on the same rows of a model frame.

    Both sides see the frame the served model receives (float32 numbers, string
    categories, missing values included), so any difference comes from the
    conversion itself: preprocessing and estimator alike. A value passes when
    ``|sklearn - onnx| <= absolute_tolerance + relative_tolerance * |sklearn|``
    (the ``numpy.isclose`` rule): float32 arithmetic on a regression target
    near 100 is only exact to about 1e-5 relative.
    """
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
        np.sum(difference > absolute_tolerance + relative_tolerance * np.abs(expected))
    )
    return ParityReport(
        rows=len(rows),
        compared_output=compared,
        max_abs_diff=float(difference.max()) if len(rows) else 0.0,
        absolute_tolerance=absolute_tolerance,
        relative_tolerance=relative_tolerance,
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


def verify_artifact(
    onnx_bytes: bytes, expected_sha256: str, expected_signature: dict[str, object]
) -> None:
    """Refuse a model file that is not byte-for-byte what the registry recorded.

    Raises:
        OnnxArtifactMismatch: naming the checksum or signature that differs.
    """
    import hashlib

    actual_sha256 = hashlib.sha256(onnx_bytes).hexdigest()
    if actual_sha256 != expected_sha256:
        raise OnnxArtifactMismatch(
            f"ONNX checksum mismatch: registry says sha256 {expected_sha256}, the file has "
            f"{actual_sha256}; the artifact was changed after registration"
        )
    actual_signature = input_signature(onnx_bytes)
    if actual_signature != expected_signature:
        raise OnnxArtifactMismatch(
            f"ONNX input signature {actual_signature} differs from the registered "
            f"{expected_signature}"
        )
