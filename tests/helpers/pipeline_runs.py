"""Run the repository's own pipelines in a throwaway project, as ``run.py`` does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.helpers.cli import run_python

TRAINING_CONFIG: dict[str, Any] = {
    "parameters": {
        "model_name": "churn",
        "source": {"kind": "sample", "sample_rows": 3000},
        "dataset": {
            "problem_type": "binary_classification",
            "target_column": "churned",
            "entity_column": "customer_id",
            "timestamp_column": "event_timestamp",
        },
        "model": {"family": "linear"},
        "data_quality": {
            "name": "training_data",
            "expectations": [
                {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "churned"}},
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "age", "min_value": 18, "max_value": 100},
                },
            ],
        },
        "gate": {"metric": "roc_auc", "min_improvement": 0.0},
    }
}

TRAINING_REGISTRY_QUERY = """
import json
from mlflow import MlflowClient
from zenml.client import Client
client = MlflowClient(Client().active_stack.experiment_tracker.get_tracking_uri())
versions = client.search_model_versions("name = 'churn'")
def alias(name):
    try:
        return str(client.get_model_version_by_alias("churn", name).version)
    except Exception:
        return None
runs = Client().list_pipeline_runs(size=50, sort_by="asc:created").items
print(json.dumps({
    "versions": {str(v.version): dict(v.tags) for v in versions},
    "champion": alias("champion"),
    "challenger": alias("challenger"),
    "runs": [[str(r.id), r.status.value] for r in runs],
}))
"""


def train(project: Path, config: dict[str, Any], *extra: str, succeed: bool = True) -> str:
    (project / "configs" / "training.yaml").write_text(yaml.safe_dump(config))
    completed = run_python("run.py", "train", *extra, cwd=project, expect_success=succeed)
    return completed.stdout + completed.stderr


def training_registry(project: Path) -> dict[str, Any]:
    script = project / "registry_query.py"
    script.write_text(TRAINING_REGISTRY_QUERY)
    output = run_python(str(script), cwd=project).stdout.strip().splitlines()[-1]
    return json.loads(output)  # type: ignore[no-any-return]


DEPLOYMENT_CONFIG: dict[str, Any] = {
    "parameters": {
        "model_name": "churn",
        "wait_seconds": 0,
        "rollout": {"strategy": "canary", "steps": [0.5, 1.0]},
    }
}

SERVERS_QUERY = """
import json
from zenml.client import Client
deployer = Client().active_stack.model_deployer
for service in deployer.find_model_server(model_name="churn"):
    deployer.delete_model_server(service.uuid)
print(json.dumps({"deleted": True}))
"""


def deploy(project: Path, succeed: bool = True) -> str:
    (project / "configs" / "deployment.yaml").write_text(yaml.safe_dump(DEPLOYMENT_CONFIG))
    completed = run_python("run.py", "deploy", cwd=project, expect_success=succeed)
    return completed.stdout + completed.stderr


def served_endpoint(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("endpoint: "))[10:]
