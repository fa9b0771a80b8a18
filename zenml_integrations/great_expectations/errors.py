"""Errors of the Great Expectations data quality plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zenml_integrations.great_expectations.suite import DataQualityResult


class DataQualityError(Exception):
    """Base class for everything the data quality plugin refuses or cannot do."""


class DataQualitySuiteError(DataQualityError, ValueError):
    """The suite itself is wrong: an unknown expectation or bad arguments."""


class DataQualityGateFailed(DataQualityError):
    """The data broke the suite; the pipeline must stop before training."""

    def __init__(self, result: DataQualityResult, suite_location: str | None = None) -> None:
        self.result = result
        failed = "; ".join(outcome.summary() for outcome in result.outcomes if not outcome.success)
        where = f" ({suite_location})" if suite_location else ""
        super().__init__(
            f"data quality gate {result.suite_name!r} failed "
            f"{result.failed_count}/{len(result.outcomes)} expectations: {failed}"
            f"{'' if failed.endswith('.') else '.'} Fix the data, or the expectation in the suite"
            f"{where}"
        )
