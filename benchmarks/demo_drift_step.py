"""The drift step's parts on the demo's own split, inside a generated project.

    uv run python <kit>/benchmarks/demo_drift_step.py     # from the project folder

`benchmarks/demo.py` runs this with the project's environment after the
training pipeline ran. It loads the newest completed run's train/test split and
the stack's drift policy, then times, in one process and after Evidently is
imported: the verdict, and the HTML report drawn from `report_sample_rows`
rows per side (the default) against the same report from 20,000 rows (the
previous fixed sample) and from every row. Median of `--repeats`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from zenml.client import Client
from zenml_integrations.evidently.gate import check_drift, drift_report_html
from zenml_integrations.evidently.validator import ColumnRoles, EvidentlyDriftGate


def median_seconds(work: Callable[[], object], repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats

    client = Client()
    run = client.list_pipeline_runs(
        pipeline_name="training_pipeline", status="completed", sort_by="desc:created", size=1
    ).items[0]
    split = run.steps["split_data"]
    reference = split.outputs["train_data"][0].load()
    current = split.outputs["test_data"][0].load()
    features = split.outputs["feature_columns"][0].load()
    gate = client.active_stack.data_validator
    assert isinstance(gate, EvidentlyDriftGate), "the stack's data validator is not evidently_gate"
    config = gate.gate_config(ColumnRoles.from_frame(reference, features))
    reference, current = reference[features], current[features]

    started = time.perf_counter()
    import evidently.presets  # noqa: F401  (what the step pays once per process)

    import_seconds = time.perf_counter() - started
    verdict = median_seconds(lambda: check_drift(reference, current, config), repeats)
    rows = {
        f"report, {config.report_sample_rows:,} rows/side (default)": config.report_sample_rows,
        "report, 20,000 rows/side (before)": 20_000,
        "report, every row (peer)": max(len(reference), len(current)),
    }
    reports = {
        name: median_seconds(
            lambda size=size: drift_report_html(
                reference, current, config.model_copy(update={"report_sample_rows": size})
            ),
            repeats,
        )
        for name, size in rows.items()
    }
    print(
        f"drift step on the demo split: reference {len(reference):,} x {len(features)}, "
        f"current {len(current):,} rows; median of {repeats}; evidently import "
        f"{import_seconds:.1f} s once per process (not below)"
    )
    print(f"{'part':<40}{'seconds':>9}{'verdict+report':>16}{'vs peer':>9}")
    peer = verdict + reports["report, every row (peer)"]
    print(f"{'verdict (every row)':<40}{verdict:>9.2f}")
    for name, seconds in reports.items():
        total = verdict + seconds
        print(f"{name:<40}{seconds:>9.2f}{total:>16.2f}{total / peer:>8.2f}x")


if __name__ == "__main__":
    main()
