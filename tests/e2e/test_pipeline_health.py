"""Pipeline health in the generated project: what its pipelines' hooks exported, against its store.

Other tests of the shared trained project may train again (and fail on purpose), so
every check compares the exported series with the newest runs the store holds.
"""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.generated_project import MODEL, TrainedProject

# Prints the store's and the registry's view, then reports the newest completed training
# run once more as if it had failed, from a scratch folder (relative textfile paths land
# there), so the failure path reads the last success from the store.
STORE_VIEW = """
import json, os, sys
from mlflow import MlflowClient
from zenml.client import Client
from zenml_integrations.monitoring.health_hooks import report_run, unix_seconds

zenml = Client()
runs = zenml.list_pipeline_runs(pipeline_name="training_pipeline", sort_by="desc:created",
                                size=50).items
newest, completed = runs[0], next(r for r in runs if r.status.value == "completed")

def rows(run):
    outputs = {name: versions[-1] for step in run.steps.values()
               for name, versions in step.outputs.items() if versions}
    return [outputs[name].run_metadata["shape"][0] for name in ("raw_data", "train_data")]

mlflow = MlflowClient(zenml.active_stack.experiment_tracker.get_tracking_uri())
champion = mlflow.get_model_version_by_alias(sys.argv[1], "champion")
view = {
    "newest_completed": newest.status.value == "completed",
    "newest_rows": rows(newest),
    "completed_rows": rows(completed),
    "completed_end": unix_seconds(completed.end_time),
    "champion": str(champion.version),
    "registered": champion.creation_timestamp / 1000,
}
os.chdir(sys.argv[2])
report_run(completed, succeeded=False)
print(json.dumps(view))
"""


def series(path: Path) -> dict[tuple[str, str], float]:
    """(name, the pipeline, direction or version label) -> value."""
    return {
        (sample.name, sample.labels.get("direction") or sample.labels.get("version", "")):
            sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }  # fmt: skip


def test_given_trained_project_then_its_hooks_exported_the_newest_run_and_the_champion(
    default_project: TrainedProject,
) -> None:
    project = default_project.project
    metrics = project.root / "monitoring" / "metrics"
    scratch = project.root.parent / "health-scratch"
    scratch.mkdir(exist_ok=True)
    output = project.python("store_view.py", STORE_VIEW, MODEL, str(scratch))
    view = json.loads([line for line in output.splitlines() if line.startswith("{")][-1])

    training = series(metrics / "pipeline_training_pipeline.prom")
    assert training[("mlops_pipeline_last_run_success", "")] == int(view["newest_completed"])
    rows_in, rows_out = view["newest_rows"]
    assert training[("mlops_pipeline_rows", "in")] == rows_in
    assert training[("mlops_pipeline_rows", "out")] == rows_out
    assert training[("mlops_pipeline_max_interval_seconds", "")] == 192 * 3600
    assert training[("mlops_pipeline_run_duration_seconds", "")] > 0
    champion = series(metrics / f"model_{MODEL}.prom")
    registered = champion[("mlops_champion_registered_timestamp_seconds", view["champion"])]
    assert registered == view["registered"]
    assert champion[("mlops_champion_max_age_seconds", "")] == 30 * 86400

    # The same run reported as failed: the last success comes from the store.
    failed = series(scratch / "monitoring" / "metrics" / "pipeline_training_pipeline.prom")
    assert failed[("mlops_pipeline_last_run_success", "")] == 0
    assert failed[("mlops_pipeline_last_success_timestamp_seconds", "")] == view["completed_end"]
    assert [failed[("mlops_pipeline_rows", d)] for d in ("in", "out")] == view["completed_rows"]
    assert (scratch / "monitoring" / "metrics" / f"model_{MODEL}.prom").exists()
