from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from zenml_integrations.stack_recipes.errors import RecipeError
from zenml_integrations.stack_recipes.recipe import (
    ComponentSpec,
    StackRecipe,
    load_recipe,
    unresolved_variables,
)

from tests.helpers.repo import REPO_ROOT

VALID_RECIPE = """\
name: dev
description: A small test stack.
components:
  orchestrator:
    name: local_orchestrator
    flavor: local
  artifact_store:
    name: local_artifact_store
    flavor: local
    configuration:
      path: /tmp/artifacts
  experiment_tracker:
    name: mlflow_tracker
    flavor: mlflow
"""


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def recipe_with(extra_component_yaml: str = "", top_level_yaml: str = "") -> str:
    return (
        "name: dev\n"
        f"{top_level_yaml}"
        "components:\n"
        "  orchestrator: {name: orch, flavor: local}\n"
        "  artifact_store: {name: store, flavor: local}\n"
        f"{extra_component_yaml}"
    )


def test_given_valid_recipe_when_loaded_then_components_are_parsed(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path, VALID_RECIPE))

    assert isinstance(recipe, StackRecipe)
    assert recipe.name == "dev"
    assert recipe.description == "A small test stack."
    assert set(recipe.components) == {"orchestrator", "artifact_store", "experiment_tracker"}
    store = recipe.components["artifact_store"]
    assert (store.name, store.flavor) == ("local_artifact_store", "local")
    assert store.configuration == {"path": "/tmp/artifacts"}
    assert recipe.components["orchestrator"].configuration == {}


def test_given_repository_local_stack_when_loaded_then_it_is_valid() -> None:
    recipe = load_recipe(REPO_ROOT / "stacks" / "local.yaml")

    assert recipe.name == "local"
    assert recipe.components["orchestrator"].flavor == "local"
    assert recipe.components["artifact_store"].flavor == "local"
    assert recipe.components["experiment_tracker"].flavor == "mlflow"


def test_given_unknown_top_level_key_when_loaded_then_error_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, recipe_with(top_level_yaml="colour: blue\n"))

    with pytest.raises(RecipeError, match="colour") as raised:
        load_recipe(path)
    assert str(path) in str(raised.value)


def test_given_unknown_component_type_when_loaded_then_error_names_type(tmp_path: Path) -> None:
    path = write(tmp_path, recipe_with("  flux_capacitor: {name: fc, flavor: local}\n"))

    with pytest.raises(RecipeError, match="flux_capacitor"):
        load_recipe(path)


@pytest.mark.parametrize("missing", ["orchestrator", "artifact_store"])
def test_given_required_component_missing_when_loaded_then_error_names_it(
    tmp_path: Path, missing: str
) -> None:
    components = {
        "orchestrator": "  orchestrator: {name: orch, flavor: local}\n",
        "artifact_store": "  artifact_store: {name: store, flavor: local}\n",
    }
    kept = "".join(text for key, text in components.items() if key != missing)
    path = write(tmp_path, f"name: dev\ncomponents:\n{kept}")

    with pytest.raises(RecipeError, match=missing):
        load_recipe(path)


@pytest.mark.parametrize("bad_name", ["has space", "-leading-dash", "slash/name", ""])
def test_given_bad_component_name_when_loaded_then_refused(tmp_path: Path, bad_name: str) -> None:
    path = write(
        tmp_path,
        "name: dev\ncomponents:\n"
        f"  orchestrator: {{name: '{bad_name}', flavor: local}}\n"
        "  artifact_store: {name: store, flavor: local}\n",
    )

    with pytest.raises(RecipeError, match=r"components\.orchestrator\.name"):
        load_recipe(path)


def test_given_literal_credential_when_loaded_then_refused_naming_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        recipe_with(
            "  experiment_tracker:\n"
            "    name: tracker\n"
            "    flavor: mlflow\n"
            "    configuration: {tracking_username: admin, tracking_password: hunter2}\n"
        ),
    )

    with pytest.raises(RecipeError, match="tracking_password") as raised:
        load_recipe(path)
    assert "literal credential" in str(raised.value)


