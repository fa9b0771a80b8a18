"""Soak test: 60 s at 1,000 requests/s against one ONNX server on loopback.

    make soak        # or: uv run python benchmarks/soak.py [--seconds 60 --rate 1000]

Serves a 100-tree random forest (the bench-serve model) with routing,
metrics and inference logging on, sends a fixed request rate from a second
process pinned to the other CPU, and samples the server's resident memory
every 5 s. Passes when no request fails and memory stops growing (the last
half of the run adds under 10 % to the RSS at its midpoint).
"""

from __future__ import annotations

import argparse
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

from zenml_integrations.onnx.export.conversion import convert_to_onnx  # noqa: E402

from benchmarks.loadgen import run_fixed_rate  # noqa: E402
from benchmarks.serve import SCHEMA, free_port, train_forest, wait_ready  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000)
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
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready")
        row = frame[features].to_numpy(np.float32)[:1]
        tensor = {"name": "input", "shape": [1, len(features)], "datatype": "FP32"}
        body = json.dumps({"inputs": [{**tensor, "data": row.ravel().tolist()}]}).encode()
        queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
        loader = multiprocessing.Process(
            target=_load, args=(port, body, arguments.rate, arguments.seconds, queue)
        )
        loader.start()
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        while loader.is_alive():
            samples.append((time.monotonic() - started, rss_mib(server.pid)))
            time.sleep(5)
        result = queue.get(timeout=10)
        loader.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
    middle = min(samples, key=lambda sample: abs(sample[0] - arguments.seconds / 2))[1]
    final = samples[-1][1]
    growth = (final - middle) / middle
    print(f"soak: {arguments.seconds:.0f} s at {arguments.rate:.0f} req/s, batch 1, "
          "random forest (100 trees), server on CPU 0, load on CPU 1")  # fmt: skip
    print(f"sent {result.sent}, errors {result.errors}, "
          f"achieved {result.achieved_rps:.0f} req/s, p50 {result.p50_ms:.2f} ms, "
          f"p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms")  # fmt: skip
    print("rss MiB: " + ", ".join(f"{t:.0f}s={rss:.0f}" for t, rss in samples))
    print(f"rss growth over the second half: {growth:+.1%}")
    verdict = result.errors == 0 and growth < 0.10
    print("PASS" if verdict else "FAIL")
    if not verdict:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
