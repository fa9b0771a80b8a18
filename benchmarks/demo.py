"""Time the demo's training pipeline and its drift step, each against a peer in the same run.

    make bench-demo        # or: uv run python benchmarks/demo.py

Clones the kit's committed HEAD (so work in progress in the checkout cannot
change the figures), scaffolds a project from it with default answers (its
own ZenML store), applies the local stack, then times `python run.py train`
three ways: first run, cached rerun, and an uncached rerun (the peer that shows
what caching saves). For each it reports the command's wall time and ZenML's
own figure for the pipeline run. Then `demo_drift_step.py` times the drift
step's parts on the demo's split: the verdict, and the report from a bounded
sample against the report from every row. Goals (2 cores): first run under
90 s, cached rerun under 30 s, the uncached pipeline under 30 s.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier

REPO_ROOT = Path(__file__).resolve().parents[1]
GOALS = {"first run": 90.0, "cached rerun": 30.0}
PIPELINE_GOAL = ("uncached rerun (peer)", 30.0)
_FINISHED = re.compile(r"Pipeline run has finished in `?((?:[\d.]+[hms])+)")


def run(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    output = re.sub(r"\x1b\[[0-9;]*m", "", completed.stdout + completed.stderr)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{output[-6000:]}")
    return elapsed, output


def pipeline_seconds(output: str) -> float:
    """ZenML's own duration of the pipeline run ("21.055s", "1m3.2s")."""
    match = _FINISHED.search(output)
    if match is None:
        return float("nan")
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)([hms])", match.group(1)))


def main() -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        sys.exit("uv not found: run through `make bench-demo`")
    os.environ.pop("VIRTUAL_ENV", None)  # the kit's own; each project has its .venv
    workdir = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    os.environ.update(
        ZENML_CONFIG_PATH=str(workdir / "zenml"),
        ZENML_ANALYTICS_OPT_IN="false",
        DO_NOT_TRACK="true",
    )
    kit = workdir / "kit"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(kit)], check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=kit, capture_output=True, text=True, check=True
    ).stdout.strip()
    project = workdir / "project"
    copier.run_copy(
        str(kit),
        str(project),
        data={"kit_requirement": f"zenml-mlops-kit[gx,mlflow,onnx,evidently] @ file://{kit}"},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    setup, _ = run(["make", "stack", f"UV={uv}"], project)
    train = [uv, "run", "python", "run.py", "train"]
    timings = {
        "first run": run(train, project),
        "cached rerun": run(train, project),
        "uncached rerun (peer)": run([*train, "--no-cache"], project),
    }
    _, drift = run([uv, "run", "python", str(kit / "benchmarks" / "demo_drift_step.py")], project)

    print(
        f"kit commit {commit}; setup (uv sync + stack apply): {setup:.1f} s, {os.cpu_count()} CPUs"
    )
    print(f"{'run':<24}{'wall s':>8}{'pipeline s':>12}{'vs uncached':>13}{'goal':>12}")
    peer = timings["uncached rerun (peer)"][0]
    for name, (seconds, output) in timings.items():
        inside = pipeline_seconds(output)
        goal = GOALS.get(name)
        verdict = (
            "" if goal is None else (f"wall<{goal:.0f} " + ("ok" if seconds < goal else "MISSED"))
        )
        if name == PIPELINE_GOAL[0]:
            limit = PIPELINE_GOAL[1]
            verdict = f"pipe<{limit:.0f} " + ("ok" if inside < limit else "MISSED")
        print(f"{name:<24}{seconds:>8.1f}{inside:>12.1f}{seconds / peer:>12.2f}x{verdict:>12}")
    steps = re.findall(
        r"Step (\w+) has finished in `?([\d.]+)s", timings["uncached rerun (peer)"][1]
    )
    print("uncached steps: " + ", ".join(f"{step} {float(s):.1f}" for step, s in steps))
    print(drift.strip())
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
