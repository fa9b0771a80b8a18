"""The registry's typed results and the quality gate's settings, as steps store and read them."""

from __future__ import annotations

import pydantic
import pytest
from zenml_integrations.mlflow.errors import (
    ModelVersionIncomplete,
    ModelVersionNotFound,
    RegistryError,
    RegistryNotInStack,
)
from zenml_integrations.mlflow.registry import PromotionDecision, QualityGate, RegisteredVersion


def test_given_a_registered_version_when_stored_as_json_then_it_comes_back_equal() -> None:
    version = RegisteredVersion(
        name="churn", version="3", semver="1.2.0", run_id="r", onnx_sha256="ab",
        artifact_location="file:///models/m-1", newly_registered=True,
    )  # fmt: skip
    decision = PromotionDecision(
        promoted=False, reason="champion kept", metric="roc_auc", challenger_value=0.8,
        champion_version="2", champion_value=0.9, champion_after="2",
    )  # fmt: skip

    assert RegisteredVersion.model_validate_json(version.model_dump_json()) == version
    assert PromotionDecision.model_validate_json(decision.model_dump_json()) == decision


def test_given_an_unknown_gate_field_when_configured_then_refused_naming_it() -> None:
    with pytest.raises(pydantic.ValidationError, match="min_improvment"):
        QualityGate.model_validate({"metric": "roc_auc", "min_improvment": 0.01})
    assert QualityGate().metric == "roc_auc"


SPECIFIC_ERRORS = [RegistryNotInStack, ModelVersionNotFound, ModelVersionIncomplete]


@pytest.mark.parametrize("error", SPECIFIC_ERRORS)
def test_given_a_specific_registry_error_then_callers_catching_registry_error_see_it(
    error: type[Exception],
) -> None:
    assert issubclass(error, RegistryError)
    assert not issubclass(error, RuntimeError)
