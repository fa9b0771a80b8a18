"""``EvidentlyDriftGate``: the stack's drift policy applied to a pipeline's frames."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

import pandas as pd
from pydantic import BaseModel, ConfigDict
from zenml.data_validators import BaseDataValidator
from zenml_integrations.catalog import kit_requirement
from zenml_integrations.evidently.config import DriftGateConfig
from zenml_integrations.evidently.flavor import EvidentlyDriftGateConfig, EvidentlyDriftGateFlavor
from zenml_integrations.evidently.gate import (
    DriftVerdict,
    check_drift,
    drift_report_html,
    feature_kinds,
)


class ColumnRoles(BaseModel):
    """What each column of a pipeline's data is; the policy comes from the stack."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    numerical_columns: list[str] = []
    categorical_columns: list[str] = []
    id_columns: list[str] = []
    timestamp_column: str | None = None
    datetime_columns: list[str] = []

    @classmethod
    def from_frame(
        cls,
        reference: pd.DataFrame,
        feature_columns: list[str],
        id_columns: list[str] | None = None,
        timestamp_column: str | None = None,
    ) -> ColumnRoles:
        """Roles judged from the reference frame's values.

        Numbers are numerical; strings, categories and bools categorical; dates
        and times are kept in the frames but never tested.
        """
        kinds = feature_kinds(reference, feature_columns)
        return cls(
            numerical_columns=kinds.numerical,
            categorical_columns=kinds.categorical,
            datetime_columns=kinds.datetime,
            id_columns=list(id_columns or []),
            timestamp_column=timestamp_column,
        )


class EvidentlyDriftGate(BaseDataValidator):
    """Drift checks with Evidently's current API, deciding on its test status."""

    NAME: ClassVar[str] = "Evidently drift gate"
    FLAVOR: ClassVar[type[EvidentlyDriftGateFlavor]] = EvidentlyDriftGateFlavor

    @property
    def config(self) -> EvidentlyDriftGateConfig:
        """The stack component's drift policy."""
        return cast(EvidentlyDriftGateConfig, self._config)

    @property
    def requirements(self) -> set[str]:
        """Remote images need this package (ZenML only knows its own integrations)."""
        return {*super().requirements, kit_requirement("evidently")}

    def gate_config(self, roles: ColumnRoles) -> DriftGateConfig:
        """The full gate configuration: the pipeline's columns under the stack's policy."""
        policy = self.config
        declared = {*roles.numerical_columns, *roles.categorical_columns}
        return DriftGateConfig(
            **roles.model_dump(),
            columns={name: test for name, test in policy.columns.items() if name in declared},
            numerical_method=policy.numerical_method,
            numerical_threshold=policy.numerical_threshold,
            categorical_method=policy.categorical_method,
            categorical_threshold=policy.categorical_threshold,
            max_drift_share=policy.max_drift_share,
            sample_rows=policy.sample_rows,
            report_sample_rows=policy.report_sample_rows,
            random_state=policy.random_state,
        )

    def data_validation(
        self,
        dataset: Any,
        comparison_dataset: Any | None = None,
        check_list: Sequence[Any] | None = None,
        **kwargs: Any,
    ) -> DriftVerdict:
        """Compare ``dataset`` (current) with ``comparison_dataset`` (reference).

        Keyword ``roles`` (a :class:`ColumnRoles`) says which columns to check.

        Raises:
            ValueError: without a reference frame or column roles.
        """
        roles = kwargs.get("roles")
        if not isinstance(roles, ColumnRoles):
            raise ValueError("data_validation needs roles=ColumnRoles(...) naming the columns")
        if not isinstance(comparison_dataset, pd.DataFrame):
            raise ValueError("a drift check needs the reference frame as comparison_dataset")
        return check_drift(comparison_dataset, dataset, self.gate_config(roles))

    def report_html(
        self, reference: pd.DataFrame, current: pd.DataFrame, roles: ColumnRoles
    ) -> str:
        """Evidently's full drift report for people; computed apart from the verdict."""
        return drift_report_html(reference, current, self.gate_config(roles))
