"""Errors of the stack recipes plugin."""

from __future__ import annotations


class RecipeError(ValueError):
    """Base class: a stack recipe is unreadable, invalid, or cannot be applied."""


class RecipeNotReady(RecipeError):
    """The recipe is valid but its environment is not: unset variables, missing secrets."""


class StackConflict(RecipeError):
    """The ZenML store holds a component of the same name that the recipe cannot take over."""
