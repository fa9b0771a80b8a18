"""The training pipeline, unchanged, is accepted by the Kubernetes stack without a cluster.

One real local ZenML server (``zenml login --local``, as ``make dashboard`` starts it, on a free
127.0.0.1 port with its own ``ZENML_CONFIG_PATH``) holds the stack; one subprocess
(tests/helpers/kubernetes_stack_acceptance.py, whose docstring lists each stage) is its client
with another config path, so ZenML treats the server as remote, as it treats a deployed one.
The client applies the real ``stacks/kubernetes.yaml``, validates the stack, compiles
``pipelines/training.py`` of a project that Copier generated with its default answers, gathers
the image requirements, passes ZenML's submission check, plans the kaniko pod and builds until
kaniko needs the cluster. Nothing else is contacted: the kubeconfig context, bucket, registry
and MLflow server are placeholders on 127.0.0.1 or ``.invalid``. The server is stopped at the
end.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from zenml_integrations import __version__

from tests.helpers.cli import REPO_ROOT, run_python
from tests.helpers.dashboard import local_dashboard
from tests.helpers.rendering import render

pytestmark = pytest.mark.slow

ENVIRONMENT = "production"
PLACEHOLDER_ENV = {
    "KUBERNETES_CONTEXT": "placeholder-context",
    "ARTIFACT_BUCKET": "placeholder-bucket",
    "S3_ENDPOINT_URL": "http://127.0.0.1:9",
    "CONTAINER_REGISTRY_URI": "registry.invalid/mlops",
    "MLFLOW_TRACKING_URI": "https://mlflow.invalid",
    "SERVING_IMAGE": "registry.invalid/mlops/serving:0.1.0",
    "UV_OFFLINE": "1",  # belt and braces: no uv call may reach an index
    "AWS_MAX_ATTEMPTS": "1",  # the refused S3 upload fails at once, not after 26 s of retries
}
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: placeholder
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: placeholder
  user: {token: placeholder-token}
contexts:
- name: placeholder-context
  context: {cluster: placeholder, user: placeholder}
current-context: placeholder-context
"""
TRAINING_STEPS = {
    "load_data",
    "data_quality_gate",
    "split_data",
    "train_model",
    "evaluate_model",
    "export_onnx",
    "drift_gate",
    "register_model",
    "quality_gate",
}


