"""Declarative, idempotent ZenML stack set-up from YAML recipes."""

from zenml_integrations.stack_recipes.recipe import (
    ComponentSpec,
    RecipeError,
    StackRecipe,
    load_recipe,
)

__all__ = ["ComponentSpec", "RecipeError", "StackRecipe", "load_recipe"]
