"""Valid requests under a body flood and repeated deploys: one client must not stall the others.

    make bench-isolation    # or: uv run python benchmarks/isolation.py [--rounds 3 --seconds 5]

Serves the bench-serve model (a 100-tree random forest, ~9 MiB of ONNX) from
one server process pinned to CPU 0 and sends valid batch-1 requests at a fixed
rate (open loop, latency from the scheduled send time: benchmarks/loadgen.py)
from a process pinned to CPU 1, in four phases of the same run, repeated in
rounds (alone, bodies, deploys, both; alone, ...) so that a burst of other work
on a shared machine hits one round, not one phase:

- ``alone``: the valid load by itself, the peer every other phase is read against;
- ``4 MiB bodies``: one client sends 4 MiB request bodies back to back on one
  connection (a valid V2 tensor of ~18k rows, refused for its row count after
  parsing: the most parsing work a body under the size limit can cost);
- ``deploys``: one admin client deploys the model file again and again (each
  deploy reads, checks and loads it: ~0.2 s of onnxruntime session set-up);
- ``both``: the two together.

Passes when valid requests keep p99 under 25 ms in the ``both`` phase (the
median of its rounds) with no failed request. The attackers run as threads of
this process, also on CPU 1.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from zenml_integrations.onnx.export.conversion import convert_to_onnx  # noqa: E402

from benchmarks.loadgen import LoadResult  # noqa: E402
from benchmarks.serve import SCHEMA, free_port, run_in_other_cpu, train_forest, wait_ready  # noqa: E402

ADMIN_TOKEN = "isolation-benchmark-token"
INFER = "/v2/models/churn/infer"
BODY_BYTES = 4 * 1024 * 1024 - 4096  # just under the server's default body limit (4 MiB)
P99_GOAL_MS = 25.0
# A rollout that never advances: each deploy replaces the challenger, nothing is promoted.
FROZEN_ROLLOUT = {"strategy": "canary", "steps": [0.01, 1.0], "policy": {"window_seconds": 3600}}


class Attacker(threading.Thread):
    """Repeats one request on one keep-alive connection until stopped; counts answers by status."""

    def __init__(self, port: int, path: str, bodies: list[bytes], headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.bodies, self.headers = port, path, bodies, headers
        self.statuses: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        index = 0
        while not self.stopped.is_set():
            connection.request("POST", self.path, self.bodies[index % len(self.bodies)],
                               self.headers)  # fmt: skip
            response = connection.getresponse()
            response.read()
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            index += 1
        connection.close()

    def stop(self) -> dict[int, int]:
        self.stopped.set()
        self.join(timeout=60)
        return self.statuses


def flood_body(n_features: int) -> bytes:
    """A valid V2 tensor request of just under ``BODY_BYTES`` with far more rows than allowed."""
    rows = BODY_BYTES // (n_features * 21)
    values = np.random.default_rng(0).random((rows, n_features)).astype(np.float32)
    tensor = {"name": "input", "shape": [rows, n_features], "datatype": "FP32",
              "data": values.ravel().tolist()}  # fmt: skip
    body = json.dumps({"inputs": [tensor]}).encode()
    if len(body) > BODY_BYTES:
        raise RuntimeError(f"flood body of {len(body)} bytes is over {BODY_BYTES}")
    return body


def deploy_bodies(model_path: Path) -> list[bytes]:
    """Deploy requests for the model file under two alternating challenger labels."""
    sha256 = hashlib.sha256(model_path.read_bytes()).hexdigest()
    request = {"path": str(model_path), "sha256": sha256, "rollout": FROZEN_ROLLOUT}
    return [
        json.dumps({**request, "version": label}).encode()
        for label in ("challenger-a", "challenger-b")
    ]


def serve(model_path: Path, port: int, settings: dict[str, str]) -> subprocess.Popen[bytes]:
    """Our server on CPU 0, with inference logging on as in production."""
    config = model_path.parent.parent / "server.json"
    config.write_text(json.dumps({"model_name": "churn", **settings}))
    command = [sys.executable, "-m", "zenml_integrations.onnx.server", "--model", str(model_path),
               "--version", "1", "--config", str(config), "--port", str(port)]  # fmt: skip
    return subprocess.Popen(
        ["taskset", "-c", "0", *command],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "ONNX_SERVER_ADMIN_TOKEN": ADMIN_TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200, help="valid requests per second")
    arguments = parser.parse_args()

    os.sched_setaffinity(0, {1})  # the attackers' threads stay off the server's CPU
    workdir = Path(tempfile.mkdtemp(prefix="bench-isolation-"))
    frame, features, model = train_forest(60_000)
    model_dir = workdir / "models"
    model_dir.mkdir()
    model_path = model_dir / "champion.onnx"
    model_path.write_bytes(convert_to_onnx(model, features, SCHEMA.problem_type))
    port = free_port()
    server = serve(model_path, port, {"inference_log_dir": str(workdir / "logs"),
                                      "model_dir": str(model_dir)})  # fmt: skip
    row = frame[features].to_numpy(np.float32)[:1]
    tensor = {"name": "input", "shape": [1, len(features)], "datatype": "FP32"}
    valid = json.dumps({"inputs": [{**tensor, "data": row.ravel().tolist()}]})
    flood = flood_body(len(features))
    deploys = deploy_bodies(model_path)
    json_header = {"Content-Type": "application/json"}
    admin_headers = {**json_header, "Authorization": f"Bearer {ADMIN_TOKEN}"}
    phases = {"alone": (False, False), "4 MiB bodies": (True, False),
              "deploys": (False, True), "both": (True, True)}  # fmt: skip
    results: dict[str, list[LoadResult]] = {name: [] for name in phases}
    answers: dict[str, Counter[int]] = {name: Counter() for name in phases}
    try:
        wait_ready(f"http://127.0.0.1:{port}/v2/health/ready")
        for _ in range(arguments.rounds):
            for name, (flooding, deploying) in phases.items():
                attackers = []
                if flooding:
                    attackers.append(Attacker(port, INFER, [flood], json_header))
                if deploying:
                    attackers.append(Attacker(port, "/admin/deploy", deploys, admin_headers))
                for attacker in attackers:
                    attacker.start()
                results[name].append(
                    run_in_other_cpu(port, valid, rate=arguments.rate, seconds=arguments.seconds)
                )
                for attacker in attackers:
                    answers[name].update(attacker.stop())
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"valid batch-1 requests at {arguments.rate:.0f} req/s, open loop; "
          f"{arguments.rounds} rounds of {arguments.seconds:.0f} s per phase; "
          "server on CPU 0, load and attackers on CPU 1")  # fmt: skip
    print(f"{'phase':<14}{'sent':>6}{'errors':>7}{'p50 ms':>8}{'p99 ms':>8}  {'p99 by round':<20}"
          f"{'max ms':>7}  attackers' answers (status x count)")  # fmt: skip
    p99: dict[str, float] = {}
    for name, runs in results.items():
        p99[name] = float(np.median([run.p99_ms for run in runs]))
        rounds = " ".join(f"{run.p99_ms:.1f}" for run in runs)
        statuses = ", ".join(
            f"{status} x {count}" for status, count in sorted(answers[name].items())
        )
        print(f"{name:<14}{sum(run.sent for run in runs):>6}{sum(run.errors for run in runs):>7}"
              f"{np.median([run.p50_ms for run in runs]):>8.2f}{p99[name]:>8.2f}  {rounds:<20}"
              f"{max(run.max_ms for run in runs):>7.1f}  {statuses or '-'}")  # fmt: skip
    errors = sum(run.errors for run in results["both"])
    verdict = errors == 0 and p99["both"] < P99_GOAL_MS
    print(f"both attackers: p99 {p99['both']:.2f} ms (goal < {P99_GOAL_MS:.0f} ms), "
          f"{p99['both'] / p99['alone']:.1f}x the p99 alone, {errors} failed; "
          + ("PASS" if verdict else "FAIL"))  # fmt: skip
    if not verdict:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
