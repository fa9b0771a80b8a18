"""Training: data → quality gate → train → evaluate → ONNX parity → registry → champion gate."""

from __future__ import annotations

from zenml import pipeline
from zenml_integrations.great_expectations.suite import DataQualitySuite
from zenml_integrations.mlflow.registry import QualityGate
from zenml_integrations.monitoring.health_hooks import report_run_failure, report_run_success
from zenml_integrations.onnx.export.parity import ParityTolerance
from zenml_integrations.training.dataset import DatasetSchema, DataSource, source_fingerprint
from zenml_integrations.training.features import TrainingFeatures
from zenml_integrations.training.models import ModelSpec

from steps.data import load_data, split_data
from steps.data_quality import data_quality_gate
from steps.drift import drift_gate
from steps.onnx_export import export_onnx
from steps.registry import quality_gate, register_model
from steps.training import evaluate_model, train_model

DEFAULT_PARITY = ParityTolerance()
DEFAULT_GATE = QualityGate()


@pipeline(on_success=report_run_success, on_failure=report_run_failure)
def training_pipeline(
    source: DataSource,
    dataset: DatasetSchema,
    model: ModelSpec,
    model_name: str,
    data_quality: DataQualitySuite | None = None,
    test_fraction: float = 0.2,
    parity: ParityTolerance = DEFAULT_PARITY,
    gate: QualityGate = DEFAULT_GATE,
    check_drift: bool = True,
    features: TrainingFeatures | None = None,
) -> None:
    """Train a model and promote it only through every gate.

    The run stops, and nothing is registered, when the data fails its suite or
    the ONNX model does not reproduce scikit-learn. When ``features`` names the
    feature store, the table supplies entity, timestamp and target, and the
    store the features each row had at its timestamp. ``champion`` moves only
    when the newest rows (the held-out split) have not drifted from the rows
    the model learned from, and the quality gate finds the new version better.
    """
    raw_data = load_data(source=source, dataset=dataset, fingerprint=source_fingerprint(source))
    if features is not None and features.from_feature_store:
        # Imported here: projects generated without a feature store have no steps/features.py.
        from steps.features import historical_features

        raw_data = historical_features(raw_data=raw_data, dataset=dataset, features=features)
    after = []
    if data_quality is not None:
        after.append(data_quality_gate(raw_data=raw_data, suite=data_quality))
    train_data, test_data, feature_columns, data_lineage = split_data(
        raw_data=raw_data, dataset=dataset, test_fraction=test_fraction, after=after
    )
    sklearn_model = train_model(
        train_data=train_data, feature_columns=feature_columns, dataset=dataset, model=model
    )
    metrics = evaluate_model(
        sklearn_model=sklearn_model,
        test_data=test_data,
        feature_columns=feature_columns,
        dataset=dataset,
    )
    onnx_model, onnx_parity = export_onnx(
        sklearn_model=sklearn_model,
        test_data=test_data,
        feature_columns=feature_columns,
        dataset=dataset,
        tolerance=parity,
    )
    drift_verdict = None
    if check_drift:
        drift_verdict, _ = drift_gate(
            reference=train_data,
            current=test_data,
            feature_columns=feature_columns,
            id_columns=[dataset.entity_column],
            timestamp_column=dataset.timestamp_column,
        )
    registered_version = register_model(
        onnx_model=onnx_model,
        metrics=metrics,
        data_lineage=data_lineage,
        onnx_parity=onnx_parity,
        train_data=train_data,
        feature_columns=feature_columns,
        dataset=dataset,
        model_name=model_name,
    )
    quality_gate(
        registered_version=registered_version,
        model_name=model_name,
        gate=gate,
        drift_verdict=drift_verdict,
    )
