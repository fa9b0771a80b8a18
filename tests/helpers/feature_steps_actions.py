"""Call the feature steps' functions against the active stack's feast_store, in one process.

    python tests/helpers/feature_steps_actions.py ROWS   (from a Feast-enabled project)

Prints one JSON line: what each call returned, or the error it raised.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from zenml_integrations.training.dataset import DatasetSchema
from zenml_integrations.training.features import TrainingFeatures
from zenml_integrations.training.sample_data import generate_sample

from steps.features import (
    apply_feature_definitions,
    export_feature_source,
    historical_features,
    materialize_features,
)

SCHEMA = DatasetSchema(
    problem_type="binary_classification",
    target_column="churned",
    entity_column="customer_id",
    timestamp_column="event_timestamp",
)
FROM_FEAST = TrainingFeatures(source="feast", feature_service="churn_model")
SOURCE = "data/customer_features.parquet"


def error_of(call: Callable[[], Any]) -> str:
    try:
        call()
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return "no error"


def main(rows: int) -> dict[str, Any]:
    table = generate_sample(rows)
    features = [c for c in table.columns if c not in ("customer_id", "event_timestamp", "churned")]
    report: dict[str, Any] = {
        "retrieve_before_publishing": error_of(
            lambda: historical_features.entrypoint(table, SCHEMA, FROM_FEAST)
        ),
        "export_outside_repo": error_of(
            lambda: export_feature_source.entrypoint(table, SCHEMA, "../outside.parquet")
        ),
    }
    exported = export_feature_source.entrypoint(table, SCHEMA, SOURCE)
    report["exported"] = exported.model_dump(mode="json")
    views = apply_feature_definitions.entrypoint(exported)
    report["views"] = views
    report["incremental_first"] = error_of(
        lambda: materialize_features.entrypoint(views, "incremental")
    )
    report["full"] = materialize_features.entrypoint(views, "full").mode
    report["incremental_after_full"] = materialize_features.entrypoint(views, "incremental").mode
    # Shuffled rows: the training frame must follow the table's order, not Feast's.
    shuffled = table.sample(frac=1.0, random_state=7)
    frame = historical_features.entrypoint(shuffled, SCHEMA, FROM_FEAST)
    report["columns"] = list(frame.columns)
    report["same_index"] = bool(frame.index.equals(shuffled.index))
    report["same_target"] = bool(frame["churned"].equals(shuffled["churned"]))
    report["same_timestamps"] = bool(frame["event_timestamp"].equals(shuffled["event_timestamp"]))
    difference = (frame[features] - shuffled[features]).abs().to_numpy()
    report["max_abs_difference"] = float(difference.max())
    report["features"] = features
    return report


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
