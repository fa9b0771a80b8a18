"""Great Expectations 1.x data quality gate.

ZenML's own Great Expectations integration targets GX < 1.0; this one uses
the 1.x API (ephemeral context, ``ExpectationSuite``, whole-frame batches).
Heavy imports happen inside functions so importing this package is cheap.
"""

from zenml_integrations.great_expectations.errors import (
    DataQualityError,
    DataQualityGateFailed,
    DataQualitySuiteError,
)
from zenml_integrations.great_expectations.suite import (
    DataQualityResult,
    DataQualitySuite,
    ExpectationOutcome,
    ExpectationSpec,
)

__all__ = [
    "DataQualityError",
    "DataQualityGateFailed",
    "DataQualityResult",
    "DataQualitySuite",
    "DataQualitySuiteError",
    "ExpectationOutcome",
    "ExpectationSpec",
]
