"""The policy window sets the policy loop's period, so it has a sane range."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from zenml_integrations.onnx.rollout.config import RollbackPolicy, RolloutConfig


@pytest.mark.parametrize("window", [1e-9, 0.5, 0, -1, float("nan"), float("inf"), 86_401])
def test_given_a_window_outside_one_second_to_a_day_then_validation_names_field_and_value(
    window: float,
) -> None:
    with pytest.raises(
        ValidationError, match="window_seconds must be between 1 and 86400"
    ) as raised:
        RolloutConfig.model_validate({"policy": {"window_seconds": window}})
    assert f"got {window!r}" in str(raised.value)


def test_given_a_window_of_one_second_or_more_then_it_is_kept() -> None:
    assert RollbackPolicy(window_seconds=1).window_seconds == 1.0
    assert RollbackPolicy().window_seconds == 30.0
