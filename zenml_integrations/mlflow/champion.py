"""Move the registry's ``champion`` by hand, and list what it can move to.

The quality gate moves ``champion`` after training; an operator restoring an
earlier model, or overruling the gate, moves it here, with the reason kept on
the version. The deployment pipeline then serves whatever ``champion`` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from zenml_integrations.mlflow.errors import (
    ModelVersionIncomplete,
    ModelVersionNotFound,
    RegistryError,
    RegistryNotInStack,
)
from zenml_integrations.mlflow.registry import (
    CHAMPION,
    ONNX_SHA256_TAG,
    SEMVER_TAG,
    version_by_alias,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION_BY_HAND_TAG = "champion_set_by_hand"


@dataclass(frozen=True)
class VersionSummary:
    """One registered version as an operator needs to see it."""

    version: str
    semver: str
    aliases: tuple[str, ...]
    quality_gate: str
    rollout_outcome: str


def list_versions(client: MlflowClient, model_name: str) -> list[VersionSummary]:
    """Every version of ``model_name``, newest first.

    Raises:
        RegistryError: when the model has no versions.
    """
    quoted = model_name.replace("'", "\\'")
    versions = client.search_model_versions(f"name = '{quoted}'")
    if not versions:
        raise ModelVersionNotFound(
            f"no registered versions of {model_name!r}: run the training pipeline (`make train`)"
        )
    # Versions from a search carry no aliases with every store: ask the model.
    aliases = client.get_registered_model(model_name).aliases
    return [
        VersionSummary(
            version=str(version.version),
            semver=version.tags.get(SEMVER_TAG, ""),
            aliases=tuple(
                sorted(alias for alias, of in aliases.items() if str(of) == str(version.version))
            ),
            quality_gate=version.tags.get("quality_gate", ""),
            rollout_outcome=version.tags.get("rollout_outcome", ""),
        )
        for version in sorted(versions, key=lambda version: -int(version.version))
    ]


def set_champion(client: MlflowClient, model_name: str, version: str, reason: str) -> str | None:
    """Point ``champion`` at ``version``; return the version it pointed at before.

    Raises:
        RegistryError: when the version does not exist, was not registered by the
            training pipeline, or was rolled back by the server (the deployment
            pipeline would refuse to roll it out again).
    """
    from mlflow.exceptions import MlflowException

    if not reason.strip():
        raise RegistryError("give a reason: it is kept on the version for the next person")
    try:
        target = client.get_model_version(model_name, version)
    except MlflowException:
        known = ", ".join(summary.version for summary in list_versions(client, model_name))
        raise ModelVersionNotFound(
            f"{model_name} has no version {version!r}; registered versions: {known}"
        ) from None
    if ONNX_SHA256_TAG not in target.tags:
        raise ModelVersionIncomplete(
            f"{model_name} v{version} lacks the {ONNX_SHA256_TAG!r} tag: it was not registered "
            "by the training pipeline and cannot be verified before serving"
        )
    if target.tags.get("rollout_outcome") == "rolled_back":
        raise RegistryError(
            f"{model_name} v{version} was rolled back by the server "
            f"({target.tags.get('rollback_reason', 'no reason recorded')}); the deployment "
            "pipeline will not roll it out again: train a new version instead"
        )
    previous = version_by_alias(client, model_name, CHAMPION)
    client.set_registered_model_alias(model_name, CHAMPION, version)
    client.set_model_version_tag(model_name, version, CHAMPION_BY_HAND_TAG, reason)
    return None if previous is None else str(previous.version)


def active_stack_registry() -> MlflowClient:
    """An MLflow client for the registry of the active ZenML stack's experiment tracker.

    Raises:
        RegistryNotInStack: when the active stack has no MLflow experiment tracker.
    """
    from mlflow import MlflowClient
    from zenml.client import Client
    from zenml.integrations.mlflow.experiment_trackers import MLFlowExperimentTracker

    stack = Client().active_stack
    tracker = stack.experiment_tracker
    if not isinstance(tracker, MLFlowExperimentTracker):
        raise RegistryNotInStack(
            f"the active stack {stack.name!r} has no MLflow experiment tracker, "
            "so it has no model registry: activate the project's stack (`make stack`)"
        )
    tracker.configure_mlflow()
    return MlflowClient()
