"""Errors of the monitoring plugin."""

from __future__ import annotations


class MonitoringError(Exception):
    """Base class for everything the monitoring plugin refuses or cannot do."""


class NotEnoughTraffic(MonitoringError):
    """Too few rows were served in the window to judge drift; not a fault of the data."""


class InferenceLogsNotFound(MonitoringError):
    """No inference log folder is known for the model: no server, or one without logging."""


class InferenceLogMismatch(MonitoringError, ValueError):
    """Logged rows do not match the model version's input signature."""


class MonitoringConfigError(MonitoringError, ValueError):
    """A monitoring setting is out of range; the message names it."""
