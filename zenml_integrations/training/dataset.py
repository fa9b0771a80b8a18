"""Load the training table and decide which columns are features.

The configuration names the target, entity and timestamp columns; every
other numeric column is a feature unless listed explicitly. Anything that
would make training silently wrong (a missing column, a non-numeric feature,
an empty table) is refused with a message that says what to change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from zenml_integrations.training.errors import DatasetError
from zenml_integrations.training.sample_data import ProblemType, generate_sample


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
    feature_columns: list[str] | None = Field(
        default=None, description="Explicit features; default: every other numeric column."
    )
    exclude_columns: list[str] = Field(default_factory=list)


def load_table(source: DataSource, problem_type: ProblemType) -> pd.DataFrame:
    """Read the configured table (or generate the sample)."""
    if source.kind == "sample":
        return generate_sample(source.sample_rows, problem_type, source.sample_seed)
    assert source.path is not None  # guaranteed by DataSource validation
    path = Path(source.path).expanduser()
    if not path.is_file():
        raise DatasetError(f"data file {path} does not exist; fix 'path' in the data source")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DatasetError(f"cannot read data file {path}: {error}") from error


def check_table(frame: pd.DataFrame, schema: DatasetSchema) -> list[str]:
    """Check the table against its schema and return the feature column names.

    Raises:
        DatasetError: naming each missing or unusable column.
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
            "Set the column names in configs/training.yaml (data.schema)."
        )
    if schema.feature_columns is not None:
        absent = sorted(set(schema.feature_columns) - set(frame.columns))
        if absent:
            raise DatasetError(f"feature columns {absent} are not in the data")
        features = list(schema.feature_columns)
        overlapping = sorted(set(features) & set(role_columns.values()))
        if overlapping:
            raise DatasetError(
                f"feature_columns {overlapping} are also the target, entity or timestamp "
                "column; a model must not see them as features"
            )
    else:
        reserved = set(role_columns.values()) | set(schema.exclude_columns)
        features = [str(column) for column in frame.columns if column not in reserved]
    non_numeric = [
        column for column in features if not pd.api.types.is_numeric_dtype(frame[column])
    ]
    if non_numeric:
        raise DatasetError(
            f"feature columns {non_numeric} are not numeric; encode them upstream or list "
            "them under data.schema.exclude_columns"
        )
    if not features:
        raise DatasetError(
            "no feature columns are left after removing target, entity and timestamp"
        )
    target = frame[schema.target_column]
    if target.isna().any():
        raise DatasetError(
            f"target column {schema.target_column!r} has {int(target.isna().sum())} missing values"
        )
    if schema.problem_type == "binary_classification" and target.nunique() != 2:
        raise DatasetError(
            f"binary classification needs exactly 2 target classes in {schema.target_column!r}, "
            f"found {target.nunique()}"
        )
    return features


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
