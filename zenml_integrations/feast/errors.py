"""Errors of the Feast plugin."""


class FeastStoreError(Exception):
    """Base class for everything the Feast plugin refuses to do."""


class FeastApplyError(FeastStoreError):
    """A feature definition could not be registered; the message names it and why."""


class FeastRetrievalError(FeastStoreError):
    """A retrieval request cannot be answered as asked (bad entity frame, unknown feature)."""


class MissingPointInTimeError(FeastRetrievalError):
    """Entity rows have no feature values at or before their timestamp."""


class FeatureStoreNotInStack(FeastStoreError):
    """The active ZenML stack has no ``feast_store`` feature store."""


class FeatureSourceError(FeastStoreError):
    """The table cannot be written where the feature views read it."""


class NeverMaterializedError(FeastStoreError):
    """An incremental load was asked for a view that was never loaded in full."""


class FeatureServiceNotFound(FeastRetrievalError):
    """The feature service named in the configuration is not in the registry."""
