"""Errors of the MLflow registry plugin."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class: the registry refused an operation or holds something unexpected."""


class RegistryNotInStack(RegistryError):
    """The active ZenML stack has no MLflow experiment tracker, hence no registry."""


class ModelVersionNotFound(RegistryError):
    """The model, version, alias or a file stored with a version does not exist."""


class ModelVersionIncomplete(RegistryError):
    """A version lacks the tags the training pipeline writes (metrics, checksum, signature)."""
