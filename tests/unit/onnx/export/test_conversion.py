from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from zenml_integrations.onnx.errors import (
    OnnxArtifactMismatch,
    OnnxConversionError,
    OnnxParityError,
)
from zenml_integrations.onnx.export.conversion import (
    convert_to_onnx,
    input_signature,
    verify_artifact,
)
from zenml_integrations.onnx.export.parity import (
    ParityReport,
    check_parity,
    enforce_parity,
    run_onnx,
)
from zenml_integrations.training.models import ModelSpec, build_estimator
from zenml_integrations.training.sample_data import (
    SAMPLE_ENTITY_COLUMN,
    SAMPLE_TARGETS,
    SAMPLE_TIMESTAMP_COLUMN,
    generate_sample,
)

PROBLEM_TYPES = ("binary_classification", "regression")
FAMILIES = ("linear", "random_forest")
CASES = [(problem, family) for problem in PROBLEM_TYPES for family in FAMILIES]


@dataclass(frozen=True)
class Converted:
    model: Pipeline
    onnx_bytes: bytes
    feature_names: list[str]
    train: pd.DataFrame
    target: pd.Series
    test: pd.DataFrame


def spec_for(family: str, random_state: int = 42) -> ModelSpec:
    params = {"n_estimators": 10, "n_jobs": 1} if family == "random_forest" else {}
    return ModelSpec(family=family, params=params, random_state=random_state)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def converted() -> dict[tuple[str, str], Converted]:
    results = {}
    for problem_type in PROBLEM_TYPES:
        frame = generate_sample(3_000, problem_type)  # type: ignore[arg-type]
        target_name = SAMPLE_TARGETS[problem_type]
        features = frame.drop(columns=[target_name, SAMPLE_ENTITY_COLUMN, SAMPLE_TIMESTAMP_COLUMN])
        feature_names = [str(column) for column in features.columns]
        train, test = features.iloc[:2_000], features.iloc[2_000:]
        target = frame[target_name].iloc[:2_000]
        for family in FAMILIES:
            model = build_estimator(spec_for(family), problem_type)  # type: ignore[arg-type]
            model.fit(train, target)
            onnx_bytes = convert_to_onnx(model, feature_names, problem_type)
            results[(problem_type, family)] = Converted(
                model, onnx_bytes, feature_names, train, target, test
            )
    return results


@pytest.mark.parametrize(("problem_type", "family"), CASES)
def test_given_fitted_model_when_converted_then_parity_passes(
    converted: dict[tuple[str, str], Converted], problem_type: str, family: str
) -> None:
    case = converted[(problem_type, family)]

    report = check_parity(case.model, case.onnx_bytes, case.test, problem_type)

    assert report.passed, report
    assert report.rows == len(case.test)
    assert report.values_out_of_tolerance == 0
    assert report.label_mismatches == 0
    expected_output = "probabilities" if problem_type == "binary_classification" else "predictions"
    assert report.compared_output == expected_output
    enforce_parity(report)  # must not raise


@pytest.mark.parametrize(("problem_type", "family"), CASES)
def test_given_converted_model_when_signature_read_then_float32_input_with_features(
    converted: dict[tuple[str, str], Converted], problem_type: str, family: str
) -> None:
    case = converted[(problem_type, family)]

    signature = input_signature(case.onnx_bytes)

    assert signature == {
        "name": "input",
        "dtype": "float32",
        "shape": [-1, len(case.feature_names)],
        "feature_names": case.feature_names,
    }
    assert signature["feature_names"] == list(case.test.columns)


@pytest.mark.parametrize("family", FAMILIES)
def test_given_classifier_when_run_then_label_and_probability_matrix_without_zipmap(
    converted: dict[tuple[str, str], Converted], family: str
) -> None:
    case = converted[("binary_classification", family)]
    rows = case.test.iloc[:25].to_numpy()

    outputs = run_onnx(case.onnx_bytes, rows)

    assert set(outputs) == {"label", "probabilities"}
    probabilities = outputs["probabilities"]
    assert isinstance(probabilities, np.ndarray)
    assert probabilities.ndim == 2
    assert probabilities.shape == (25, 2)
    assert np.issubdtype(probabilities.dtype, np.floating)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert outputs["label"].shape == (25,)
    np.testing.assert_array_equal(outputs["label"], probabilities.argmax(axis=1))


