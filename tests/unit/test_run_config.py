from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pytest
import yaml
from zenml_integrations.run_config import (
    RunConfigError,
    deep_merge,
    load_layers,
    write_run_config,
)


def test_given_nested_mappings_when_merged_then_keys_merge_at_every_depth() -> None:
    base = {"settings": {"docker": {"image": "a", "pull": True}, "resources": {"cpu": 1}}}
    override = {"settings": {"docker": {"image": "b"}}, "enable_cache": False}

    merged = deep_merge(base, override)

    assert merged == {
        "settings": {"docker": {"image": "b", "pull": True}, "resources": {"cpu": 1}},
        "enable_cache": False,
    }


def test_given_conflicting_types_when_merged_then_later_value_wins() -> None:
    base = {"a": {"x": 1}, "b": 1, "c": [1, 2]}
    override = {"a": 5, "b": {"y": 2}, "c": [3]}

    assert deep_merge(base, override) == {"a": 5, "b": {"y": 2}, "c": [3]}


def test_given_inputs_when_merged_then_inputs_are_not_mutated() -> None:
    base = {"settings": {"docker": {"image": "a"}}, "only_base": 1}
    override = {"settings": {"docker": {"image": "b", "pull": True}}, "only_override": 2}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)

    merged = deep_merge(base, override)

    assert base == base_before
    assert override == override_before
    assert merged is not base
    assert merged["settings"] is not base["settings"]


def test_given_layer_files_when_loaded_then_later_files_win(tmp_path: Path) -> None:
    pipeline = tmp_path / "training.yaml"
    pipeline.write_text(
        "parameters:\n  model: {family: linear, params: {C: 1.0}}\n  test_fraction: 0.2\n"
    )
    environment = tmp_path / "local.yaml"
    environment.write_text("parameters:\n  model: {params: {C: 0.5}}\nenable_cache: false\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("")

    merged = load_layers(pipeline, environment, empty)

    assert merged == {
        "parameters": {
            "model": {"family": "linear", "params": {"C": 0.5}},
            "test_fraction": 0.2,
        },
        "enable_cache": False,
    }


def test_given_no_files_when_loaded_then_empty_mapping() -> None:
    assert load_layers() == {}


def test_given_missing_file_when_loaded_then_error_names_it(tmp_path: Path) -> None:
    present = tmp_path / "present.yaml"
    present.write_text("a: 1\n")
    missing = tmp_path / "missing.yaml"

    with pytest.raises(RunConfigError, match="does not exist") as raised:
        load_layers(present, missing)
    assert str(missing) in str(raised.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "42\n", "plain text\n"])
def test_given_non_mapping_file_when_loaded_then_error_names_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(text)

    with pytest.raises(RunConfigError, match="must hold a mapping") as raised:
        load_layers(path)
    assert str(path) in str(raised.value)


def test_given_invalid_yaml_when_loaded_then_error_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: [1, 2\n")

    with pytest.raises(RunConfigError, match="not valid YAML") as raised:
        load_layers(path)
    assert str(path) in str(raised.value)


def test_given_config_when_written_then_file_roundtrips_in_order_and_is_removed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = {"zeta": 1, "alpha": {"nested": [1, 2], "text": "ü"}, "enable_cache": False}

    with write_run_config(config) as path:
        assert path.parent == tmp_path
        assert path.suffix == ".yaml"
        assert path.name.startswith("zenml-run-")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert loaded == config
        assert list(loaded) == ["zeta", "alpha", "enable_cache"]
        assert load_layers(path) == config

    assert list(tmp_path.iterdir()) == []


def test_given_a_failing_launch_when_config_written_then_the_file_is_still_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    with pytest.raises(KeyError), write_run_config({"a": 1}):
        raise KeyError("the pipeline failed")

    assert list(tmp_path.iterdir()) == []


def test_given_binary_layer_when_loaded_then_run_config_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.yaml"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(RunConfigError, match="cannot read"):
        load_layers(path)


def test_given_merged_config_when_mutated_then_inputs_are_untouched() -> None:
    base = {"a": {"b": {"c": 1}}}
    override = {"d": {"e": [1]}}
    merged = deep_merge(base, override)
    merged["a"]["b"]["c"] = 2
    merged["d"]["e"].append(2)
    assert base == {"a": {"b": {"c": 1}}}
    assert override == {"d": {"e": [1]}}
