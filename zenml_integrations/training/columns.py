"""What kind of values each column holds, inferred once and checked on every run.

The first run of a project on its own table records each column's kind
(numeric, boolean, categorical, datetime, or free ``text`` such as ids),
missing rate and number of distinct values in ``configs/schema.yaml``. The
user reviews that file; every later run refuses data whose columns appeared,
vanished or changed kind, before anything is trained on it.
"""

from __future__ import annotations

import warnings
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.tabular import FeatureKind

ColumnKind = Literal["numeric", "boolean", "categorical", "datetime", "text"]

# A string column with more distinct values than this share of its rows is an
# id or free text, not a category: one-hot encoding it would learn the rows.
TEXT_DISTINCT_SHARE = 0.5
_DATETIME_PROBE_ROWS = 200


class ColumnSpec(BaseModel):
    """One recorded column: its kind and, for review, how complete and varied it was."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ColumnKind
    missing: float = Field(default=0.0, ge=0.0, le=1.0, description="Share of missing values.")
    distinct: int | None = Field(default=None, ge=0, description="Distinct values (strings).")


def infer_kind(column: pd.Series) -> ColumnKind:
    """The kind of a column's values, from its dtype and, for strings, its values."""
    values = column.dropna()
    if pd.api.types.is_bool_dtype(column.dtype) or (
        len(values) and values.map(type).isin([bool]).all()
    ):
        return "boolean"
    if pd.api.types.is_numeric_dtype(column.dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(column.dtype) or _holds_datetimes(values):
        return "datetime"
    if len(values) and values.nunique() > TEXT_DISTINCT_SHARE * len(values) and len(values) > 20:
        return "text"
    return "categorical"


def _holds_datetimes(values: pd.Series) -> bool:
    probe = values.head(_DATETIME_PROBE_ROWS)
    if not len(probe) or not probe.map(type).isin([str]).all():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(probe, errors="coerce", format="ISO8601", utc=True)
    return bool(parsed.notna().all()) and bool(probe.str.contains(r"\d{4}-\d{2}-\d{2}").all())


def describe_columns(frame: pd.DataFrame) -> dict[str, ColumnSpec]:
    """Every column's recorded description, in the table's order."""
    described: dict[str, ColumnSpec] = {}
    for name in frame.columns:
        column = frame[name]
        kind = infer_kind(column)
        described[str(name)] = ColumnSpec(
            kind=kind,
            missing=round(float(column.isna().mean()), 4) if len(column) else 0.0,
            distinct=int(column.nunique()) if kind in ("categorical", "text") else None,
        )
    return described


def feature_kind(kind: ColumnKind) -> FeatureKind:
    """How a column of this kind is given to the model (ids and text as categories)."""
    return "categorical" if kind == "text" else kind


def _storage(kind: ColumnKind) -> str:
    return "string" if kind in ("categorical", "text") else kind


def column_changes(
    frame: pd.DataFrame, recorded: dict[str, ColumnSpec], excluded: set[str]
) -> list[str]:
    """How the table differs from the recorded columns, one phrase per column.

    Excluded columns may come and go; a column whose strings now look like ids
    (or the reverse) is the same column: only a change of stored type counts.
    """
    changes = [
        f"new column {name!r} ({infer_kind(frame[name])})"
        for name in map(str, frame.columns)
        if name not in recorded and name not in excluded
    ]
    changes += [f"column {name!r} is gone" for name in recorded if name not in frame.columns]
    for name, spec in recorded.items():
        if name in frame.columns:
            kind = infer_kind(frame[name])
            if _storage(kind) != _storage(spec.kind):
                sample = frame[name].dropna().head(3).tolist()
                changes.append(
                    f"column {name!r} was {spec.kind} and now holds {kind} values (e.g. {sample})"
                )
    return changes
