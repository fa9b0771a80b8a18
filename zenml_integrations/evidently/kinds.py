"""How the drift gate tests each column: judged from its values, not from configuration."""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field


class FeatureKinds(BaseModel):
    """How the drift gate tests each feature column, judged from its values."""

    model_config = ConfigDict(frozen=True)

    numerical: list[str] = []
    categorical: list[str] = Field(
        default=[], description="Strings, pandas categories, bools and mixed values"
    )
    datetime: list[str] = Field(default=[], description="Dates and times: never tested")


def feature_kinds(frame: pd.DataFrame, columns: list[str]) -> FeatureKinds:
    """Split ``columns`` of ``frame`` into numerical, categorical and datetime, in order.

    Bools are categorical (a drift test on 0/1 as numbers is not meaningful),
    and so is anything that is not plainly numbers or dates; an object column
    holding only numbers (and missing values) is numerical. Columns absent
    from the frame are listed as numerical, so the gate reports them missing.
    """
    kinds: dict[str, list[str]] = {"numerical": [], "categorical": [], "datetime": []}
    for column in columns:
        kinds[column_kind(frame[column]) if column in frame else "numerical"].append(column)
    return FeatureKinds(**kinds)


def column_kind(series: pd.Series) -> str:
    """``numerical``, ``categorical`` or ``datetime``: how the gate treats the column."""
    types = pd.api.types
    dtype = series.dtype
    if types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if types.is_datetime64_any_dtype(dtype) or types.is_timedelta64_dtype(dtype):
        return "datetime"
    if types.is_numeric_dtype(dtype):
        return "numerical"
    if types.is_object_dtype(dtype):
        inferred = types.infer_dtype(series, skipna=True)
        if inferred in _NUMERIC_INFERRED:
            return "numerical"
        if inferred in ("datetime", "datetime64", "date", "timedelta"):
            return "datetime"
    return "categorical"


# pandas.api.types.infer_dtype's names for object columns that hold only numbers.
_NUMERIC_INFERRED = frozenset({"integer", "floating", "mixed-integer-float", "decimal"})
