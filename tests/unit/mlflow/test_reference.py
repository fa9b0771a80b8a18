"""The drift reference written at training time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from zenml_integrations.mlflow.reference import REFERENCE_FILE, write_reference


def test_given_a_big_training_frame_then_the_reference_is_a_sample_of_its_inputs(
    tmp_path: Path,
) -> None:
    train = pd.DataFrame({"a": np.arange(1000.0), "b": np.ones(1000), "target": np.zeros(1000)})
    path = write_reference(train, ["b", "a"], tmp_path, max_rows=100)
    reference = pd.read_parquet(path)
    assert path.name == REFERENCE_FILE
    assert list(reference.columns) == ["b", "a"]
    assert len(reference) == 100
    assert reference["a"].is_unique
