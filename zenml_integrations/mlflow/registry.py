"""Register ONNX models in the MLflow registry and guard the ``champion`` alias.

Every registered version carries its lineage as tags (ZenML run, data hashes,
ONNX checksum, input signature) and a semantic version: the major number
moves when the input signature changes (clients must change), the minor
number otherwise. ``challenger`` always names the newest version;
``champion`` moves only when the quality gate says the challenger is better.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from zenml_integrations.mlflow.errors import (
    ModelVersionIncomplete,
    ModelVersionNotFound,
    RegistryError,
)
from zenml_integrations.rollout_outcome import RolloutOutcome
from zenml_integrations.training.metrics import HIGHER_IS_BETTER

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CHAMPION = "champion"
CHALLENGER = "challenger"
SEMVER_TAG = "semver"
SIGNATURE_TAG = "input_signature"
ONNX_SHA256_TAG = "onnx_sha256"
METRIC_TAG_PREFIX = "metric."


class RegisteredVersion(BaseModel):
    """A model version as the pipeline registered it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    semver: str
    run_id: str
    onnx_sha256: str
    artifact_location: str
    newly_registered: bool


class PromotionDecision(BaseModel):
    """The quality gate's verdict and the numbers behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    promoted: bool
    reason: str
    metric: str
    challenger_value: float
    champion_version: str | None
    champion_value: float | None
    champion_after: str


class QualityGate(BaseModel):
    """When a challenger may replace the champion."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = "roc_auc"
    min_improvement: float = Field(
        default=0.0, description="Required gain over the champion in the metric's better direction."
    )


def next_semver(previous: ModelVersion | None, signature: dict[str, Any]) -> str:
    """The semantic version the next registration gets."""
    if previous is None or SEMVER_TAG not in previous.tags:
        return "1.0.0"
    major, minor, _patch = (int(part) for part in previous.tags[SEMVER_TAG].split("."))
    if previous.tags.get(SIGNATURE_TAG) != _signature_text(signature):
        return f"{major + 1}.0.0"
    return f"{major}.{minor + 1}.0"


def register_onnx_model(
    client: MlflowClient,
    *,
    model_name: str,
    onnx_bytes: bytes,
    signature: dict[str, Any],
    metrics: dict[str, float],
    lineage: dict[str, str],
    extra_artifacts: Path | None = None,
) -> RegisteredVersion:
    """Log the ONNX model to the active MLflow run, register it, point ``challenger`` at it.

    Registering the same ONNX bytes twice (a cached or repeated run) returns
    the existing version instead of adding a duplicate. Files in
    ``extra_artifacts`` (e.g. a Triton layout) are stored beside ``model.onnx``.

    Raises:
        RegistryError: when no MLflow run is active (the step has no experiment tracker).
    """
    import mlflow
    import onnx
    from mlflow.exceptions import MlflowException
    from zenml_integrations.lineage import bytes_sha256

    try:
        client.get_registered_model(model_name)
    except MlflowException:
        client.create_registered_model(
            model_name, description="ONNX models registered by the training pipeline."
        )
    run = mlflow.active_run()
    if run is None:
        raise RegistryError(
            "no active MLflow run: give the registering step an experiment tracker "
            "(experiment_tracker=True) or start a run first"
        )
    onnx_sha256 = bytes_sha256(onnx_bytes)
    existing = client.search_model_versions(
        f"name = '{_quoted(model_name)}' and tags.{ONNX_SHA256_TAG} = '{onnx_sha256}'"
    )
    if existing:
        same = min(existing, key=lambda version: int(version.version))
        client.set_registered_model_alias(model_name, CHALLENGER, same.version)
        return _registered(client, same, newly_registered=False)
    previous = latest_version(client, model_name)
    semver = next_semver(previous, signature)
    model_info = mlflow.onnx.log_model(
        onnx.load_from_string(onnx_bytes),
        name="onnx_model",
        save_as_external_data=False,
        pip_requirements=[f"onnx=={onnx.__version__}", f"onnxruntime=={_onnxruntime_version()}"],
    )
    if extra_artifacts is not None:
        client.log_model_artifacts(model_info.model_id, str(extra_artifacts))
    tags = {
        SEMVER_TAG: semver,
        SIGNATURE_TAG: _signature_text(signature),
        ONNX_SHA256_TAG: onnx_sha256,
        **{f"{METRIC_TAG_PREFIX}{name}": repr(value) for name, value in metrics.items()},
        **lineage,
    }
    version = client.create_model_version(
        name=model_name,
        source=model_info.model_uri,
        run_id=run.info.run_id,
        tags=tags,
        description=f"semver {semver}",
    )
    client.set_registered_model_alias(model_name, CHALLENGER, version.version)
    return _registered(client, version, newly_registered=True)


