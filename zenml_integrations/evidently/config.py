"""Which columns the drift gate checks, with which Evidently method, and when it fails.

Importing this module never imports Evidently, so flavors and step signatures
can use the config cheaply.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ColumnType = Literal["numerical", "categorical"]


class ColumnDriftTest(BaseModel):
    """The drift test for one column; a field left as None falls back to the type default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str | None = Field(
        default=None,
        description="Evidently drift method, e.g. 'ks', 'wasserstein', 'psi', 'jensenshannon', "
        "'chisquare'; None = Evidently's default for the column type and size",
    )
    threshold: float | None = Field(
        default=None, ge=0, description="None = Evidently's default for the method"
    )


class DriftGateConfig(BaseModel):
    """The declared schema of the frames and how much drift the gate tolerates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    numerical_columns: list[str] = Field(default_factory=list)
    categorical_columns: list[str] = Field(default_factory=list)
    id_columns: list[str] = Field(
        default_factory=list, description="Allowed in the frames; never checked, never reported"
    )
    timestamp_column: str | None = Field(
        default=None, description="Allowed in the frames; never checked, never reported"
    )
    datetime_columns: list[str] = Field(
        default_factory=list,
        description="Date and time features: allowed in the frames, never checked (held-out rows "
        "are the newest, so their times always differ from the training rows')",
    )
    columns: dict[str, ColumnDriftTest] = Field(
        default_factory=dict, description="Per-column overrides of method and threshold"
    )
    numerical_method: str | None = None
    numerical_threshold: float | None = Field(default=None, ge=0)
    categorical_method: str | None = None
    categorical_threshold: float | None = Field(default=None, ge=0)
    max_drift_share: float = Field(
        default=0.3, ge=0, le=1, description="Fail when drifted / checked columns exceeds this"
    )
    sample_rows: int | None = Field(
        default=100_000,
        gt=0,
        description="Sample both frames down to this many rows before testing; None = all rows",
    )
    report_sample_rows: int = Field(
        default=5_000,
        gt=0,
        description="Rows drawn from each frame for the HTML report; the verdict uses sample_rows",
    )
    random_state: int = 0

    @model_validator(mode="after")
    def _columns_are_consistent(self) -> DriftGateConfig:
        features = self.feature_columns
        problems = []
        if not features:
            problems.append("declare at least one numerical or categorical column")
        untested = self.untested_columns
        repeated = [
            name
            for declared in (features, untested)
            for name, count in Counter(declared).items()
            if count > 1
        ]
        if repeated:
            problems.append(f"columns declared more than once: {', '.join(map(repr, repeated))}")
        overlap = [name for name in untested if name in features]
        if overlap:
            problems.append(
                f"id/timestamp columns also declared as features: {', '.join(map(repr, overlap))}"
            )
        unknown = [name for name in self.columns if name not in features]
        if unknown:
            problems.append(
                f"'columns' overrides columns that are not declared as numerical or categorical: "
                f"{', '.join(map(repr, unknown))}"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def feature_columns(self) -> list[str]:
        """The checked columns in config order: numerical first, then categorical."""
        return [*self.numerical_columns, *self.categorical_columns]

    @property
    def untested_columns(self) -> list[str]:
        """Columns the frames may carry that are never checked: ids, dates and the timestamp."""
        return [
            *self.id_columns,
            *self.datetime_columns,
            *([self.timestamp_column] if self.timestamp_column else []),
        ]

    def column_type(self, column: str) -> ColumnType:
        """Whether a declared column is tested as numerical or categorical."""
        return "numerical" if column in self.numerical_columns else "categorical"

    def test_for(self, column: str) -> ColumnDriftTest:
        """The column's method and threshold: its override, else its type's default."""
        override = self.columns.get(column, ColumnDriftTest())
        if self.column_type(column) == "numerical":
            method, threshold = self.numerical_method, self.numerical_threshold
        else:
            method, threshold = self.categorical_method, self.categorical_threshold
        return ColumnDriftTest(
            method=override.method if override.method is not None else method,
            threshold=override.threshold if override.threshold is not None else threshold,
        )
