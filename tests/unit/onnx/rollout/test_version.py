"""The one rule for version labels: what passes, what is refused, and how the refusal reads."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from zenml_integrations.onnx.errors import OnnxError
from zenml_integrations.onnx.rollout.version import (
    InvalidVersionLabel,
    VersionLabel,
    validate_version_label,
)


class Labelled(BaseModel):
    version: VersionLabel


@pytest.mark.parametrize("label", ["1", "27", "v2", "2024.06.1-rc1", "a_b", "x" * 63])
def test_given_a_valid_label_then_it_passes_unchanged(label: str) -> None:
    assert validate_version_label(label) == label
    assert Labelled(version=label).version == label


@pytest.mark.parametrize(
    "label",
    ["", "v2\r\nX-Injected: yes", "v2\n", "v\x002", "v 2", "-2", "2.", "x" * 64, "v/2", "é"],
)
def test_given_a_label_breaking_the_rule_then_it_is_refused_naming_value_and_rule(
    label: str,
) -> None:
    with pytest.raises(InvalidVersionLabel) as refused:
        validate_version_label(label)
    message = str(refused.value)
    assert repr(label)[:40] in message
    assert "letters, digits, '.', '_' or '-'" in message
    assert "\n" not in message
    assert isinstance(refused.value, OnnxError)


def test_given_a_model_field_then_a_bad_label_is_a_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"version\n.*version label 'v2\\r\\nX'"):
        Labelled(version="v2\r\nX")


def test_given_a_huge_label_then_the_message_stays_short() -> None:
    with pytest.raises(InvalidVersionLabel) as refused:
        validate_version_label("v" * 100_000)
    assert len(str(refused.value)) < 300
