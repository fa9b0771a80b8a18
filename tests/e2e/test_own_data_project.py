"""A project generated for the user's own table: strings, bools, dates, gaps and a yes/no target.

The table is the kind users bring (``tests.helpers.loans``): string ids and
timestamps, four categorical columns with rare levels, a bool column, a date
column, 1-10 % missing values in seven columns. The project is generated,
installed and trained once for the module; the tests run in file order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.helpers.generated_project import GeneratedProject, kit_requirement
from tests.helpers.loans import FEATURES, UNSEEN_PURPOSE, loans_table
from tests.helpers.pipeline_runs import served_endpoint

MODEL = "loan_default"
ROWS = 3_000

LAST_RUN = """
import json
from zenml.client import Client
run = Client().list_pipeline_runs(pipeline_name="training_pipeline", sort_by="desc:created",
                                  size=1).items[0]
print(json.dumps({"run": run.name, "steps": {n: s.status.value for n, s in run.steps.items()}}))
"""

# What the deployed model must answer, computed in the project's own environment
# from the champion's ONNX file and from the scikit-learn pipeline of its run.
IN_PROCESS = """
import json, sys
import onnx
import pandas as pd
from mlflow import MlflowClient
from zenml.client import Client
from zenml_integrations.mlflow.registry import fetch_onnx_model
from zenml_integrations.onnx.export.parity import run_onnx
from zenml_integrations.training.preprocessing import model_frame

