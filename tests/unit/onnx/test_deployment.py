"""serve_version's input: a model version file refuses a label the server could not serve."""

from __future__ import annotations

import pytest
from zenml_integrations.onnx.deployment import ModelVersionFile
from zenml_integrations.onnx.rollout.version import InvalidVersionLabel


def test_given_a_registry_version_with_a_newline_then_the_version_file_is_refused() -> None:
    with pytest.raises(InvalidVersionLabel, match=r"version label '7\\r\\nX: y' is not allowed"):
        ModelVersionFile("churn", "7\r\nX: y", b"onnx", "a" * 64)


def test_given_a_registry_version_number_then_the_version_file_is_built() -> None:
    assert ModelVersionFile("churn", "7", b"onnx", "a" * 64).version == "7"
