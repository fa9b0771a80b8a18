"""The ``evidently_gate`` data validator flavor: configuration only, cheap to import."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field
from zenml.data_validators.base_data_validator import (
    BaseDataValidatorConfig,
    BaseDataValidatorFlavor,
)
from zenml_integrations.evidently.config import ColumnDriftTest
from zenml_integrations.flavor_docs import flavor_page_url

if TYPE_CHECKING:
    from zenml_integrations.evidently.validator import EvidentlyDriftGate

EVIDENTLY_GATE_FLAVOR = "evidently_gate"


class EvidentlyDriftGateConfig(BaseDataValidatorConfig):
    """The stack's drift policy; which columns exist comes from each pipeline's data.

    A platform team sets methods, thresholds and the tolerated share of
    drifted columns once per stack; projects only declare their columns.
    """

    numerical_method: str | None = Field(
        default=None, description="Evidently drift method for numerical columns (None: default)."
    )
    numerical_threshold: float | None = Field(
        default=None, description="Threshold of numerical_method (None: the method's default)."
    )
    categorical_method: str | None = Field(
        default=None, description="Evidently drift method for categorical columns."
    )
    categorical_threshold: float | None = Field(
        default=None, description="Threshold of categorical_method (None: the method's default)."
    )
    columns: dict[str, ColumnDriftTest] = Field(
        default_factory=dict, description="Per-column method and threshold overrides."
    )
    max_drift_share: float = Field(
        default=0.3, ge=0, le=1, description="The gate fails above this share of drifted columns."
    )
    sample_rows: int | None = Field(
        default=100_000, ge=1, description="Rows sampled from each frame before testing."
    )
    report_sample_rows: int = Field(
        default=5_000,
        ge=1,
        description="Rows drawn from each frame for the HTML report (the verdict uses "
        "sample_rows): the report's cost grows with rows, its reading does not.",
    )
    random_state: int = Field(
        default=0, description="Seed of the row samples, so a rerun tests the same rows."
    )


class EvidentlyDriftGateFlavor(BaseDataValidatorFlavor):
    """Block promotion when data drifts, deciding on Evidently's own test results."""

    @property
    def name(self) -> str:
        """The flavor name used in stack recipes."""
        return EVIDENTLY_GATE_FLAVOR

    @property
    def config_class(self) -> type[EvidentlyDriftGateConfig]:
        """The configuration class."""
        return EvidentlyDriftGateConfig

    @property
    def implementation_class(self) -> type[EvidentlyDriftGate]:
        """The validator, imported only when a stack uses it."""
        from zenml_integrations.evidently.validator import EvidentlyDriftGate

        return EvidentlyDriftGate

    @property
    def docs_url(self) -> str | None:
        """This flavor's page under the distribution's Documentation URL."""
        return flavor_page_url(self.name)
