"""The training reference logged with each model version, read back for drift checks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REFERENCE_FILE = "reference.parquet"


def write_reference(
    train: pd.DataFrame, feature_columns: list[str], directory: Path, max_rows: int = 50_000
) -> Path:
    """Save a deterministic sample of the training features next to the model.

    Monitoring compares served inputs with what this version learned from, so
    the sample holds exactly the model's input columns, in its input order.
    """
    sample = train[feature_columns]
    if len(sample) > max_rows:
        sample = sample.sample(n=max_rows, random_state=0).sort_index()
    path = directory / REFERENCE_FILE
    directory.mkdir(parents=True, exist_ok=True)
    sample.reset_index(drop=True).to_parquet(path, index=False)
    return path
