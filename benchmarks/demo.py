"""Time the demo's training pipeline: first run, cached rerun, and an uncached rerun.

    make bench-demo        # or: uv run python benchmarks/demo.py

Scaffolds a project with default answers into a temporary folder (its own
ZenML store), applies the local stack, then times `python run.py train` three
ways. The uncached rerun is the peer that shows what caching saves. Goals from
the spine issue: first run under 90 s, cached rerun under 30 s (2 cores).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import copier

REPO_ROOT = Path(__file__).resolve().parents[1]
GOALS = {"first run": 90.0, "cached rerun": 30.0}


def run(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        tail = (completed.stdout + completed.stderr)[-6000:]
        sys.exit(f"{' '.join(command)} failed:\n{tail}")
    return elapsed


def main() -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        sys.exit("uv not found: run through `make bench-demo`")
    workdir = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    os.environ.update(
        ZENML_CONFIG_PATH=str(workdir / "zenml"),
        ZENML_ANALYTICS_OPT_IN="false",
        DO_NOT_TRACK="true",
    )
    project = workdir / "project"
    copier.run_copy(
        str(REPO_ROOT),
        str(project),
        data={"kit_requirement": f"zenml-mlops-kit[gx,mlflow,onnx,evidently] @ file://{REPO_ROOT}"},
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    setup = run(["make", "stack", f"UV={uv}"], project)
    train = [uv, "run", "python", "run.py", "train"]
    timings = {
        "first run": run(train, project),
        "cached rerun": run(train, project),
        "uncached rerun (peer)": run([*train, "--no-cache"], project),
    }
    print(f"setup (uv sync + stack apply): {setup:.1f} s, {os.cpu_count()} CPUs")
    print(f"{'run':<24}{'seconds':>9}{'vs uncached':>13}{'goal':>8}")
    peer = timings["uncached rerun (peer)"]
    for name, seconds in timings.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else (f"<{goal:.0f} " + ("ok" if seconds < goal else "MISSED"))
        print(f"{name:<24}{seconds:>9.1f}{seconds / peer:>12.2f}x{verdict:>12}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
