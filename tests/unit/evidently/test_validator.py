from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from zenml.enums import StackComponentType
from zenml_integrations.evidently.errors import DriftGateError, DriftGateNotInStack, DriftInputError
from zenml_integrations.evidently.flavor import EVIDENTLY_GATE_FLAVOR, EvidentlyDriftGateConfig
from zenml_integrations.evidently.validator import (
    ColumnRoles,
    EvidentlyDriftGate,
    active_drift_gate,
)


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


def test_given_a_target_column_when_model_inputs_checked_then_only_inputs_compared() -> None:
    reference, current = customers(seed=1), customers(seed=2)
    reference["churned"] = np.zeros(len(reference), dtype=int)
    current["churned"] = np.ones(len(current), dtype=int)  # a drifted target is not an input

    verdict, report = make_gate().check_model_inputs(
        reference, current, ["income", "autopay"], id_columns=["id"], timestamp_column="signed_up"
    )

    assert verdict.passed, verdict.reason
    assert [column.column for column in verdict.columns] == ["income", "autopay"]
    assert report.index("<body") < report.index('id="drift-gate-verdict"')
    assert verdict.summary() == {
        "passed": True,
        "reason": verdict.reason,
        "drift_share": 0.0,
        "drifted_columns": [],
    }


def test_given_a_stack_without_the_gate_when_asked_for_it_then_the_error_names_the_recipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = SimpleNamespace(data_validator=None)
    monkeypatch.setattr("zenml.client.Client", lambda: SimpleNamespace(active_stack=stack))

    with pytest.raises(DriftGateNotInStack, match=r"found none\); add it with `mlops-kit stack"):
        active_drift_gate()


def test_given_no_column_roles_when_validated_then_a_drift_input_error() -> None:
    with pytest.raises(DriftInputError, match="needs roles=ColumnRoles") as raised:
        make_gate().data_validation(customers(seed=1), customers(seed=2))
    assert isinstance(raised.value, DriftGateError)
