"""The suite as a project writes it in YAML, and the gate's typed verdict."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    unexpected_values: list[Any] = Field(
        default_factory=list, description="A few of the values that broke the expectation"
    )
    observed_value: Any = None
    error: str | None = Field(
        default=None, description="Why GX could not evaluate the expectation on this data"
    )

    def summary(self) -> str:
        """One line: the expectation, its column and what was seen."""
        column = self.arguments.get("column")
        target = f" on {column!r}" if column else ""
        seen = []
        if self.error:
            seen.append(f"could not be evaluated: {self.error}")
        if self.unexpected_count:
            share = (
                f" ({self.unexpected_percent:.2f}%)" if self.unexpected_percent is not None else ""
            )
            seen.append(f"{self.unexpected_count} unexpected{share}")
        values = _distinct_present(self.unexpected_values)
        if values:
            shown = ", ".join(repr(value) for value in values[:_SHOWN_VALUES])
            seen.append(f"e.g. {shown}" + (", ..." if len(values) > _SHOWN_VALUES else ""))
            mismatch = _type_mismatch(values, self.arguments.get("value_set"))
            if mismatch:
                seen.append(mismatch)
        if self.observed_value is not None:
            seen.append(f"observed {self.observed_value!r}")
        return f"{self.type}{target}" + (f": {', '.join(seen)}" if seen else "")


_SHOWN_VALUES = 5


def _distinct_present(values: list[Any]) -> list[Any]:
    """The values in first-seen order, once each, without nulls (a null says nothing more)."""
    distinct: list[Any] = []
    for value in values:
        if _is_null(value):
            continue
        if not any(type(value) is type(kept) and value == kept for kept in distinct):
            distinct.append(value)
    return distinct


def _is_null(value: Any) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):  # pandas' NA and NaT
        return True
    return isinstance(value, float) and math.isnan(value)


def _type_mismatch(values: list[Any], value_set: Any) -> str | None:
    """Say so when the column's values and the expected set are of different kinds.

    The usual cause: a string label (``"yes"``) checked against numbers (``[0, 1]``).
    """
    if not isinstance(value_set, (list, tuple, set)) or not value_set or not values:
        return None
    seen = {_kind(value) for value in values if value is not None}
    expected = {_kind(value) for value in value_set}
    if not seen or seen & expected:
        return None
    return (
        f"the column holds {' and '.join(sorted(seen))} values while value_set holds "
        f"{' and '.join(sorted(expected))} ({list(value_set)!r})"
    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


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
