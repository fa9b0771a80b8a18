"""Build a scikit-learn pipeline from a model specification.

Families are named in the user's words and map to estimators that skl2onnx
converts faithfully; in front of the estimator sits the preprocessing the
features' kinds need (imputation, category encoding, scaling for linear
models), so the converted model takes the table's values as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.tabular import FeatureKind
from zenml_integrations.training.errors import ModelSpecError
from zenml_integrations.training.preprocessing import Preprocessing, build_preprocessor
from zenml_integrations.training.sample_data import ProblemType

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

ModelFamily = Literal["linear", "random_forest", "gradient_boosting"]

_ESTIMATORS: dict[tuple[str, str], tuple[str, str]] = {
    ("binary_classification", "linear"): ("sklearn.linear_model", "LogisticRegression"),
    ("regression", "linear"): ("sklearn.linear_model", "Ridge"),
    ("binary_classification", "random_forest"): ("sklearn.ensemble", "RandomForestClassifier"),
    ("regression", "random_forest"): ("sklearn.ensemble", "RandomForestRegressor"),
    # The Hist* variants would train faster, but skl2onnx 1.20 fails to
    # convert them (boolean node attributes); the classic ones convert exactly.
    ("binary_classification", "gradient_boosting"): (
        "sklearn.ensemble",
        "GradientBoostingClassifier",
    ),
    ("regression", "gradient_boosting"): ("sklearn.ensemble", "GradientBoostingRegressor"),
}

_DEFAULTS: dict[str, dict[str, Any]] = {
    "linear": {"max_iter": 1000},
    "random_forest": {"n_estimators": 100, "max_depth": 12, "min_samples_leaf": 5, "n_jobs": -1},
    "gradient_boosting": {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.1},
}


class ModelSpec(BaseModel):
    """Which model to train and with which hyper-parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: ModelFamily = "random_forest"
    params: dict[str, Any] = Field(default_factory=dict)
    random_state: int = 42
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)


def estimator_name(spec: ModelSpec, problem_type: ProblemType) -> str:
    """The scikit-learn class name the spec resolves to."""
    return _ESTIMATORS[(problem_type, spec.family)][1]


def build_estimator(
    spec: ModelSpec, problem_type: ProblemType, kinds: dict[str, FeatureKind] | None = None
) -> Pipeline:
    """An unfitted scikit-learn pipeline for the spec and features of these kinds.

    Without ``kinds`` every feature is numeric (one float matrix in).

    Raises:
        ModelSpecError: when a hyper-parameter does not exist for the estimator.
    """
    import importlib

    from sklearn.pipeline import Pipeline

    module_name, class_name = _ESTIMATORS[(problem_type, spec.family)]
    estimator_class = getattr(importlib.import_module(module_name), class_name)
    params = dict(_DEFAULTS[spec.family])
    if spec.family == "linear" and problem_type == "regression":
        params.pop("max_iter")
    params.update(spec.params)
    valid = estimator_class().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ModelSpecError(
            f"{class_name} has no hyper-parameter(s) {unknown}; valid ones: {sorted(valid)}"
        )
    if "random_state" in valid:
        params.setdefault("random_state", spec.random_state)
    scale = (
        spec.preprocessing.scale
        if spec.preprocessing.scale is not None
        else (spec.family == "linear")
    )
    steps = build_preprocessor(kinds or {}, spec.preprocessing, scale)
    return Pipeline([*steps, ("model", estimator_class(**params))])
