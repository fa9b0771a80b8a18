"""Convert a fitted scikit-learn pipeline to ONNX; check a file against its registry record.

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
from typing import TYPE_CHECKING, Any

from zenml_integrations.onnx.errors import OnnxArtifactMismatch, OnnxConversionError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

ONNX_OPSET = 17
ONNX_ML_OPSET = 3
INPUT_NAME = "input"
FEATURE_NAMES_KEY = "feature_names"
FEATURE_KINDS_KEY = "feature_kinds"
PROBLEM_TYPE_KEY = "problem_type"


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
