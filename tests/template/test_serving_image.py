"""The generated project's serving image: what its Dockerfile copies and runs exists and fits.

No Docker daemon is needed: the Dockerfile is read as text, and the wrapper it runs is the
library's file (the parity test runs that file in seldon-core).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import sys
import tomllib
from itertools import chain
from pathlib import Path

import pytest
from zenml_integrations.onnx.seldon import onnx_seldon_model

from tests.helpers.rendering import render
from tests.helpers.repo import REPO_ROOT

WRAPPER_METHODS = {"__init__", "load", "predict", "health_status", "metrics", "init_metadata"}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, arguments = line.strip().partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


@pytest.fixture(scope="module")
def serving_dir(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(template_repo, tmp_path_factory.mktemp("serving") / "project", {}) / "serving"


def test_given_a_generated_project_when_the_dockerfile_is_read_then_its_files_exist(
    serving_dir: Path,
) -> None:
    steps = instructions(serving_dir / "Dockerfile")
    assert steps[0] == ("FROM", "python:3.12-slim")

    copied: set[str] = set()
    for keyword, arguments in steps:
        if keyword == "COPY":
            *sources, _destination = shlex.split(arguments)
            copied.update(sources)
    assert copied == {"requirements.txt", "onnx_seldon_model.py", "tabular.py", "metric_names.py"}
    for source in copied:
        path = serving_dir / source
        assert path.is_file(), source
        assert not path.is_symlink(), source
    runs = [arguments for keyword, arguments in steps if keyword == "RUN"]
    assert any("pip install" in run and "-r requirements.txt" in run for run in runs), runs

    command = json.loads(next(arguments for keyword, arguments in steps if keyword == "CMD"))
    assert command[:2] == ["seldon-core-microservice", onnx_seldon_model.INTERFACE_NAME]
    module, class_name = onnx_seldon_model.INTERFACE_NAME.split(".")
    wrapper = serving_dir / f"{module}.py"
    classes = {
        node.name: {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        for node in ast.parse(wrapper.read_text()).body
        if isinstance(node, ast.ClassDef)
    }
    assert classes[class_name] >= WRAPPER_METHODS
    assert wrapper.read_text() == Path(onnx_seldon_model.__file__).read_text()


def test_given_the_dockerfile_when_read_then_ports_model_variable_and_user_match_the_wrapper(
    serving_dir: Path,
) -> None:
    steps = instructions(serving_dir / "Dockerfile")
    environment = dict(
        assignment.split("=", 1)
        for keyword, arguments in steps
        if keyword == "ENV"
        for assignment in shlex.split(arguments)
    )
    ports = {
        onnx_seldon_model.HTTP_PORT,
        onnx_seldon_model.GRPC_PORT,
        onnx_seldon_model.METRICS_PORT,
    }

    exposed = {int(port) for keyword, arguments in steps if keyword == "EXPOSE"
               for port in arguments.split()}  # fmt: skip
    assert exposed == ports
    assert int(environment["PREDICTIVE_UNIT_HTTP_SERVICE_PORT"]) == onnx_seldon_model.HTTP_PORT
    assert int(environment["PREDICTIVE_UNIT_GRPC_SERVICE_PORT"]) == onnx_seldon_model.GRPC_PORT
    assert (
        int(environment["PREDICTIVE_UNIT_METRICS_SERVICE_PORT"]) == onnx_seldon_model.METRICS_PORT
    )
    assert environment[onnx_seldon_model.MODEL_URI_ENV] == "/mnt/models"
    users = [arguments for keyword, arguments in steps if keyword == "USER"]
    assert users, "the image must not run as root"
    assert users[-1].isdigit(), f"a numeric user lets Kubernetes check runAsNonRoot: {users[-1]}"
    assert int(users[-1]) > 0


def test_given_the_serving_requirements_when_read_then_pinned_and_kept_out_of_the_pipeline(
    serving_dir: Path,
) -> None:
    pins = {}
    for line in (serving_dir / "requirements.txt").read_text().splitlines():
        requirement = line.split("#")[0].split(";")[0].strip()
        if requirement:
            name, separator, version = requirement.partition("==")
            assert separator, f"not an exact pin: {line!r}"
            pins[name] = version
    assert {"seldon-core", "onnxruntime", "numpy", "protobuf"} <= pins.keys()
    assert int(pins["numpy"].split(".")[0]) < 2
    assert not {"zenml", "pydantic", "zenml-mlops-kit"} & pins.keys()
    # seldon-core never enters the pipeline environment: no dependency or extra names it.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *chain(*project["optional-dependencies"].values())]
    assert not [name for name in requirements if "seldon" in name.lower()]
    assert 'name = "seldon-core"' not in (REPO_ROOT / "uv.lock").read_text()


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }


def test_given_the_wrapper_when_parsed_then_it_imports_numpy_onnxruntime_and_stdlib_only(
    serving_dir: Path,
) -> None:
    # The encoding rules come from the kit where it is installed, else from the copy beside it.
    wrapper = _top_level_imports(Path(onnx_seldon_model.__file__)) - sys.stdlib_module_names
    rules = _top_level_imports(serving_dir / "tabular.py") - sys.stdlib_module_names

    assert wrapper == {"numpy", "onnxruntime", "zenml_integrations", "tabular", "metric_names"}
    assert _top_level_imports(serving_dir / "metric_names.py") <= sys.stdlib_module_names
    assert rules == {"numpy"}
    assert (serving_dir / "tabular.py").read_text() == (
        REPO_ROOT / "zenml_integrations" / "tabular.py"
    ).read_text()
    assert (serving_dir / "metric_names.py").read_text() == (
        REPO_ROOT / "zenml_integrations" / "onnx" / "metric_names.py"
    ).read_text()
