"""The stack recipe file format.

A recipe names a stack and, per component type, one component: its name,
flavor and configuration. Unlike ``zenml stack import`` files, a recipe holds
no ZenML-version-specific ids or schemas, so the same file works across ZenML
releases. Credentials never belong in a recipe: reference ZenML secrets
(``{{ my_secret.key }}``) or environment variables (``${VAR}``) instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from zenml_integrations.stack_recipes.errors import RecipeError

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CREDENTIAL_KEYS = re.compile(r"(password|secret|token|access_key|api_key|credentials)", re.I)
# Keys that name a secret kept elsewhere (a ZenML or Kubernetes Secret), not its value.
_SECRET_NAME_KEYS = re.compile(r"(secret_?name|authentication_secret)$", re.I)
_REFERENCE = re.compile(
    r"\{\{\s*[\w.-]+\.[\w.-]+\s*\}\}"  # a ZenML secret: {{ secret_name.key }}
    r"|\$\{[A-Za-z_][A-Za-z0-9_]*\}"  # an environment variable: ${VAR}
)


def describe_validation_error(error: ValidationError) -> str:
    """Each problem as ``field.path: message``, joined into one line."""
    return "; ".join(
        f"{'.'.join(str(part) for part in issue['loc'])}: {issue['msg']}"
        for issue in error.errors()
    )


class ComponentSpec(BaseModel):
    """One stack component as a recipe declares it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Component name in the ZenML store.")
    flavor: str = Field(description="Flavor name, e.g. 'local' or 'mlflow'.")
    configuration: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name", "flavor")
    @classmethod
    def _is_identifier(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid name: use letters, digits, '_', '-' or '.'")
        return value


class StackRecipe(BaseModel):
    """A whole stack: its name and one component per component type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    components: dict[str, ComponentSpec]

    @field_validator("components")
    @classmethod
    def _known_component_types(
        cls, components: dict[str, ComponentSpec]
    ) -> dict[str, ComponentSpec]:
        from zenml.enums import StackComponentType

        known = {member.value for member in StackComponentType}
        unknown = sorted(set(components) - known)
        if unknown:
            raise ValueError(
                f"unknown component type(s) {unknown}; expected some of {sorted(known)}"
            )
        for required in ("orchestrator", "artifact_store"):
            if required not in components:
                raise ValueError(f"a stack needs an {required!r} component")
        return components


def _reject_literal_credentials(value: Any, source: Path, location: str = "") -> None:
    """Refuse credential-looking keys whose values are not secret or variable references.

    Runs on the file as written, before ``${VAR}`` expansion, at every depth.
    """
    if isinstance(value, list):
        for index, item in enumerate(value):
            _reject_literal_credentials(item, source, f"{location}[{index}]")
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        path = f"{location}.{key}" if location else str(key)
        if (
            _CREDENTIAL_KEYS.search(str(key))
            and not _SECRET_NAME_KEYS.search(str(key))
            and isinstance(item, str)
            and item
            and not _REFERENCE.fullmatch(item.strip())
        ):
            raise RecipeError(
                f"{source}: {path} holds a literal credential; store it in a ZenML secret "
                "and write '{{ secret_name.key }}', or pass it as '${ENV_VAR}'"
            )
        _reject_literal_credentials(item, source, path)


def _expand_environment(value: Any, missing: set[str]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of a parsed recipe.

    A variable that is unset and has no default stays as written and its name
    goes into ``missing``, so the caller can report every one of them at once.
    """
    if isinstance(value, dict):
        return {key: _expand_environment(item, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_environment(item, missing) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        missing.add(name)
        return f"${{{name}}}"

    return _ENV_REFERENCE.sub(substitute, value)


def unresolved_variables(value: Any) -> tuple[str, ...]:
    """Names of the ``${VAR}`` references left in a value, sorted and unique.

    After ``load_recipe(..., allow_unresolved=True)`` these are the variables
    that must be exported before a real apply.
    """
    found: set[str] = set()

    def collect(item: Any) -> None:
        if isinstance(item, dict):
            for nested in item.values():
                collect(nested)
        elif isinstance(item, list):
            for nested in item:
                collect(nested)
        elif isinstance(item, str):
            found.update(match.group(1) for match in _ENV_REFERENCE.finditer(item))

    collect(value)
    return tuple(sorted(found))


def load_recipe(path: Path, *, allow_unresolved: bool = False) -> StackRecipe:
    """Read and validate a recipe file.

    Args:
        path: The recipe file.
        allow_unresolved: Keep ``${VAR}`` references to unset variables (that
            have no default) as written instead of refusing them. For dry runs,
            which validate everything else and list what is still unset.

    Raises:
        RecipeError: naming the file and the offending field, or every unset
            environment variable.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RecipeError(f"stack recipe {path} does not exist") from error
    except (OSError, UnicodeDecodeError) as error:
        raise RecipeError(f"cannot read stack recipe {path}: {error}") from error
    except yaml.YAMLError as error:
        raise RecipeError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise RecipeError(f"{path}: a recipe is a mapping with 'name' and 'components'")
    _reject_literal_credentials(raw, path)
    missing: set[str] = set()
    expanded = _expand_environment(raw, missing)
    if missing and not allow_unresolved:
        names = ", ".join(repr(name) for name in sorted(missing))
        raise RecipeError(
            f"{path}: environment variable(s) {names} not set; export them, write "
            "${NAME:-default} in the recipe, or use --dry-run to check the rest"
        )
    try:
        return StackRecipe.model_validate(expanded)
    except ValidationError as error:
        raise RecipeError(f"{path}: {describe_validation_error(error)}") from error
