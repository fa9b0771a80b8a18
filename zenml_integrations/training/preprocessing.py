"""The preprocessing that travels with the model: imputation, encoding and scaling.

It is part of the fitted scikit-learn pipeline, so it is converted to ONNX
with the model and the server applies exactly what training learned (medians,
category levels, scales). A table of numbers (and booleans) keeps the single
``[rows, features]`` float input; a table with categories or dates gives the
model one input per feature, typed by its kind (strings stay strings).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.tabular import FeatureKind, encode_values, is_string_kind


class Preprocessing(BaseModel):
    """How missing values, categories and scales are handled before the estimator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numeric_imputation: Literal["median", "mean"] = "median"
    min_category_count: int = Field(
        default=20, ge=1, description="Levels seen fewer times are pooled as one rare level."
    )
    max_categories: int | None = Field(
        default=50, ge=2, description="Most levels kept per feature (the rest pooled)."
    )
    scale: bool | None = Field(
        default=None, description="Standardize numeric features; default: for linear models."
    )


def is_tabular(kinds: dict[str, FeatureKind]) -> bool:
    """Whether the model needs one typed input per feature (else one float matrix)."""
    return any(kind not in ("numeric", "boolean") for kind in kinds.values())


def model_frame(frame: pd.DataFrame, kinds: dict[str, FeatureKind]) -> pd.DataFrame:
    """The features as the model receives them: float32 numbers, strings for categories.

    The server turns request values into the same arrays with the same rules
    (``zenml_integrations.tabular``); training, evaluation and the parity gate
    all see this frame.
    """
    columns: dict[str, Any] = {}
    for name, kind in kinds.items():
        column = frame[name]
        if kind in ("numeric", "boolean") and column.dtype.kind in "biuf":
            values: Any = column.to_numpy(dtype=np.float32, na_value=np.nan)
        else:
            values = encode_values(kind, column.astype(object).where(column.notna(), None).tolist())
            values = values.ravel()
        columns[name] = values
    return pd.DataFrame(columns, index=frame.index)


def build_preprocessor(
    kinds: dict[str, FeatureKind], config: Preprocessing, scale: bool
) -> list[tuple[str, Any]]:
    """The pipeline steps in front of the estimator for features of these kinds."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numbers: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy=config.numeric_imputation))]
    if scale:
        numbers.append(("scale", StandardScaler()))
    if not is_tabular(kinds):
        return numbers
    numeric = [name for name, kind in kinds.items() if not is_string_kind(kind)]
    categorical = [name for name, kind in kinds.items() if is_string_kind(kind)]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(numbers), numeric))
    if categorical:
        # Unseen levels encode as all zeros (the converter has no "infrequent" bucket
        # for them); levels rarer than min_category_count share one column.
        encoder = OneHotEncoder(
            handle_unknown="ignore",
            min_frequency=config.min_category_count,
            max_categories=config.max_categories,
            sparse_output=False,
        )
        transformers.append(("categorical", encoder, categorical))
    return [("prepare", ColumnTransformer(transformers))]
