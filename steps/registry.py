"""Register the ONNX model in MLflow and run the quality gate on ``champion``."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from mlflow import MlflowClient
from pydantic import BaseModel, ConfigDict, Field
from zenml import get_step_context, log_metadata, step
from zenml_integrations.mlflow.registry import promote_if_better, register_onnx_model
from zenml_integrations.onnx.convert import input_signature
from zenml_integrations.onnx.triton import write_triton_repository


class QualityGate(BaseModel):
    """When a challenger may replace the champion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = "roc_auc"
    min_improvement: float = Field(
        default=0.0, description="Required gain over the champion in the metric's better direction."
    )


@step(experiment_tracker=True, enable_cache=False)
def register_model(
    onnx_model: bytes,
    metrics: dict[str, float],
    data_lineage: dict[str, str],
    onnx_parity: dict[str, Any],
    model_name: str,
) -> Annotated[dict[str, Any], "registered_version"]:
    """Register the parity-checked ONNX model with lineage tags; alias it ``challenger``."""
    context = get_step_context()
    triton_root = Path(tempfile.mkdtemp(prefix="triton-"))
    write_triton_repository(onnx_model, triton_root / "triton", model_name)
    registered = register_onnx_model(
        MlflowClient(),
        model_name=model_name,
        onnx_bytes=onnx_model,
        signature=input_signature(onnx_model),
        metrics=metrics,
        lineage={
            **data_lineage,
            "zenml_pipeline": context.pipeline.name,
            "zenml_run_id": str(context.pipeline_run.id),
            "zenml_run_name": context.pipeline_run.name,
            "onnx_parity_max_abs_diff": str(onnx_parity["max_abs_diff"]),
        },
        extra_artifacts=triton_root,
    )
    shutil.rmtree(triton_root, ignore_errors=True)
    log_metadata({"registered_version": asdict(registered)})
    return asdict(registered)


@step(experiment_tracker=True, enable_cache=False)
def quality_gate(
    registered_version: dict[str, Any], model_name: str, gate: QualityGate
) -> Annotated[dict[str, Any], "promotion_decision"]:
    """Move ``champion`` to the challenger only if it beats the current champion."""
    decision = promote_if_better(
        MlflowClient(),
        model_name=model_name,
        challenger_version=registered_version["version"],
        metric=gate.metric,
        min_improvement=gate.min_improvement,
    )
    log_metadata({"promotion_decision": asdict(decision)})
    return asdict(decision)
