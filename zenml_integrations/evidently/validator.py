"""``EvidentlyDriftGate``: the stack's drift policy applied to a pipeline's frames.

Steps call :func:`active_drift_gate` and :meth:`EvidentlyDriftGate.check_model_inputs`,
so the choice of columns and the report's layout reach projects with a library upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, cast

import pandas as pd
from pydantic import BaseModel, ConfigDict
from zenml.data_validators import BaseDataValidator
from zenml_integrations.catalog import kit_requirement
from zenml_integrations.evidently.config import DriftGateConfig
from zenml_integrations.evidently.errors import DriftGateNotInStack, DriftInputError
from zenml_integrations.evidently.flavor import EvidentlyDriftGateConfig, EvidentlyDriftGateFlavor
from zenml_integrations.evidently.gate import DriftVerdict, check_drift, drift_report_html
from zenml_integrations.evidently.kinds import feature_kinds
from zenml_integrations.evidently.summary import with_verdict


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
            DriftInputError: without a reference frame or column roles.
        """
        roles = kwargs.get("roles")
        if not isinstance(roles, ColumnRoles):
            raise DriftInputError(
                f"data_validation needs roles=ColumnRoles(...) naming the columns, got "
                f"{type(roles).__name__}"
            )
        if not isinstance(comparison_dataset, pd.DataFrame):
            raise DriftInputError(
                "a drift check needs the reference frame as comparison_dataset, got "
                f"{type(comparison_dataset).__name__}"
            )
        return check_drift(comparison_dataset, dataset, self.gate_config(roles))

    def report_html(
        self, reference: pd.DataFrame, current: pd.DataFrame, roles: ColumnRoles
    ) -> str:
        """Evidently's full drift report for people; computed apart from the verdict."""
        return drift_report_html(reference, current, self.gate_config(roles))

    def check_model_inputs(
        self,
        reference: pd.DataFrame,
        current: pd.DataFrame,
        feature_columns: list[str],
        id_columns: list[str] | None = None,
        timestamp_column: str | None = None,
    ) -> tuple[DriftVerdict, str]:
        """The verdict on the model's inputs, and the full report with the verdict on top.

        Targets and other bookkeeping columns are not model inputs, so only the
        features (plus ids and the timestamp, kept untested) are compared.
        """
        roles = ColumnRoles.from_frame(reference, feature_columns, id_columns, timestamp_column)
        kept = [
            *feature_columns,
            *roles.id_columns,
            *([timestamp_column] if timestamp_column else []),
        ]
        reference = reference[[column for column in kept if column in reference]]
        current = current[[column for column in kept if column in current]]
        verdict = self.data_validation(current, reference, roles=roles)
        return verdict, with_verdict(self.report_html(reference, current, roles), verdict)


def active_drift_gate() -> EvidentlyDriftGate:
    """The active stack's ``evidently_gate`` data validator.

    Raises:
        DriftGateNotInStack: naming what the stack has instead and how to add the gate.
    """
    from zenml.client import Client

    validator = Client().active_stack.data_validator
    if not isinstance(validator, EvidentlyDriftGate):
        found = type(validator).__name__ if validator else "none"
        raise DriftGateNotInStack(
            "the drift gate needs the stack's data validator to be the 'evidently_gate' "
            f"flavor (found {found}); add it with `mlops-kit stack apply stacks/local.yaml`"
        )
    return validator
