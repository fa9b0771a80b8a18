"""The suite as a project writes it in YAML, and the gate's typed verdict."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DataQualitySuiteError(ValueError):
    """The suite itself is wrong: an unknown expectation or bad arguments."""


class DataQualityGateFailed(RuntimeError):
    """The data broke the suite; the pipeline must stop before training."""

    def __init__(self, result: DataQualityResult) -> None:
        self.result = result
        failed = "; ".join(outcome.summary() for outcome in result.outcomes if not outcome.success)
        super().__init__(
            f"data quality gate {result.suite_name!r} failed "
            f"{result.failed_count}/{len(result.outcomes)} expectations: {failed}"
        )


class ExpectationSpec(BaseModel):
    """One expectation: its GX type name and its keyword arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="GX expectation name, e.g. expect_column_values_to_not_be_null")
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _looks_like_expectation(cls, value: str) -> str:
        if not value.startswith("expect_"):
            raise ValueError(f"{value!r} is not a GX expectation name (they start with 'expect_')")
        return value


class DataQualitySuite(BaseModel):
    """A named list of expectations, kept in the project's configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "training_data"
    expectations: list[ExpectationSpec] = Field(min_length=1)


class ExpectationOutcome(BaseModel):
    """How one expectation fared on the data."""

    model_config = ConfigDict(frozen=True)

    type: str
    arguments: dict[str, Any]
    success: bool
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    observed_value: Any = None

    def summary(self) -> str:
        """One line: the expectation, its column and what was seen."""
        column = self.arguments.get("column")
        target = f" on {column!r}" if column else ""
        seen = []
        if self.unexpected_count:
            seen.append(f"{self.unexpected_count} unexpected ({self.unexpected_percent:.2f}%)")
        if self.observed_value is not None:
            seen.append(f"observed {self.observed_value!r}")
        return f"{self.type}{target}" + (f": {', '.join(seen)}" if seen else "")


class DataQualityResult(BaseModel):
    """The gate's verdict over a whole suite."""

    model_config = ConfigDict(frozen=True)

    suite_name: str
    success: bool
    row_count: int
    outcomes: list[ExpectationOutcome]

    @property
    def failed_count(self) -> int:
        """Number of expectations the data did not meet."""
        return sum(not outcome.success for outcome in self.outcomes)
