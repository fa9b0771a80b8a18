"""One exception tree for the stack recipes: callers catch RecipeError, or one case of it."""

from __future__ import annotations

import pytest
from zenml_integrations.stack_recipes import RecipeError, RecipeNotReady, StackConflict


@pytest.mark.parametrize("error", [RecipeNotReady, StackConflict])
def test_given_a_specific_recipe_error_then_it_is_a_recipe_error(error: type[Exception]) -> None:
    assert issubclass(error, RecipeError)
    assert not issubclass(error, RuntimeError)
