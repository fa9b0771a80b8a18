"""Soak test: 60 s at 1,000 requests/s against one ONNX server on loopback, then churn.

    make soak        # or: uv run python benchmarks/soak.py [--seconds 60 --rate 1000
                     #        --cycles 100 --churn-seconds 60]

Serves a 100-tree random forest (the bench-serve model) with routing,
metrics and inference logging on, sends a fixed request rate from a second
process pinned to the other CPU, and samples the server's resident memory
every 5 s (the steady phase). Then, under the same load, the churn phase runs
``--cycles`` deploy/promote/rollback cycles through the admin API, each with a
new version label, spread over ``--churn-seconds``.

Passes when no request fails in either phase, memory stops growing in the
steady phase (the last half adds under 10 % to the RSS at its midpoint), and
the RSS after the last cycle is within 10 % of the RSS after the first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from zenml_integrations.onnx.admin_client import AdminClient  # noqa: E402
from zenml_integrations.onnx.export.conversion import convert_to_onnx  # noqa: E402

from benchmarks.loadgen import LoadResult, run_fixed_rate  # noqa: E402
from benchmarks.serve import SCHEMA, free_port, train_forest, wait_ready  # noqa: E402

ADMIN_TOKEN = "soak-benchmark-token"
# Never decided by the policy (it waits for min_requests): each cycle promotes and rolls back
# by hand. The default 30 s window: a longer one makes every version keep that much history.
CHURN_ROLLOUT = {"strategy": "canary", "steps": [0.5, 1.0],
                 "policy": {"window_seconds": 30, "min_requests": 10**9}}  # fmt: skip
RSS_GOAL = 0.10


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def _load(
    port: int, body: bytes, rate: float, seconds: float, queue: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    os.sched_setaffinity(0, {1})
    result = run_fixed_rate("127.0.0.1", port, "/v2/models/churn/infer", body, rate=rate,
                            seconds=seconds)  # fmt: skip
    queue.put(result)


def start_load(
    port: int, body: bytes, rate: float, seconds: float
) -> tuple[multiprocessing.Process, multiprocessing.Queue]:  # type: ignore[type-arg]
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    loader = multiprocessing.Process(target=_load, args=(port, body, rate, seconds, queue))
    loader.start()
    return loader, queue


def churn(
    port: int, server_pid: int, model_path: Path, cycles: int, seconds: float,
    loader: multiprocessing.Process,
) -> list[tuple[int, float, float, int]]:  # fmt: skip
    """Deploy, promote and roll back ``cycles`` new labels: (cycle, s, RSS MiB, most loaded)."""
    admin = AdminClient(f"http://127.0.0.1:{port}", ADMIN_TOKEN)
    sha256 = hashlib.sha256(model_path.read_bytes()).hexdigest()
    pace = seconds * 0.8 / cycles  # the load outlasts the last cycle
    rows = []
    started = time.monotonic()
    for cycle in range(1, cycles + 1):
        states = [
            admin.deploy(f"churn-{cycle}", str(model_path), sha256, CHURN_ROLLOUT),
            admin.promote(),
            admin.rollback("soak churn cycle"),
        ]
        loaded = max(len(state["loaded_versions"]) for state in states)
        rows.append((cycle, time.monotonic() - started, rss_mib(server_pid), loaded))
        if not loader.is_alive():
            raise SystemExit(f"the load ended before cycle {cycle}: raise --churn-seconds")
        time.sleep(max(0.0, started + cycle * pace - time.monotonic()))
    return rows


def report(name: str, result: LoadResult) -> None:
    print(f"{name}: sent {result.sent}, errors {result.errors}, "
          f"achieved {result.achieved_rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
          f"p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--churn-seconds", type=float, default=60)
    arguments = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    frame, features, model = train_forest(20_000)
    onnx_path = workdir / "model.onnx"
    onnx_path.write_bytes(convert_to_onnx(model, features, SCHEMA.problem_type))
    port = free_port()
    config = workdir / "server.json"
    config.write_text(json.dumps({"model_name": "churn", "port": port,
                                  "inference_log_dir": str(workdir / "logs")}))  # fmt: skip
    server = subprocess.Popen(
        ["taskset", "-c", "0", sys.executable, "-m", "zenml_integrations.onnx.server",
         "--model", str(onnx_path), "--version", "1", "--config", str(config)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "ONNX_SERVER_ADMIN_TOKEN": ADMIN_TOKEN},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready")
        row = frame[features].to_numpy(np.float32)[:1]
        tensor = {"name": "input", "shape": [1, len(features)], "datatype": "FP32"}
        body = json.dumps({"inputs": [{**tensor, "data": row.ravel().tolist()}]}).encode()
        loader, queue = start_load(port, body, arguments.rate, arguments.seconds)
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        while loader.is_alive():
            samples.append((time.monotonic() - started, rss_mib(server.pid)))
            time.sleep(5)
        result = queue.get(timeout=10)
        loader.join()
        loader, queue = start_load(port, body, arguments.rate, arguments.churn_seconds)
        time.sleep(0.5)  # the load starts 0.2 s after its process
        cycles = churn(port, server.pid, onnx_path, arguments.cycles, arguments.churn_seconds,
                       loader)  # fmt: skip
        churned = queue.get(timeout=arguments.churn_seconds + 30)
        loader.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    middle = min(samples, key=lambda sample: abs(sample[0] - arguments.seconds / 2))[1]
    final = samples[-1][1]
    growth = (final - middle) / middle
    print(f"soak: {arguments.seconds:.0f} s at {arguments.rate:.0f} req/s, batch 1, "
          "random forest (100 trees), server on CPU 0, load on CPU 1")  # fmt: skip
    report("steady", result)
    print("rss MiB: " + ", ".join(f"{t:.0f}s={rss:.0f}" for t, rss in samples))
    print(f"rss growth over the second half: {growth:+.1%}")
    print(f"churn: {arguments.cycles} deploy/promote/rollback cycles with new version labels "
          f"over {arguments.churn_seconds:.0f} s of the same load")  # fmt: skip
    print(f"{'cycle':>6} {'seconds':>8} {'rss MiB':>8} {'loaded':>7}")
    for cycle, seconds, rss, loaded in cycles:
        if cycle == 1 or cycle % 10 == 0:
            print(f"{cycle:>6} {seconds:>8.1f} {rss:>8.1f} {loaded:>7}")
    report("churn", churned)
    first, last = cycles[0][2], cycles[-1][2]
    churn_growth = (last - first) / first
    print(f"rss after the last cycle vs the first: {churn_growth:+.1%} (goal within "
          f"{RSS_GOAL:.0%}); most versions loaded: {max(row[3] for row in cycles)}")  # fmt: skip
    verdict = (
        result.errors == 0 and growth < RSS_GOAL
        and churned.errors == 0 and abs(churn_growth) <= RSS_GOAL
    )  # fmt: skip
    print("PASS" if verdict else "FAIL")
    if not verdict:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