def test_given_keys_that_name_a_secret_when_loaded_then_accepted(tmp_path: Path) -> None:
    # A Kubernetes volume's secretName and ZenML's authentication_secret name where the
    # credentials are; the value of a secret is still refused under the same parent.
    path = write(
        tmp_path,
        recipe_with(
            "  container_registry:\n"
            "    name: registry\n"
            "    flavor: default\n"
            "    configuration:\n"
            "      uri: registry.example/mlops\n"
            "      authentication_secret: registry_secret\n"
            "  image_builder:\n"
            "    name: kaniko\n"
            "    flavor: kaniko\n"
            "    configuration:\n"
            "      volumes: [{name: docker, secret: {secretName: kaniko-registry}}]\n"
        ),
    )
    recipe = load_recipe(path)
    assert recipe.components["container_registry"].configuration["authentication_secret"] == (
        "registry_secret"
    )
    path.write_text(path.read_text().replace("secretName: kaniko-registry", "secret: hunter2"))
    with pytest.raises(
        RecipeError, match=r"volumes\[0\]\.secret\.secret holds a literal credential"
    ):
        load_recipe(path)


@pytest.mark.parametrize(
    "key", ["password", "client_secret", "api_token", "aws_access_key", "API_KEY", "credentials"]
)
def test_given_credential_like_key_with_literal_when_loaded_then_refused(
    tmp_path: Path, key: str
) -> None:
    path = write(
        tmp_path,
        recipe_with(
            f"  experiment_tracker:\n    name: t\n    flavor: mlflow\n"
            f"    configuration: {{{key}: hunter2}}\n"
        ),
    )
    with pytest.raises(RecipeError, match=key):
        load_recipe(path)


def test_given_nested_literal_credential_when_loaded_then_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        recipe_with(
            "  experiment_tracker:\n    name: t\n    flavor: mlflow\n"
            "    configuration: {client_kwargs: {aws_secret_access_key: AKIAXXXX}}\n"
        ),
    )
    with pytest.raises(RecipeError, match=r"client_kwargs\.aws_secret_access_key"):
        load_recipe(path)


def test_given_credential_from_env_var_when_loaded_then_accepted_and_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKING_PASSWORD", "s3cret")
    path = write(
        tmp_path,
        recipe_with(
            "  experiment_tracker:\n    name: t\n    flavor: mlflow\n"
            "    configuration: {tracking_password: '${TRACKING_PASSWORD}'}\n"
        ),
    )
    recipe = load_recipe(path)
    assert recipe.components["experiment_tracker"].configuration == {"tracking_password": "s3cret"}


def test_given_binary_file_when_loaded_then_recipe_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(RecipeError, match="cannot read"):
        load_recipe(path)


def test_given_name_with_trailing_newline_when_spec_built_then_refused() -> None:
    with pytest.raises(ValidationError, match="not a valid name"):
        ComponentSpec(name="local\n", flavor="local")


@pytest.mark.parametrize("reference", ["{{ my_secret.password }}", "{{my_secret.password}}"])
def test_given_secret_reference_when_loaded_then_accepted(tmp_path: Path, reference: str) -> None:
    path = write(
        tmp_path,
        recipe_with(
            "  experiment_tracker:\n"
            "    name: tracker\n"
            "    flavor: mlflow\n"
            f"    configuration: {{tracking_password: '{reference}'}}\n"
        ),
    )

    recipe = load_recipe(path)

    assert recipe.components["experiment_tracker"].configuration == {"tracking_password": reference}


