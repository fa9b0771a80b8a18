"""Errors raised while loading data or building and training models."""


class TrainingError(Exception):
    """Base class: the training pipeline cannot go on with this input."""


class DatasetError(TrainingError):
    """The data source is missing, unreadable, or lacks a required column."""


class ModelSpecError(TrainingError):
    """The configured model family or hyper-parameters are not usable."""


class SampleDataError(TrainingError, ValueError):
    """The built-in sample cannot be generated with these arguments."""
