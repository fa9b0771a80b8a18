"""Where the training pipeline takes feature values from: the table, or a feature store.

A config type, importable without any feature store library: the training
pipeline of a project generated without Feast validates ``parameters.features``
with it and never imports a feature store step.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator


class TrainingFeatures(BaseModel):
    """Where the training pipeline takes feature values from.

    ``table``: the training table's own columns. ``feast``: the feature
    service's features at each row's timestamp, from the stack's feature store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["table", "feast"] = "table"
    feature_service: str | None = None

    @model_validator(mode="after")
    def _service_for_feast(self) -> TrainingFeatures:
        if self.source == "feast" and not self.feature_service:
            raise ValueError(
                "features.source 'feast' needs features.feature_service: the name of the "
                "FeatureService in feature_repo/ that lists the model's features"
            )
        return self

    @property
    def from_feature_store(self) -> bool:
        """Whether training reads point-in-time features from the stack's feature store."""
        return self.source == "feast"