@pytest.mark.parametrize("family", FAMILIES)
def test_given_regressor_when_run_then_predictions_match_sklearn(
    converted: dict[tuple[str, str], Converted], family: str
) -> None:
    case = converted[("regression", family)]
    rows = case.test.iloc[:25].astype(np.float32)

    outputs = run_onnx(case.onnx_bytes, rows.to_numpy())

    np.testing.assert_allclose(
        outputs["variable"].ravel(), case.model.predict(rows), rtol=1e-4, atol=1e-3
    )


@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_given_onnx_of_other_model_when_parity_checked_then_failure_is_detected(
    converted: dict[tuple[str, str], Converted], problem_type: str
) -> None:
    case = converted[(problem_type, "random_forest")]
    other = build_estimator(spec_for("random_forest", random_state=7), problem_type)  # type: ignore[arg-type]
    other.fit(case.train.iloc[500:], case.target.iloc[500:])
    other_bytes = convert_to_onnx(other, case.feature_names, problem_type)

    report = check_parity(case.model, other_bytes, case.test, problem_type)

    assert not report.passed
    assert report.values_out_of_tolerance > 0
    assert report.max_abs_diff > report.absolute_tolerance
    with pytest.raises(OnnxParityError, match="parity") as raised:
        enforce_parity(report)
    assert str(report.values_out_of_tolerance) in str(raised.value)


def test_given_only_label_mismatches_when_enforced_then_parity_error() -> None:
    report = ParityReport(
        rows=10,
        compared_output="probabilities",
        max_abs_diff=0.0,
        absolute_tolerance=1e-4,
        relative_tolerance=1e-5,
        values_out_of_tolerance=0,
        label_mismatches=1,
    )

    assert not report.passed
    with pytest.raises(OnnxParityError, match="1 label mismatches"):
        enforce_parity(report)
    enforce_parity(report.model_copy(update={"label_mismatches": 0}))


def test_given_the_registered_checksum_and_signature_then_the_artifact_is_accepted(
    converted: dict[tuple[str, str], Converted],
) -> None:
    case = converted[("binary_classification", "linear")]
    sha256 = hashlib.sha256(case.onnx_bytes).hexdigest()
    verify_artifact(case.onnx_bytes, sha256, input_signature(case.onnx_bytes))  # must not raise


def test_given_a_changed_file_then_the_checksum_mismatch_is_refused(
    converted: dict[tuple[str, str], Converted],
) -> None:
    case = converted[("binary_classification", "linear")]
    sha256 = hashlib.sha256(case.onnx_bytes).hexdigest()
    with pytest.raises(OnnxArtifactMismatch, match="ONNX checksum mismatch"):
        verify_artifact(case.onnx_bytes + b"x", sha256, input_signature(case.onnx_bytes))


def test_given_a_registered_signature_that_differs_then_the_artifact_is_refused(
    converted: dict[tuple[str, str], Converted],
) -> None:
    """Same bytes, but registered for other features: serving it would misread every row."""
    case = converted[("binary_classification", "linear")]
    sha256 = hashlib.sha256(case.onnx_bytes).hexdigest()
    registered = {**input_signature(case.onnx_bytes), "feature_names": ["a", "b"], "shape": [-1, 2]}
    with pytest.raises(OnnxArtifactMismatch, match=r"input signature .* differs from the regis"):
        verify_artifact(case.onnx_bytes, sha256, registered)


def test_given_hist_gradient_boosting_when_converted_then_refused_naming_upstream_issue() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(80, 3))
    model = Pipeline([("model", HistGradientBoostingClassifier(max_iter=5))])
    model.fit(rows, rows[:, 0] > 0)

    with pytest.raises(OnnxConversionError, match="skl2onnx issue 1227"):
        convert_to_onnx(model, ["a", "b", "c"], "binary_classification")