@pytest.fixture(scope="module")
def acceptance(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Given the Kubernetes recipe with placeholders, what each stage of preparing a run gave."""
    folder = tmp_path_factory.mktemp("kubernetes-acceptance")
    (folder / "kubeconfig").write_text(KUBECONFIG)
    with pytest.MonkeyPatch.context() as patch, ThreadPoolExecutor(1) as background:
        patch.setenv("ZENML_ANALYTICS_OPT_IN", "false")
        patch.setenv("DO_NOT_TRACK", "true")
        patch.setenv("ZENML_CONFIG_PATH", str(folder / "server-config"))
        # Copier renders (in this process) while the server starts (in its own).
        rendering = background.submit(render, template_repo, folder / "project", {})
        with local_dashboard(folder) as server, pytest.MonkeyPatch.context() as client:
            project = rendering.result()  # Copier's default answers
            client.setenv("ZENML_CONFIG_PATH", str(folder / "client-config"))
            client.setenv("ZENML_STORE_URL", server.url)
            client.setenv("KUBECONFIG", str(folder / "kubeconfig"))
            for name, value in PLACEHOLDER_ENV.items():
                client.setenv(name, value)
            script = REPO_ROOT / "tests" / "helpers" / "kubernetes_stack_acceptance.py"
            stdout = run_python(str(script), cwd=project).stdout
    line = next(line for line in stdout.splitlines() if line.startswith("RESULTS "))
    results: dict[str, Any] = json.loads(line.removeprefix("RESULTS "))
    results["project"] = str(project)
    results["server_url"] = server.url
    results["answers"] = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return results


def test_given_a_local_zenml_server_when_the_client_connects_then_it_counts_as_remote(
    acceptance: dict[str, Any],
) -> None:
    # A client sharing the server's config would be refused by prepare_pipeline_submission.
    assert acceptance["store"] == {"type": "rest", "url": acceptance["server_url"], "local": False}


def test_given_placeholders_and_secrets_when_recipe_applied_then_kubernetes_stack_is_active(
    acceptance: dict[str, Any],
) -> None:
    apply = acceptance["apply"]
    assert apply["exit_code"] == 0, apply["output"]
    assert "stack 'kubernetes' applied and active." in apply["output"]
    assert acceptance["stack"] == {
        "name": "kubernetes",
        "flavors": {
            "orchestrator": "kubernetes",
            "artifact_store": "s3",
            "container_registry": "default",
            "image_builder": "kaniko",
            "experiment_tracker": "mlflow",
            "data_validator": "evidently_gate",
            "model_deployer": "onnx",
        },
    }


def test_given_the_active_kubernetes_stack_when_validated_then_zenml_accepts_it(
    acceptance: dict[str, Any],
) -> None:
    assert acceptance["validation"] == {"ok": True, "error": None}


def test_given_the_local_pipeline_source_when_compiled_for_kubernetes_then_every_step_is_kept(
    acceptance: dict[str, Any],
) -> None:
    # The image imports the very module the local stack runs.
    assert acceptance["pipeline_source"] == "pipelines.training.training_pipeline"
    project = Path(acceptance["project"])
    assert Path(acceptance["pipeline_file"]) == project / "pipelines" / "training.py"
    assert set(acceptance["steps"]) == TRAINING_STEPS
    parameters = acceptance["parameters"]
    assert parameters["model_name"] == acceptance["answers"]["package_name"] == "churn_model"
    assert parameters["model"]["family"] == acceptance["answers"]["model_family"]
    # The environment layer's per-pipeline override reached the compiled run.
    assert parameters["gate"]["min_improvement"] == 0.002


def test_given_the_project_docker_settings_when_compiled_then_the_orchestrator_image_uses_them(
    acceptance: dict[str, Any],
) -> None:
    environment_file = Path(acceptance["project"]) / "configs" / f"{ENVIRONMENT}.yaml"
    configured = yaml.safe_load(environment_file.read_text())
    assert acceptance["pipeline_docker"] == configured["settings"]["docker"]
    assert acceptance["builds"] == [
        {
            "key": "orchestrator",
            "step": None,
            "installer": "uv",
            "install_stack_requirements": True,
            "pyproject": str(Path(acceptance["project"]) / "pyproject.toml"),
        }
    ]


def test_given_the_kubernetes_stack_when_requirements_gathered_then_kit_and_integrations_are_in(
    acceptance: dict[str, Any],
) -> None:
    stack_file = acceptance["requirements"][".zenml_stack_integration_requirements"]
    kit = {
        f"zenml-mlops-kit[onnx,kubernetes]=={__version__}",
        f"zenml-mlops-kit[evidently]=={__version__}",
    }
    zenml_integrations = {
        requirement
        for requirements in acceptance["integration_requirements"].values()
        for requirement in requirements
    }
    assert "s3fs>2022.3.0,!=2025.3.1" in zenml_integrations
    assert set(stack_file) == kit | zenml_integrations


def test_given_the_stack_on_the_server_when_submission_is_prepared_then_zenml_accepts_it(
    acceptance: dict[str, Any],
) -> None:
    # Every secret the components reference resolves on the server, and the store is remote.
    assert acceptance["submission"] == {"ok": True, "error": None}


def test_given_the_recipe_when_the_kaniko_pod_is_planned_then_context_and_credentials_are_set(
    acceptance: dict[str, Any],
) -> None:
    pod = acceptance["kaniko_pod"]
    assert pod["namespace"] == "zenml-kaniko"
    assert pod["context_in_artifact_store"] is True
    context = "--context=s3://placeholder-bucket/zenml/kaniko-build-contexts/planned.tar.gz"
    assert context in pod["args"]
    assert "--destination=registry.invalid/mlops/zenml:planned" in pod["args"]
    # The pod reads the context from MinIO and pushes with the registry's docker config.
    assert pod["env"] == [
        {"name": "S3_ENDPOINT", "value": "http://127.0.0.1:9"},
        {"name": "S3_FORCE_PATH_STYLE", "value": "true"},
    ]
    assert pod["env_from"] == [{"secretRef": {"name": "kaniko-minio"}}]
    assert pod["volume_mounts"] == [{"name": "registry-config", "mountPath": "/kaniko/.docker"}]
    assert pod["volumes"] == [
        {
            "name": "registry-config",
            "secret": {
                "secretName": "kaniko-registry",
                "items": [{"key": ".dockerconfigjson", "path": "config.json"}],
            },
        }
    ]
    # ZenML's side of the registry reads its credentials from the ZenML secret, via the server.
    assert pod["registry_credentials"] == ["placeholder-pusher", "placeholder-token"]


def test_given_the_orchestrator_image_when_built_then_it_stops_where_the_cluster_is_needed(
    acceptance: dict[str, Any],
) -> None:
    build = acceptance["build"]
    # Context assembled, kubectl found; the upload to the cluster's MinIO is the first call out.
    assert build["error"].startswith(
        "Uploading the Kaniko build context to the artifact store failed."
    )
    assert "127.0.0.1:9" in build["cause"], build["cause"]