records = json.loads(open(sys.argv[2]).read())
zenml = Client()
mlflow = MlflowClient(zenml.active_stack.experiment_tracker.get_tracking_uri())
champion = mlflow.get_model_version_by_alias(sys.argv[1], "champion")
onnx_bytes = fetch_onnx_model(mlflow, sys.argv[1], "champion").onnx_bytes
metadata = {p.key: p.value for p in onnx.load_from_string(onnx_bytes).metadata_props}
kinds = json.loads(metadata["feature_kinds"])
frame = model_frame(pd.DataFrame(records), kinds)
run = zenml.get_pipeline_run(champion.tags["zenml_run_id"])
sklearn_model = run.steps["train_model"].output.load()
print(json.dumps({
    "onnx": run_onnx(onnx_bytes, frame)["probabilities"].tolist(),
    "sklearn": sklearn_model.predict_proba(frame).tolist(),
    "labels": sklearn_model.predict(frame).tolist(),
    "kinds": kinds,
}))
"""


@pytest.fixture(scope="module")
def project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    generated = GeneratedProject.generate(
        template_repo,
        tmp_path_factory.mktemp("own-data") / "loan-default",
        project_name="Loan Default",
        data_source="file",
        data_path="data/loans.csv",
        target_column="defaulted",
        positive_label="yes",
        entity_column="loan_id",
        timestamp_column="applied_at",
        model_family="random_forest",
        kit_requirement=kit_requirement("gx", "mlflow", "onnx", "evidently"),
    )
    (generated.root / "data").mkdir()
    loans_table(ROWS).to_csv(generated.root / "data" / "loans.csv", index=False)
    return generated


def _last_run(project: GeneratedProject) -> dict[str, Any]:
    output = project.python("last_run.py", LAST_RUN)
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])  # type: ignore[no-any-return]


def test_given_own_table_when_trained_then_columns_recorded_and_retraining_follows_the_file(
    project: GeneratedProject,
) -> None:
    first = project.make("train")

    assert "Recorded the 13 columns of data/loans.csv" in first
    recorded = (project.root / "configs" / "schema.yaml").read_text()
    assert "grade: {kind: categorical" in recorded
    assert "loan_id: {kind: text" in recorded
    assert "has_cosigner: {kind: boolean" in recorded
    assert "onnx parity: max |sklearn - onnx|" in first
    assert "(passed: True)" in first
    assert f"registered: {MODEL} v1" in first

    newer = loans_table(ROWS + 600, seed=8)  # the same file path, new rows
    newer.to_csv(project.root / "data" / "loans.csv", index=False)
    retrained = project.make("train")
    steps = _last_run(project)["steps"]
    assert steps["load_data"] == "completed"
    assert steps["train_model"] == "completed"
    assert f"registered: {MODEL} v2" in retrained

    newer.assign(branch="north").to_csv(project.root / "data" / "loans.csv", index=False)
    refused = project.make("train", expect_success=False)
    errors = [line for line in refused.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, refused[-3000:]
    assert "step load_data failed" in errors[0]
    assert "new column 'branch' (categorical)" in errors[0]
    assert "configs/schema.yaml" in errors[0]
    newer.to_csv(project.root / "data" / "loans.csv", index=False)


@pytest.mark.parametrize("family", ["linear", "gradient_boosting"])
def test_given_own_table_when_each_family_trains_then_parity_holds_on_the_whole_pipeline(
    project: GeneratedProject, family: str
) -> None:
    config = project.root / "configs" / "training.yaml"
    original = config.read_text()
    config.write_text(original.replace("family: random_forest", f"family: {family}"))
    try:
        output = project.shell("uv run python run.py train")
    finally:
        config.write_text(original)

    assert "(passed: True)" in output
    assert f"registered: {MODEL} v" in output


def test_given_the_champion_when_deployed_then_strings_and_gaps_get_in_process_answers(
    project: GeneratedProject,
) -> None:
    table = loans_table(ROWS)
    rows = table[FEATURES].tail(5).astype(object)
    records: list[dict[str, Any]] = [
        {name: (None if value is None or value != value else value) for name, value in row.items()}
        for row in rows.to_dict(orient="records")
    ]
    records[0].update(purpose=UNSEEN_PURPOSE, amount=None, has_cosigner=None)
    records[1].update(grade=None, first_credit_line=None, employment_years=None)
    records[2].update(purpose="wedding", has_cosigner=True)
    records = [{key: _plain(value) for key, value in record.items()} for record in records]
    request_file = project.root.parent / "scratch" / "records.json"
    request_file.parent.mkdir(exist_ok=True)
    request_file.write_text(json.dumps(records))
    expected_output = project.python("in_process.py", IN_PROCESS, MODEL, str(request_file))
    expected = json.loads([line for line in expected_output.splitlines() if line[:1] == "{"][-1])

    endpoint = served_endpoint(project.make("deploy"))
    try:
        kinds = expected["kinds"]
        datatypes = {"categorical": "BYTES", "datetime": "BYTES", "boolean": "BOOL"}
        tensors = {"inputs": [
            {"name": name, "datatype": datatypes.get(kind, "FP64"), "shape": [len(records)],
             "data": [record[name] for record in records]}
            for name, kind in kinds.items()
        ]}  # fmt: skip
        answers = [
            httpx.post(endpoint, json=body, timeout=10) for body in ({"records": records}, tensors)
        ]
        # Traffic like the training rows: monitoring reads it back, strings and gaps included.
        recent = table[FEATURES].tail(600).astype(object)
        traffic = [
            {name: _plain(value) for name, value in row.items()}
            for row in recent.where(recent.notna(), None).to_dict(orient="records")
        ]
        traffic_answer = httpx.post(endpoint, json={"records": traffic}, timeout=30)
        monitored = project.make("monitor")
        # The README's request, as written: a training row of the champion, as records.
        readme = project.shell(
            f"uv run mlops-kit model example {MODEL} > request.json && "
            f"curl -sf -X POST '{endpoint}' -H 'Content-Type: application/json' -d @request.json"
        )
    finally:
        project.stop_servers()

    for answer in answers:
        assert answer.status_code == 200, answer.text
        outputs = {output["name"]: output for output in answer.json()["outputs"]}
        served = np.asarray(outputs["probabilities"]["data"], np.float32).reshape(-1, 2)
        np.testing.assert_array_equal(served, np.asarray(expected["onnx"], np.float32))
        np.testing.assert_allclose(served, np.asarray(expected["sklearn"]), atol=1e-5)
        assert outputs["label"]["data"] == expected["labels"]
    answered = [json.loads(line) for line in readme.splitlines() if line.startswith('{"')]
    assert answered[-1]["id"].startswith(f"example-{MODEL}-v"), readme
    assert traffic_answer.status_code == 200, traffic_answer.text
    assert "drift gate passed" in monitored, monitored[-3000:]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
