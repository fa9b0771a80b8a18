"""Our drift gate's verdict vs Evidently's DataDriftPreset, same data, same method.

    make bench-drift        # or: uv run python benchmarks/drift.py [--rows 100000 --repeats 3]

Generates a reference and a current frame (100k rows x 20 numeric columns by
default, each column its own normal distribution; in the current frame the
first 4 columns move by half a standard deviation), then times
`check_drift` (one ValueDrift test per column) and a `Report` holding
`DataDriftPreset` (dataset-level count, drift table, per-column ValueDrift and
their plots), both from the pandas frames, both with the same per-column method.
Evidently's default for numeric columns over 1,000 rows is the normed
Wasserstein distance; PSI (binned, threshold 0.1) is the default here because
it gives the same verdict on large numeric data at a fraction of the sort cost.
Prints the median of the repeats, the speed-up and whether both found the same
drifted columns (exit status 1 when they did not); a last row times the
verdict with both frames sampled (`sample_rows`), for information. Goals from the drift gate
issue: verdict <= 1.5 s on 2 cores, >= 5x faster than the preset.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from zenml_integrations.evidently.config import DriftGateConfig  # noqa: E402
from zenml_integrations.evidently.gate import check_drift  # noqa: E402

GOAL_SECONDS = 1.5
GOAL_SPEEDUP = 5.0


def make_frames(rows: int, columns: int, shifted: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    names = [f"f{index:02d}" for index in range(columns)]
    means = rng.uniform(-10, 10, columns)
    scales = rng.uniform(0.5, 5, columns)
    reference = pd.DataFrame(rng.normal(means, scales, (rows, columns)), columns=names)
    current = pd.DataFrame(rng.normal(means, scales, (rows, columns)), columns=names)
    current.iloc[:, :shifted] += 0.5 * scales[:shifted]
    return reference, current


def timed(run: Callable[[], set[str]], repeats: int) -> tuple[list[float], set[str]]:
    seconds, drifted = [], set()
    for _ in range(repeats):
        started = time.perf_counter()
        drifted = run()
        seconds.append(time.perf_counter() - started)
    return seconds, drifted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--shifted", type=int, default=4)
    parser.add_argument("--method", default="psi", help="Evidently drift method for every column")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--sample-rows", type=int, default=20_000, help="also time the verdict sampled; 0 = skip"
    )
    arguments = parser.parse_args()

    reference, current = make_frames(arguments.rows, arguments.columns, arguments.shifted)
    names = list(reference.columns)
    config = DriftGateConfig(numerical_columns=names, numerical_method=arguments.method)

    started = time.perf_counter()
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    import_seconds = time.perf_counter() - started
    definition = DataDefinition(
        numerical_columns=names,
        categorical_columns=[],
        text_columns=[],
        datetime_columns=[],
        unknown_columns=[],
        list_columns=[],
    )

    def ours() -> set[str]:
        verdict = check_drift(reference, current, config)
        return {column.column for column in verdict.drifted_columns}

    def preset() -> set[str]:
        snapshot = Report(
            [DataDriftPreset(columns=names, method=arguments.method)], include_tests=True
        ).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        return {
            test["metric_config"]["params"]["column"]
            for test in snapshot.dict()["tests"]
            if test["metric_config"]["params"]["type"].endswith(":ValueDrift")
            and test["status"] != "SUCCESS"
        }

    warm = reference.head(2_000), current.head(2_000)
    check_drift(*warm, config)  # first-call costs (Evidently's registries, plotly) off the clock
    results = {
        "ours: check_drift": timed(ours, arguments.repeats),
        "evidently: DataDriftPreset": timed(preset, arguments.repeats),
    }
    if arguments.sample_rows:
        sampled = config.model_copy(update={"sample_rows": arguments.sample_rows})
        results[f"ours: sample_rows={arguments.sample_rows:,}"] = timed(
            lambda: {c.column for c in check_drift(reference, current, sampled).drifted_columns},
            arguments.repeats,
        )

    print(
        f"{arguments.rows:,} rows x {arguments.columns} numeric columns, "
        f"{arguments.shifted} shifted by 0.5 sd, method {arguments.method}, "
        f"median of {arguments.repeats}, {os.cpu_count()} CPUs, "
        f"evidently import {import_seconds:.1f} s (not timed below)"
    )
    print(f"{'run':<32}{'median s':>9}{'min s':>8}{'vs preset':>11}  drifted columns")
    preset_median = statistics.median(results["evidently: DataDriftPreset"][0])
    for name, (seconds, drifted) in results.items():
        median = statistics.median(seconds)
        print(
            f"{name:<32}{median:>9.2f}{min(seconds):>8.2f}{preset_median / median:>10.1f}x"
            f"  {', '.join(sorted(drifted))}"
        )
    ours_seconds = statistics.median(results["ours: check_drift"][0])
    speedup = preset_median / ours_seconds
    same = results["ours: check_drift"][1] == results["evidently: DataDriftPreset"][1]
    print(
        f"goals: verdict <= {GOAL_SECONDS} s: {'ok' if ours_seconds <= GOAL_SECONDS else 'MISSED'}"
        f" ({ours_seconds:.2f} s); >= {GOAL_SPEEDUP:.0f}x preset: "
        f"{'ok' if speedup >= GOAL_SPEEDUP else 'MISSED'} ({speedup:.1f}x); "
        f"same drifted columns: {'ok' if same else 'NO'}"
    )
    if not same:
        sys.exit("the verdict and the preset disagree on which columns drifted")


if __name__ == "__main__":
    main()
