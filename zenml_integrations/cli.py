"""``mlops-kit``: what the ZenML CLI does not do well for us.

* ``mlops-kit flavors register`` registers this package's flavors, idempotently.
* ``mlops-kit stack apply RECIPE [--dry-run]`` makes the active ZenML store
  match a stack recipe without prompts, then activates the stack.
* ``mlops-kit server status|promote|rollback|rotate-token MODEL`` operates the
  active stack's ONNX server by hand (the runbooks in a project's docs/).
* ``mlops-kit model versions|set-champion MODEL`` reads and moves the
  registry's ``champion`` alias.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from zenml_integrations import __version__

if TYPE_CHECKING:
    from zenml_integrations.onnx.admin_client import AdminClient
    from zenml_integrations.onnx.operations import ServerHandle


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
    from zenml_integrations.stack_recipes.errors import RecipeError
    from zenml_integrations.stack_recipes.plan import apply_plan, plan_stack
    from zenml_integrations.stack_recipes.recipe import load_recipe

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


@main.group()
def server() -> None:
    """Operate the active stack's ONNX model server by hand."""


@server.command("status")
@click.argument("model_name")
def server_status_command(model_name: str) -> None:
    """Print who serves MODEL_NAME, the rollout in flight, and past rollbacks."""
    handle = _server(model_name)
    state = _admin(handle, lambda admin: admin.state())
    click.echo(f"server: {handle.service.uuid}")
    click.echo(f"endpoint: {handle.base_url}/v2/models/{model_name}/infer")
    click.echo(f"admin token file: {handle.token_file or 'none'}")
    click.echo(f"champion: v{state['champion']}")
    if state["challenger"] is not None:
        click.echo(
            f"challenger: v{state['challenger']} ({state['strategy']}, "
            f"{state['challenger_share']:.0%} of traffic, step {state['step'] + 1} "
            f"of {len(state['steps'])})"
        )
    else:
        click.echo("challenger: none")
    interrupted = state.get("interrupted_rollout")  # older servers do not report it
    if interrupted:
        click.echo(
            f"interrupted rollout: v{interrupted['version']} at step "
            f"{interrupted['step_index'] + 1} ({interrupted['challenger_share']:.0%} of traffic): "
            f"{interrupted['reason']}"
        )
    previous = state["previous_champion"]
    click.echo(f"previous champion (warm): {'v' + previous if previous else 'none'}")
    for rollback in state["rollbacks"]:
        click.echo(
            f"rolled back: v{rollback['version']} ({rollback['metric']}: {rollback['reason']})"
        )


@server.command("promote")
@click.argument("model_name")
def server_promote_command(model_name: str) -> None:
    """Finish the rollout now: the challenger takes all of MODEL_NAME's traffic."""
    state = _admin(_server(model_name), lambda admin: admin.promote())
    click.echo(f"promoted: v{state['champion']} serves; v{state['previous_champion']} stays warm")


@server.command("rollback")
@click.argument("model_name")
@click.option("--reason", required=True, help="Why; kept in the server's rollback log.")
def server_rollback_command(model_name: str, reason: str) -> None:
    """Take the challenger out of traffic, or revert MODEL_NAME's last promotion."""
    state = _admin(_server(model_name), lambda admin: admin.rollback(reason))
    click.echo(f"rolled back: v{state['champion']} serves")


@server.command("rotate-token")
@click.argument("model_name")
def server_rotate_token_command(model_name: str) -> None:
    """Give MODEL_NAME's server a new admin token and restart it (the old token stops working)."""
    from zenml_integrations.onnx.errors import OnnxError
    from zenml_integrations.onnx.operations import rotate_admin_token

    try:
        handle = rotate_admin_token(model_name)
    except OnnxError as error:
        raise click.ClickException(str(error)) from error
    state = _admin(handle, lambda admin: admin.state())
    click.echo(
        f"new admin token in {handle.token_file}; server restarted, v{state['champion']} serves"
    )
    click.echo(f"endpoint: {handle.base_url}/v2/models/{model_name}/infer")


@main.group()
def model() -> None:
    """Read and move the model registry's champion alias."""


@model.command("versions")
@click.argument("model_name")
def model_versions_command(model_name: str) -> None:
    """List MODEL_NAME's registered versions, newest first, with aliases and outcomes."""
    from zenml_integrations.mlflow.champion import active_stack_registry, list_versions
    from zenml_integrations.mlflow.errors import RegistryError

    try:
        versions = list_versions(active_stack_registry(), model_name)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{'VERSION':>7}  {'SEMVER':<8} {'ALIASES':<22} {'QUALITY GATE':<13} ROLLOUT")
    for entry in versions:
        aliases = ",".join(entry.aliases) or "-"
        click.echo(
            f"{entry.version:>7}  {entry.semver:<8} {aliases:<22} "
            f"{entry.quality_gate or '-':<13} {entry.rollout_outcome or '-'}"
        )


@model.command("set-champion")
@click.argument("model_name")
@click.argument("version", callback=lambda _context, _argument, value: _version_label(value))
@click.option("--reason", required=True, help="Why; tagged on the version.")
def model_set_champion_command(model_name: str, version: str, reason: str) -> None:
    """Point MODEL_NAME's champion alias at VERSION (`make deploy` then serves it)."""
    from zenml_integrations.mlflow.champion import active_stack_registry, set_champion
    from zenml_integrations.mlflow.errors import RegistryError

    try:
        previous = set_champion(active_stack_registry(), model_name, version, reason)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"champion: v{version} (was {'v' + previous if previous else 'unset'})")


@model.command("example")
@click.argument("model_name")
@click.option("--rows", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--alias", default="champion", show_default=True)
def model_example_command(model_name: str, rows: int, alias: str) -> None:
    """Print a request body for MODEL_NAME: records from the rows its ALIAS version learned from."""
    import json

    from zenml_integrations.mlflow.champion import active_stack_registry
    from zenml_integrations.mlflow.errors import RegistryError
    from zenml_integrations.mlflow.examples import example_request

    try:
        request = example_request(active_stack_registry(), model_name, alias, rows)
    except RegistryError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(request))


def _version_label(value: str) -> str:
    from zenml_integrations.onnx.server.__main__ import version_label

    return version_label(value)


def _server(model_name: str) -> ServerHandle:
    from zenml_integrations.onnx.operations import ServerNotFound, find_server

    try:
        return find_server(model_name)
    except ServerNotFound as error:
        raise click.ClickException(str(error)) from error


def _admin(
    handle: ServerHandle, request: Callable[[AdminClient], dict[str, Any]]
) -> dict[str, Any]:
    """Run one admin request; a missing token or the server's refusal is the command's error."""
    from zenml_integrations.onnx.errors import OnnxError

    try:
        return request(handle.admin())
    except OnnxError as error:
        raise click.ClickException(str(error)) from error


if __name__ == "__main__":
    main()
