"""``configs/schema.yaml``: the columns of the user's table, recorded once, checked on every run.

The file is a run-configuration layer (``parameters.dataset.columns``) that the
project's ``run.py`` lays over ``configs/training.yaml``; it is written from the
data on the first training run (or by ``python run.py schema``) for the user to
review and commit.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from zenml_integrations.run_config import deep_merge, load_layers
from zenml_integrations.training.columns import ColumnSpec, describe_columns
from zenml_integrations.training.dataset import DatasetSchema, DataSource, load_table

SCHEMA_FILE = "schema.yaml"

_HEADER = """\
# The columns of the training data, recorded from {origin} ({rows} rows).
# Every training run refuses data whose columns appear, vanish or change kind.
# Review the kinds: numeric | boolean | categorical | datetime | text (ids and
# free text, not used as features). Change a kind here, or list a column under
# parameters.dataset.exclude_columns in configs/training.yaml; record the columns
# again after an intended change with: python run.py schema
"""


def record_columns(configs_dir: Path, parameters: dict[str, Any]) -> str:
    """Describe the configured table's columns in ``<configs_dir>/schema.yaml``.

    Returns:
        One line for the user: what was recorded and what to do with it.
    """
    source = DataSource.model_validate(parameters["source"])
    problem_type = DatasetSchema.model_validate(parameters["dataset"]).problem_type
    frame = load_table(source, problem_type)
    columns = describe_columns(frame)
    origin = source.path if source.kind == "file" else "the bundled sample"
    layer = {
        "parameters": {
            "dataset": {"columns": {name: _plain(spec) for name, spec in columns.items()}}
        }
    }
    path = configs_dir / SCHEMA_FILE
    path.write_text(
        _HEADER.format(origin=origin, rows=len(frame))
        + yaml.safe_dump(layer, sort_keys=False, default_flow_style=None, width=100),
        encoding="utf-8",
    )
    kinds = Counter(spec.kind for spec in columns.values())
    summary = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    return (
        f"Recorded the {len(columns)} columns of {origin} in {path} ({summary}): review "
        "them; later runs refuse data that does not match."
    )


def with_recorded_columns(
    configs_dir: Path, config: dict[str, Any]
) -> tuple[dict[str, Any], str | None]:
    """The training run config with the recorded columns, recording them first if needed.

    Returns:
        The merged config, and the line to show when the columns were just recorded.
    """
    path = configs_dir / SCHEMA_FILE
    note = None if path.is_file() else record_columns(configs_dir, config["parameters"])
    return deep_merge(config, load_layers(path)), note


def _plain(spec: ColumnSpec) -> dict[str, Any]:
    return spec.model_dump(exclude_none=True, exclude_defaults=False)
