"""Load the training table and decide which columns are features.

The configuration names the target, entity and timestamp columns; every other
column is a feature unless listed explicitly or excluded (ids and free text
are left out). Anything that would make training silently wrong (a missing or
new column, a changed type, an unusable target, an empty table) is refused at
load time with a message that names the column and the key to change.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from zenml_integrations.tabular import FeatureKind
from zenml_integrations.training.columns import (
    ColumnSpec,
    column_changes,
    feature_kind,
    infer_kind,
)
from zenml_integrations.training.errors import DatasetError
from zenml_integrations.training.sample_data import ProblemType, generate_sample

SCHEMA_KEY = "parameters.dataset in configs/training.yaml"
COLUMNS_KEY = "configs/schema.yaml"


class DataSource(BaseModel):
    """Where the training table comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["sample", "file"] = "sample"
    path: str | None = Field(default=None, description="Parquet or CSV file, for kind 'file'.")
    sample_rows: int = Field(default=60_000, ge=100)
    sample_seed: int = 42

    @model_validator(mode="after")
    def _path_matches_kind(self) -> DataSource:
        if self.kind == "file":
            if not self.path:
                raise ValueError("data source kind 'file' needs 'path' (a .parquet or .csv file)")
            if Path(self.path).suffix.lower() not in {".parquet", ".csv"}:
                raise ValueError(f"path {self.path!r} must end in .parquet or .csv")
        return self


