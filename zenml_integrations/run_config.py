"""Layered ZenML run configurations: one file per pipeline, one per environment.

ZenML takes a single ``config_path``; projects keep what a pipeline does
(``configs/training.yaml``) apart from where and how it runs
(``configs/local.yaml``, ``staging.yaml``, ``production.yaml``). Later files
win, key by key, at every depth.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml


class RunConfigError(ValueError):
    """A configuration file is missing or not a YAML mapping."""


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """A new mapping: ``override`` laid over ``base``, merging nested mappings."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_layers(*paths: Path) -> dict[str, Any]:
    """Read and merge the files in order.

    Raises:
        RunConfigError: naming the file that is missing or malformed.
    """
    merged: dict[str, Any] = {}
    for path in paths:
        if not path.is_file():
            raise RunConfigError(f"configuration file {path} does not exist")
        try:
            layer = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError) as error:
            raise RunConfigError(f"cannot read {path}: {error}") from error
        except yaml.YAMLError as error:
            raise RunConfigError(f"{path} is not valid YAML: {error}") from error
        if not isinstance(layer, dict):
            raise RunConfigError(f"{path} must hold a mapping at the top level")
        merged = deep_merge(merged, layer)
    return merged


def pipeline_run_config(
    configs_dir: Path, pipeline: str, environment: str, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``<pipeline>.yaml`` + ``<environment>.yaml`` + overrides, as one ZenML run config.

    An environment file applies to every pipeline; its optional ``pipelines``
    mapping holds what applies to one pipeline only (e.g. a stricter
    production gate for ``training``).

    Raises:
        RunConfigError: when a file is missing or malformed.
    """
    base = load_layers(configs_dir / f"{pipeline}.yaml")
    environment_layer = load_layers(configs_dir / f"{environment}.yaml")
    per_pipeline = environment_layer.pop("pipelines", None) or {}
    if not isinstance(per_pipeline, dict):
        raise RunConfigError(f"{environment}.yaml: 'pipelines' must map pipeline names to configs")
    merged = deep_merge(base, environment_layer)
    merged = deep_merge(merged, per_pipeline.get(pipeline) or {})
    return deep_merge(merged, overrides or {})


@contextmanager
def write_run_config(config: dict[str, Any]) -> Iterator[Path]:
    """Write a merged configuration where ZenML's ``config_path`` can read it.

    ZenML reads the file while the run is compiled, so launch the pipeline
    inside the ``with`` block; the file is removed when the block ends, and
    the temporary folder does not fill up with one file per run.
    """
    with tempfile.NamedTemporaryFile(
        "w", suffix=".yaml", prefix="zenml-run-", delete=False, encoding="utf-8"
    ) as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    path = Path(handle.name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
