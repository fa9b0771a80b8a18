"""Declarative, idempotent ZenML stack set-up from YAML recipes."""

from zenml_integrations.stack_recipes.errors import RecipeError, RecipeNotReady, StackConflict
from zenml_integrations.stack_recipes.recipe import ComponentSpec, StackRecipe, load_recipe

__all__ = [
    "ComponentSpec",
    "RecipeError",
    "RecipeNotReady",
    "StackConflict",
    "StackRecipe",
    "load_recipe",
]