class DatasetSchema(BaseModel):
    """Roles of the table's columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    problem_type: ProblemType
    target_column: str
    entity_column: str
    timestamp_column: str
    positive_label: str | int | bool | None = Field(
        default=None,
        description="Binary classification: the target value predicted as 1 (needed for "
        "string labels such as 'yes'/'no').",
    )
    feature_columns: list[str] | None = Field(
        default=None, description="Explicit features; default: every other column but text."
    )
    exclude_columns: list[str] = Field(default_factory=list)
    columns: dict[str, ColumnSpec] | None = Field(
        default=None,
        description="The recorded columns (configs/schema.yaml) every run is checked against.",
    )


def load_table(source: DataSource, problem_type: ProblemType) -> pd.DataFrame:
    """Read the configured table (or generate the sample)."""
    if source.kind == "sample":
        return generate_sample(source.sample_rows, problem_type, source.sample_seed)
    path = Path(str(source.path)).expanduser()
    if not path.is_file():
        raise DatasetError(
            f"data file {path} does not exist; fix 'path' under parameters.source in "
            "configs/training.yaml"
        )
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read data file {path}: {error}") from error


def check_table(frame: pd.DataFrame, schema: DatasetSchema) -> list[str]:
    """Check the table against its schema and return the feature column names.

    Raises:
        DatasetError: naming each missing, new, changed or unusable column and the
            configuration key that decides it.
    """
    if frame.empty:
        raise DatasetError("the training table has no rows")
    role_columns = {
        "target_column": schema.target_column,
        "entity_column": schema.entity_column,
        "timestamp_column": schema.timestamp_column,
    }
    missing = {role: name for role, name in role_columns.items() if name not in frame.columns}
    if missing:
        described = ", ".join(f"{role} {name!r}" for role, name in missing.items())
        raise DatasetError(
            f"the data has no {described}; its columns are {sorted(map(str, frame.columns))}. "
            f"Set the column names in {SCHEMA_KEY}."
        )
    if schema.columns is not None:
        changes = column_changes(frame, schema.columns, set(schema.exclude_columns))
        if changes:
            raise DatasetError(
                f"the data does not match {COLUMNS_KEY}: {'; '.join(changes)}. If the change "
                f"is intended, record the columns again (python run.py schema) or list "
                f"the column under exclude_columns in {SCHEMA_KEY}."
            )
    features = _feature_columns(frame, schema, set(role_columns.values()))
    empty = [column for column in features if frame[column].isna().all()]
    if empty:
        raise DatasetError(
            f"feature columns {empty} hold no values; list them under exclude_columns in "
            f"{SCHEMA_KEY}"
        )
    target_values(frame, schema)
    return features


def _feature_columns(frame: pd.DataFrame, schema: DatasetSchema, roles: set[str]) -> list[str]:
    if schema.feature_columns is not None:
        absent = sorted(set(schema.feature_columns) - set(frame.columns))
        if absent:
            raise DatasetError(
                f"feature columns {absent} are not in the data; fix feature_columns in {SCHEMA_KEY}"
            )
        overlapping = sorted(set(schema.feature_columns) & roles)
        if overlapping:
            raise DatasetError(
                f"feature_columns {overlapping} are also the target, entity or timestamp "
                f"column; a model must not see them as features (fix {SCHEMA_KEY})"
            )
        return list(schema.feature_columns)
    reserved = roles | set(schema.exclude_columns)
    features = [
        str(column)
        for column in frame.columns
        if column not in reserved and _recorded_kind(frame, schema, str(column)) != "text"
    ]
    if not features:
        raise DatasetError(
            "no feature columns are left after removing target, entity, timestamp, excluded "
            f"and text columns; check {SCHEMA_KEY}"
        )
    return features


def _recorded_kind(frame: pd.DataFrame, schema: DatasetSchema, column: str) -> str:
    if schema.columns is not None and column in schema.columns:
        return schema.columns[column].kind
    return infer_kind(frame[column])


def feature_kinds(
    frame: pd.DataFrame, feature_columns: list[str], schema: DatasetSchema
) -> dict[str, FeatureKind]:
    """How each feature is given to the model: its recorded kind, or the one its values show."""
    return {
        column: feature_kind(_recorded_kind(frame, schema, column))  # type: ignore[arg-type]
        for column in feature_columns
    }


def target_values(frame: pd.DataFrame, schema: DatasetSchema) -> pd.Series:
    """The target as the model learns it: 0/1 for binary classification, floats for regression.

    Raises:
        DatasetError: for missing values, a non-numeric regression target, or binary
            labels that are not 0/1 (or booleans) without a configured positive label.
    """
    name = schema.target_column
    target = frame[name]
    absent = int(target.isna().sum())
    if absent:
        raise DatasetError(
            f"target column {name!r} has {absent} missing values in {len(target)} rows; drop "
            "those rows from the data (a model cannot learn from them)"
        )
    if schema.problem_type == "regression":
        if not pd.api.types.is_numeric_dtype(target.dtype) or pd.api.types.is_bool_dtype(target):
            raise DatasetError(
                f"regression needs a numeric target; {name!r} holds {target.dtype} values such "
                f"as {target.head(3).tolist()}. Choose problem_type in {SCHEMA_KEY}."
            )
        return target.astype("float64")
    labels = sorted(target.unique().tolist(), key=str)
    if len(labels) != 2:
        raise DatasetError(
            f"binary classification needs exactly 2 target classes in {name!r}, found "
            f"{len(labels)}: {labels[:10]}"
        )
    if schema.positive_label is not None:
        positive = schema.positive_label
        if positive not in labels:
            raise DatasetError(
                f"positive_label {positive!r} is not a value of target column {name!r}; its "
                f"values are {labels}. Fix positive_label in {SCHEMA_KEY}."
            )
        return (target == positive).astype("int64")
    if set(labels) <= {0, 1}:
        return target.astype("int64")
    raise DatasetError(
        f"target column {name!r} holds the labels {labels}; set positive_label in "
        f"{SCHEMA_KEY} to the one the model should predict as 1"
    )


def split_by_time(
    frame: pd.DataFrame, schema: DatasetSchema, test_fraction: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the most recent rows, as a model is judged on data newer than it saw."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    ordered = frame.sort_values(
        [schema.timestamp_column, schema.entity_column], kind="stable"
    ).reset_index(drop=True)
    cut = round(len(ordered) * (1.0 - test_fraction))
    if cut == 0 or cut == len(ordered):
        raise DatasetError(
            f"{len(ordered)} rows are too few to hold out {test_fraction:.0%} for testing"
        )
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def source_fingerprint(source: DataSource) -> str:
    """What identifies the data a run reads, so a cached run never stands for new data.

    For a file: its size and the SHA-256 of its bytes (a changed file at the same
    path is new data; a touched but unchanged one is not). For the sample: its
    size and seed.

    Raises:
        DatasetError: when the file does not exist.
    """
    if source.kind == "sample":
        return f"sample:{source.sample_rows}:{source.sample_seed}"
    path = Path(str(source.path)).expanduser()
    try:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as error:
        raise DatasetError(
            f"cannot read data file {path}: {error.strerror}; fix 'path' under "
            f"parameters.source in configs/training.yaml"
        ) from None
    return f"file:{path.stat().st_size}:sha256:{digest}"
