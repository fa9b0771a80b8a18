"""Load, check and split the training table."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from zenml import log_metadata, step
from zenml_integrations.lineage import frame_sha256
from zenml_integrations.training.dataset import (
    DatasetSchema,
    DataSource,
    check_table,
    load_table,
    split_by_time,
)


@step
def load_data(
    source: DataSource, dataset: DatasetSchema, fingerprint: str
) -> Annotated[pd.DataFrame, "raw_data"]:
    """Read the configured table and refuse it if its columns differ from the recorded ones.

    ``fingerprint`` (``source_fingerprint``, taken when the run is submitted) is in
    the cache key: a changed file at the same path is read again, an unchanged one not.
    """
    frame = load_table(source, dataset.problem_type)
    check_table(frame, dataset)
    log_metadata({"data_fingerprint": fingerprint, "rows": len(frame)})
    return frame


@step
def split_data(
    raw_data: pd.DataFrame, dataset: DatasetSchema, test_fraction: float = 0.2
) -> tuple[
    Annotated[pd.DataFrame, "train_data"],
    Annotated[pd.DataFrame, "test_data"],
    Annotated[list[str], "feature_columns"],
    Annotated[dict[str, str], "data_lineage"],
]:
    """Hold out the newest rows and record content hashes of every frame."""
    features = check_table(raw_data, dataset)
    train, test = split_by_time(raw_data, dataset, test_fraction)
    lineage = {
        "data_sha256.raw": frame_sha256(raw_data),
        "data_sha256.train": frame_sha256(train),
        "data_sha256.test": frame_sha256(test),
        "data_rows.train": str(len(train)),
        "data_rows.test": str(len(test)),
    }
    return train, test, features, lineage