def test_given_set_variable_when_loaded_then_it_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECIPE_TEST_BUCKET", "s3://bucket/artifacts")
    path = write(
        tmp_path,
        "name: dev\ncomponents:\n"
        "  orchestrator: {name: orch, flavor: local}\n"
        "  artifact_store:\n"
        "    name: store\n"
        "    flavor: s3\n"
        "    configuration:\n"
        "      path: ${RECIPE_TEST_BUCKET}/run\n"
        "      tags: ['${RECIPE_TEST_BUCKET}']\n",
    )

    configuration = load_recipe(path).components["artifact_store"].configuration

    assert configuration["path"] == "s3://bucket/artifacts/run"
    assert configuration["tags"] == ["s3://bucket/artifacts"]


def test_given_unset_variable_with_default_when_loaded_then_default_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECIPE_TEST_UNSET", raising=False)
    monkeypatch.setenv("RECIPE_TEST_SET", "from-env")
    path = write(
        tmp_path,
        "name: ${RECIPE_TEST_UNSET:-fallback-stack}\ncomponents:\n"
        "  orchestrator: {name: orch, flavor: local}\n"
        "  artifact_store:\n"
        "    name: store\n"
        "    flavor: local\n"
        "    configuration:\n"
        "      path: '${RECIPE_TEST_SET:-ignored}'\n"
        "      empty: '${RECIPE_TEST_UNSET:-}'\n",
    )

    recipe = load_recipe(path)

    assert recipe.name == "fallback-stack"
    assert recipe.components["artifact_store"].configuration == {
        "path": "from-env",
        "empty": "",
    }


def test_given_unset_variable_without_default_when_loaded_then_error_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECIPE_TEST_MISSING_VAR", raising=False)
    path = write(
        tmp_path,
        recipe_with(top_level_yaml="description: ${RECIPE_TEST_MISSING_VAR}\n"),
    )

    with pytest.raises(RecipeError, match="RECIPE_TEST_MISSING_VAR") as raised:
        load_recipe(path)
    assert "not set" in str(raised.value)


def test_given_invalid_yaml_when_loaded_then_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "name: [unclosed\ncomponents: {")

    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(path)


@pytest.mark.parametrize("text", ["- a\n- list\n", "just a string\n", ""])
def test_given_non_mapping_file_when_loaded_then_refused(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(RecipeError, match="a recipe is a mapping"):
        load_recipe(path)


def test_given_missing_file_when_loaded_then_error_names_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"

    with pytest.raises(RecipeError, match="does not exist") as raised:
        load_recipe(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    "recipe_path", sorted((REPO_ROOT / "stacks").glob("*.yaml")), ids=lambda path: path.name
)
def test_given_a_repository_recipe_when_loaded_then_it_holds_no_literal_credential(
    recipe_path: Path,
) -> None:
    # allow_unresolved: the check runs on the file as written, variables or not.
    recipe = load_recipe(recipe_path, allow_unresolved=True)

    assert {"orchestrator", "artifact_store"} <= set(recipe.components)


def test_given_unset_variables_when_loaded_for_a_dry_run_then_they_are_kept_and_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECIPE_TEST_BUCKET_A", raising=False)
    monkeypatch.delenv("RECIPE_TEST_BUCKET_B", raising=False)
    text = recipe_with(
        "  experiment_tracker:\n    name: t\n    flavor: mlflow\n"
        "    configuration: {tracking_uri: 'https://${RECIPE_TEST_BUCKET_B}/${RECIPE_TEST_BUCKET_A}'}\n"
    )
    path = write(tmp_path, text)

    recipe = load_recipe(path, allow_unresolved=True)

    configuration = recipe.components["experiment_tracker"].configuration
    assert configuration == {
        "tracking_uri": "https://${RECIPE_TEST_BUCKET_B}/${RECIPE_TEST_BUCKET_A}"
    }
    assert unresolved_variables(recipe.model_dump()) == (
        "RECIPE_TEST_BUCKET_A",
        "RECIPE_TEST_BUCKET_B",
    )
    with pytest.raises(RecipeError, match="'RECIPE_TEST_BUCKET_A', 'RECIPE_TEST_BUCKET_B'"):
        load_recipe(path)
