"""Errors of the Feast plugin."""


class FeastStoreError(Exception):
    """Base class for everything the Feast plugin refuses to do."""


class FeastApplyError(FeastStoreError):
    """A feature definition could not be registered; the message names it and why."""


class FeastRetrievalError(FeastStoreError):
    """A retrieval request cannot be answered as asked (bad entity frame, unknown feature)."""


class MissingPointInTimeError(FeastRetrievalError):
    """Entity rows have no feature values at or before their timestamp."""