def _artifact_location(client: MlflowClient, version: ModelVersion) -> str:
    # Versions created from a ``models:/<model_id>`` source carry the id only there.
    model_id = version.model_id or (version.source or "").removeprefix("models:/")
    return str(client.get_logged_model(model_id).artifact_location)


def _registered(
    client: MlflowClient, version: ModelVersion, newly_registered: bool
) -> RegisteredVersion:
    location = _artifact_location(client, version)
    return RegisteredVersion(
        name=version.name,
        version=str(version.version),
        semver=version.tags.get(SEMVER_TAG, ""),
        run_id=version.run_id or "",
        onnx_sha256=version.tags.get(ONNX_SHA256_TAG, ""),
        artifact_location=location,
        newly_registered=newly_registered,
    )


def _onnxruntime_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


def latest_version(client: MlflowClient, model_name: str) -> ModelVersion | None:
    """The highest-numbered version of a registered model, if any."""
    versions = client.search_model_versions(f"name = '{_quoted(model_name)}'")
    return max(versions, key=lambda version: int(version.version), default=None)


def version_by_alias(client: MlflowClient, model_name: str, alias: str) -> ModelVersion | None:
    """The version an alias points at, or None when the alias is not set."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None


def promote_if_better(
    client: MlflowClient,
    *,
    model_name: str,
    challenger_version: str,
    metric: str,
    min_improvement: float,
) -> PromotionDecision:
    """Move ``champion`` to the challenger only when it beats the champion.

    The challenger wins when its metric improves on the champion's by more
    than ``min_improvement`` in the metric's better direction. The verdict is
    written on the challenger as tags, so the registry says why.

    Raises:
        RegistryError: when either version lacks the metric being compared.
    """
    if metric not in HIGHER_IS_BETTER:
        raise RegistryError(
            f"unknown gate metric {metric!r}; choose one of {sorted(HIGHER_IS_BETTER)}"
        )
    challenger = client.get_model_version(model_name, challenger_version)
    challenger_value = _metric_of(challenger, metric)
    champion = version_by_alias(client, model_name, CHAMPION)
    if champion is None:
        promoted, champion_value = True, None
        reason = f"no champion yet: version {challenger_version} becomes champion"
    elif champion.version == challenger.version:
        promoted, champion_value = False, challenger_value
        reason = f"version {challenger_version} already is the champion"
    else:
        champion_value = _metric_of(champion, metric)
        gain = challenger_value - champion_value
        if not HIGHER_IS_BETTER[metric]:
            gain = -gain
        promoted = gain > min_improvement
        comparison = (
            f"{metric} {challenger_value:.5f} (challenger v{challenger_version}) vs "
            f"{champion_value:.5f} (champion v{champion.version}), gain {gain:+.5f}, "
            f"required > {min_improvement:+.5f}"
        )
        reason = ("promoted: " if promoted else "champion kept: ") + comparison
    if promoted:
        client.set_registered_model_alias(model_name, CHAMPION, challenger_version)
    client.set_model_version_tag(
        model_name, challenger_version, "quality_gate", "promoted" if promoted else "rejected"
    )
    client.set_model_version_tag(model_name, challenger_version, "quality_gate_reason", reason)
    return PromotionDecision(
        promoted=promoted,
        reason=reason,
        metric=metric,
        challenger_value=challenger_value,
        champion_version=None if champion is None else str(champion.version),
        champion_value=champion_value,
        champion_after=challenger_version if promoted else str(champion.version),  # type: ignore[union-attr]
    )


def record_rollout(
    client: MlflowClient,
    *,
    model_name: str,
    version: str,
    outcome: RolloutOutcome,
    serving_version: str,
    reason: str = "",
) -> None:
    """Write a rollout's outcome on the version; after a rollback, point ``champion`` back.

    The server rolls back on live traffic, so the registry learns of it
    afterwards. Leaving ``champion`` on a version that traffic rejected would
    make the next deployment run roll the same bad model out again.
    """
    client.set_model_version_tag(model_name, version, "rollout_outcome", outcome.value)
    if outcome is not RolloutOutcome.ROLLED_BACK:
        return
    client.set_model_version_tag(model_name, version, "rollback_reason", reason or "rolled back")
    champion = version_by_alias(client, model_name, CHAMPION)
    if champion is not None and str(champion.version) == version and serving_version != version:
        client.set_registered_model_alias(model_name, CHAMPION, serving_version)


def refuse_promotion(
    client: MlflowClient, model_name: str, version: str, gate: str, reason: str
) -> None:
    """Record on the version which gate refused it and why; ``champion`` is not touched."""
    client.set_model_version_tag(model_name, version, "quality_gate", "rejected")
    client.set_model_version_tag(model_name, version, "quality_gate_reason", f"{gate}: {reason}")


def _metric_of(version: ModelVersion, metric: str) -> float:
    tag = f"{METRIC_TAG_PREFIX}{metric}"
    if tag not in version.tags:
        raise ModelVersionIncomplete(
            f"model version {version.name} v{version.version} has no {tag!r} tag; "
            "it was not registered by this pipeline or used another metric set"
        )
    return float(version.tags[tag])


def _signature_text(signature: dict[str, Any]) -> str:
    return json.dumps(signature, sort_keys=True, separators=(",", ":"))


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


@dataclass(frozen=True)
class RegisteredModelFile:
    """An ONNX file fetched from the registry, with what the registry says about it."""

    name: str
    version: str
    semver: str
    onnx_bytes: bytes
    onnx_sha256: str
    input_signature: dict[str, Any]


def fetch_onnx_model(client: MlflowClient, model_name: str, alias: str) -> RegisteredModelFile:
    """Download the ONNX file of the version an alias points at.

    Raises:
        RegistryError: when the alias is unset or the version lacks the tags the
            training pipeline writes.
    """
    import mlflow

    version = version_by_alias(client, model_name, alias)
    if version is None:
        raise ModelVersionNotFound(
            f"registered model {model_name!r} has no {alias!r} alias: run the training pipeline"
        )
    missing = [tag for tag in (ONNX_SHA256_TAG, SIGNATURE_TAG) if tag not in version.tags]
    if missing:
        raise ModelVersionIncomplete(
            f"{model_name} v{version.version} lacks the tags {missing}: it was not registered "
            "by the training pipeline; train a new version"
        )
    location = _artifact_location(client, version)
    with tempfile.TemporaryDirectory() as scratch:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{location}/model.onnx", dst_path=scratch
        )
        onnx_bytes = Path(local).read_bytes()
    return RegisteredModelFile(
        name=model_name,
        version=str(version.version),
        semver=version.tags.get(SEMVER_TAG, ""),
        onnx_bytes=onnx_bytes,
        onnx_sha256=version.tags[ONNX_SHA256_TAG],
        input_signature=json.loads(version.tags[SIGNATURE_TAG]),
    )


def fetch_version_artifact(
    client: MlflowClient, model_name: str, version: str, relative_path: str, destination: Path
) -> Path:
    """Download one file stored with a model version (e.g. its training reference).

    Raises:
        RegistryError: when the version does not exist or has no such file.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        model_version = client.get_model_version(model_name, version)
        location = _artifact_location(client, model_version)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{location}/{relative_path}", dst_path=str(destination)
        )
    except (MlflowException, OSError) as error:
        raise ModelVersionNotFound(
            f"{model_name} v{version} has no {relative_path!r} in the registry: {error}"
        ) from None
    return Path(local)


def registered_signature(client: MlflowClient, model_name: str, version: str) -> dict[str, Any]:
    """The input signature the registry recorded for a version."""
    model_version = client.get_model_version(model_name, version)
    if SIGNATURE_TAG not in model_version.tags:
        raise ModelVersionIncomplete(
            f"{model_name} v{version} lacks the tag {SIGNATURE_TAG!r}: it was not registered "
            "by the training pipeline; train a new version"
        )
    signature: dict[str, Any] = json.loads(model_version.tags[SIGNATURE_TAG])
    return signature


def read_version_parquet(
    client: MlflowClient, model_name: str, version: str, relative_path: str
) -> pd.DataFrame:
    """A parquet file stored with a model version (e.g. its training reference), as a table.

    Raises:
        ModelVersionNotFound: when the version does not exist or has no such file.
    """
    import pandas as pd

    with tempfile.TemporaryDirectory() as scratch:
        path = fetch_version_artifact(client, model_name, version, relative_path, Path(scratch))
        return pd.read_parquet(path)
