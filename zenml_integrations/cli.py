"""``mlops-kit``: what the ZenML CLI does not do well for us.

* ``mlops-kit flavors register`` registers this package's flavors, idempotently.
* ``mlops-kit stack apply RECIPE [--dry-run]`` makes the active ZenML store
  match a stack recipe without prompts, then activates the stack.
"""

from __future__ import annotations

from pathlib import Path

import click
from zenml_integrations import __version__


@click.group()
@click.version_option(__version__, prog_name="mlops-kit")
def main() -> None:
    """ZenML MLOps kit: flavors and stack recipes."""


@main.group()
def flavors() -> None:
    """Manage this package's stack component flavors."""


@flavors.command("register")
def register_command() -> None:
    """Register every flavor of this package in the active ZenML store."""
    from zenml.client import Client
    from zenml_integrations.catalog import FLAVOR_SOURCES
    from zenml_integrations.stack_recipes.flavors import register_flavors

    changes = register_flavors(Client(), FLAVOR_SOURCES)
    for change in changes:
        click.echo(f"{change.action:>9}  {change.component_type}/{change.name}  ({change.source})")
    click.echo(f"{len(changes)} flavor(s) checked.")


@main.group()
def stack() -> None:
    """Set up ZenML stacks from recipes."""


@stack.command("apply")
@click.argument("recipe_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
def apply_command(recipe_path: Path, dry_run: bool) -> None:
    """Create or update the stack described by RECIPE_PATH and activate it."""
    from zenml.client import Client
    from zenml_integrations.stack_recipes.plan import apply_plan, plan_stack
    from zenml_integrations.stack_recipes.recipe import RecipeError, load_recipe

    try:
        # A dry run checks a recipe for a cluster or cloud before its
        # variables are set; a real apply refuses every unset one by name.
        recipe = load_recipe(recipe_path, allow_unresolved=dry_run)
        client = Client()
        plan = plan_stack(recipe, client)
    except RecipeError as error:
        raise click.ClickException(str(error)) from error
    click.echo(plan.render())
    if dry_run:
        click.echo("dry run: nothing changed.")
        return
    if plan.is_noop:
        click.echo(f"stack {recipe.name!r} is up to date and active.")
        return
    try:
        apply_plan(plan, client)
    except RecipeError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"stack {recipe.name!r} applied and active.")


if __name__ == "__main__":
    main()
