from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from zenml.enums import StackComponentType
from zenml_integrations.evidently.flavor import EVIDENTLY_GATE_FLAVOR, EvidentlyDriftGateConfig
from zenml_integrations.evidently.validator import ColumnRoles, EvidentlyDriftGate


def make_gate(**policy: object) -> EvidentlyDriftGate:
    now = datetime.now(UTC)
    return EvidentlyDriftGate(
        name="drift_gate",
        id=uuid.uuid4(),
        config=EvidentlyDriftGateConfig.model_validate(policy),
        flavor=EVIDENTLY_GATE_FLAVOR,
        type=StackComponentType.DATA_VALIDATOR,
        user=None,
        created=now,
        updated=now,
    )


def customers(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"C-{index}" for index in range(800)],
            "income": rng.normal(50, 10, 800),
            "autopay": rng.random(800) < 0.4,
            "region": rng.choice(["north", "south", None], 800),
            "signed_up": pd.date_range("2024-01-01", periods=800, freq="h"),
        }
    )


def test_given_a_bool_feature_when_roles_come_from_the_frame_then_tested_as_categorical() -> None:
    """The bool column that used to fail closed with 'has dtype bool' on both sides."""
    reference, current = customers(seed=1), customers(seed=2)
    roles = ColumnRoles.from_frame(
        reference, ["income", "autopay", "region", "signed_up"], id_columns=["id"]
    )

    verdict = make_gate().data_validation(current, reference, roles=roles)

    assert roles.numerical_columns == ["income"]
    assert roles.categorical_columns == ["autopay", "region"]
    assert roles.datetime_columns == ["signed_up"]
    assert verdict.schema_errors == []
    assert verdict.passed, verdict.reason
    assert [column.column for column in verdict.columns] == ["income", "autopay", "region"]


def test_given_the_stacks_report_sample_rows_when_configured_then_the_gate_config_carries_it() -> (
    None
):
    roles = ColumnRoles(numerical_columns=["income"], datetime_columns=["signed_up"])

    default = make_gate().gate_config(roles)
    tuned = make_gate(report_sample_rows=1_500, sample_rows=None).gate_config(roles)

    assert default.report_sample_rows == 5_000
    assert (tuned.report_sample_rows, tuned.sample_rows) == (1_500, None)
    assert tuned.untested_columns == ["signed_up"]
