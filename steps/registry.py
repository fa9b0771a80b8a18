"""Register the ONNX model in MLflow and run the quality gate on ``champion``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import pandas as pd
from mlflow import MlflowClient
from zenml import get_step_context, log_metadata, step
from zenml_integrations.evidently.errors import DriftGateFailed
from zenml_integrations.evidently.gate import DriftVerdict
from zenml_integrations.mlflow.reference import write_reference
from zenml_integrations.mlflow.registry import (
    PromotionDecision,
    QualityGate,
    RegisteredVersion,
    promote_if_better,
    refuse_promotion,
    register_onnx_model,
)
from zenml_integrations.onnx.export.conversion import input_signature
from zenml_integrations.onnx.export.parity import ParityReport
from zenml_integrations.onnx.export.triton import write_triton_repository
from zenml_integrations.training.dataset import DatasetSchema, feature_kinds
from zenml_integrations.training.preprocessing import model_frame


@step(experiment_tracker=True, enable_cache=False)
def register_model(
    onnx_model: bytes,
    metrics: dict[str, float],
    data_lineage: dict[str, str],
    onnx_parity: ParityReport,
    train_data: pd.DataFrame,
    feature_columns: list[str],
    dataset: DatasetSchema,
    model_name: str,
) -> Annotated[RegisteredVersion, "registered_version"]:
    """Register the parity-checked ONNX model with lineage tags; alias it ``challenger``.

    Stored with it: the Triton layout, and a sample of its training inputs
    that monitoring compares served traffic against.
    """
    context = get_step_context()
    lineage = {
        **data_lineage,
        "zenml_pipeline": context.pipeline.name,
        "zenml_run_id": str(context.pipeline_run.id),
        "zenml_run_name": context.pipeline_run.name,
        "onnx_parity_max_abs_diff": str(onnx_parity.max_abs_diff),
    }
    kinds = feature_kinds(train_data, feature_columns, dataset)
    with tempfile.TemporaryDirectory(prefix="model-files-") as scratch:
        extra_root = Path(scratch)
        write_triton_repository(onnx_model, extra_root / "triton", model_name)
        write_reference(model_frame(train_data, kinds), feature_columns, extra_root)
        registered = register_onnx_model(
            MlflowClient(), model_name=model_name, onnx_bytes=onnx_model,
            signature=input_signature(onnx_model), metrics=metrics, lineage=lineage,
            extra_artifacts=extra_root,
        )  # fmt: skip
    log_metadata({"registered_version": registered.model_dump()})
    return registered


@step(experiment_tracker=True, enable_cache=False)
def quality_gate(
    registered_version: RegisteredVersion,
    model_name: str,
    gate: QualityGate,
    drift_verdict: DriftVerdict | None = None,
) -> Annotated[PromotionDecision, "promotion_decision"]:
    """Move ``champion`` to the challenger only if its data held and it beats the champion.

    Raises:
        DriftGateFailed: when the drift gate failed; ``champion`` stays where it is.
    """
    client = MlflowClient()
    if drift_verdict is not None and not drift_verdict.passed:
        refuse_promotion(client, model_name, registered_version.version, "drift_gate",
                         drift_verdict.reason)  # fmt: skip
        raise DriftGateFailed(drift_verdict)
    decision = promote_if_better(
        client,
        model_name=model_name,
        challenger_version=registered_version.version,
        metric=gate.metric,
        min_improvement=gate.min_improvement,
    )
    log_metadata({"promotion_decision": decision.model_dump()})
    return decision
