"""Where training takes its features from: the table, or the feature store."""

from __future__ import annotations

import pydantic
import pytest
from zenml_integrations.training.features import TrainingFeatures


def test_given_feast_without_a_service_when_configured_then_refused_naming_the_field() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"needs features\.feature_service"):
        TrainingFeatures(source="feast")
    assert TrainingFeatures().source == "table"
    assert not TrainingFeatures().from_feature_store
    assert TrainingFeatures(source="feast", feature_service="churn_model").from_feature_store
