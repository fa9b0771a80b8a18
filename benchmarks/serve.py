"""Throughput and latency of our ONNX server vs `mlflow models serve`, same model, same load.

    make bench-serve        # or: uv run python benchmarks/serve.py [--seconds 10]

Trains a 100-tree random forest on the bundled sample, saves it as an MLflow
scikit-learn model and as ONNX, starts both servers on 127.0.0.1 pinned to CPU
0, and drives each with Debian's `wrk` pinned to CPU 1 (same connections, same
duration) at batch 1 and batch 64. A bare ASGI route around the same
onnxruntime session (benchmarks/bare_asgi.py: no routing, validation, metrics
or logging) runs beside them as the ceiling for any Python server here.
Single-thread onnxruntime in a process pinned to CPU 0 is the upper limit,
measured twice: with CPU 1 idle, and with CPU 1 busy, as it is while wrk drives
a server (on this VM a busy CPU 1 slows a tree ensemble on CPU 0 by about 1.5x:
the two vCPUs share the host's caches). Memory speed also drifts by up to 2x
within minutes, so raw onnxruntime is measured right before and right after
each of our runs, and the median of several such rounds is reported. Ours is
driven twice per round: JSON ("ours") and Triton's binary tensor data with
binary outputs ("ours bin", tritonclient's default). Needs `wrk` (apt-get
install wrk) and Linux `taskset`.

A third run per round drives the gRPC endpoint ("ours grpc": ModelInfer with
raw_input_contents, as tritonclient and kserve send it) with
benchmarks/grpc_load.py pinned to CPU 1, since wrk speaks no HTTP/2.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from zenml_integrations.onnx.export.conversion import convert_to_onnx  # noqa: E402
from zenml_integrations.onnx.export.parity import run_onnx  # noqa: E402
from zenml_integrations.training.dataset import DatasetSchema, check_table  # noqa: E402
from zenml_integrations.training.models import ModelSpec, build_estimator  # noqa: E402
from zenml_integrations.training.sample_data import generate_sample  # noqa: E402

from benchmarks.grpc_load import infer_request, run_grpc_load  # noqa: E402
from benchmarks.loadgen import LoadResult, run_fixed_rate  # noqa: E402

T = TypeVar("T")
BUSY = (True, False)

SCHEMA = DatasetSchema(
    problem_type="binary_classification",
    target_column="churned",
    entity_column="customer_id",
    timestamp_column="event_timestamp",
)


def train_forest(rows: int) -> tuple[pd.DataFrame, list[str], Pipeline]:
    """The benchmark model: a 100-tree random forest on ``rows`` sample rows."""
    frame = generate_sample(rows)
    features = check_table(frame, SCHEMA)
    model = build_estimator(
        ModelSpec(family="random_forest", params={"n_estimators": 100}), SCHEMA.problem_type
    ).fit(frame[features], frame[SCHEMA.target_column])
    model.steps[-1][1].set_params(n_jobs=1)  # serving-time prediction on one core, like ONNX
    return frame, features, model


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not become ready")


def _lua_string(data: bytes) -> str:
    """``data`` as a Lua string literal (decimal escapes for anything but plain ASCII)."""
    plain = {ord(char) for char in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
             " _-.,:;{}[]()+*/=<>!?#$%&@^|~`'"}  # fmt: skip
    return '"' + "".join(chr(byte) if byte in plain else f"\\{byte:03d}" for byte in data) + '"'


def binary_body(batch: np.ndarray) -> tuple[bytes, dict[str, str]]:
    """A request in Triton's binary tensor format, with its headers.

    It asks for binary outputs, as tritonclient does by default.
    """
    header = json.dumps({
        "inputs": [{"name": "input", "shape": list(batch.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": batch.nbytes}}],
        "parameters": {"binary_data_output": True},
    }).encode()  # fmt: skip
    headers = {"Content-Type": "application/octet-stream",
               "Inference-Header-Content-Length": str(len(header))}  # fmt: skip
    return header + np.ascontiguousarray(batch, np.float32).tobytes(), headers


def wrk(
    url: str, body: str | bytes, seconds: int, connections: int,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:  # fmt: skip
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    data = body.encode() if isinstance(body, str) else body
    header_lines = "".join(
        f"wrk.headers[{_lua_string(name.encode())}] = {_lua_string(value.encode())}\n"
        for name, value in (headers or {"Content-Type": "application/json"}).items()
    )
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {_lua_string(data)}\n"
        f"{header_lines}"
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("RESULT %d %d %d %f %f\\n", summary.requests,'
        " summary.errors.status + summary.errors.connect + summary.errors.read +"
        " summary.errors.write + summary.errors.timeout, summary.duration,"
        " latency:percentile(50), latency:percentile(99)))\n"
        "end\n"
    )
    output = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s",
         str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    script.unlink()
    match = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)", output)
    if match is None:
        raise RuntimeError(output)
    requests, errors, duration_us, p50_us, p99_us = match.groups()
    return {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "errors": int(errors),
        "p50_ms": float(p50_us) / 1e3,
        "p99_ms": float(p99_us) / 1e3,
    }


def on_cpu(cpu: int, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` in a child process pinned to ``cpu``."""
    with multiprocessing.get_context("fork").Pool(1, initializer=os.sched_setaffinity,
                                                   initargs=(0, {cpu})) as pool:  # fmt: skip
        return pool.apply(function, args, kwargs)


def run_in_other_cpu(port: int, body: str, *, rate: float, seconds: float) -> LoadResult:
    """The open-loop generator on CPU 1, away from the server."""
    path = "/v2/models/churn/infer"
    return on_cpu(1, run_fixed_rate, "127.0.0.1", port, path, body.encode(), rate=rate,
                  seconds=seconds)  # fmt: skip


def _answers(url: str, batch: np.ndarray) -> bool:
    import httpx

    tensor = {"name": "input", "shape": list(batch.shape), "datatype": "FP32",
              "data": batch.ravel().tolist()}  # fmt: skip
    try:
        return httpx.post(url, json={"inputs": [tensor]}, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def raw_onnxruntime(onnx_bytes: bytes, rows: np.ndarray, seconds: float) -> float:
    """Rows per second of single-thread onnxruntime at this batch size, in this process."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    feed = {"input": rows}
    count = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        session.run(names, feed)
        count += 1
    return count * len(rows) / (time.perf_counter() - started)


def _spin(seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        pass


def raw_on_cpu0(onnx_bytes: bytes, rows: np.ndarray, seconds: float, *, cpu1_busy: bool) -> float:
    """Raw onnxruntime where the server runs, optionally with CPU 1 kept busy meanwhile."""
    if not cpu1_busy:
        return on_cpu(0, raw_onnxruntime, onnx_bytes, rows, seconds)
    spinner = multiprocessing.get_context("fork").Process(target=_spin, args=(seconds + 1.0,))
    spinner.start()
    os.sched_setaffinity(spinner.pid, {1})
    try:
        return on_cpu(0, raw_onnxruntime, onnx_bytes, rows, seconds)
    finally:
        spinner.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="our runs per batch size")
    arguments = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    import mlflow.sklearn

    workdir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    frame, features, model = train_forest(60_000)
    onnx_bytes = convert_to_onnx(model, features, SCHEMA.problem_type)
    onnx_path = workdir / "model.onnx"
    onnx_path.write_bytes(onnx_bytes)
    mlflow_path = workdir / "mlflow-model"
    mlflow.sklearn.save_model(model, str(mlflow_path), serialization_format="cloudpickle")

    sample = frame[features].to_numpy(np.float32)
    batches = {1: sample[:1], 64: sample[:64]}
    expected = run_onnx(onnx_bytes, batches[64])["probabilities"]
    ours_port, mlflow_port, bare_port = free_port(), free_port(), free_port()
    grpc_port = free_port()
    # Metrics are always on; inference logging is switched on as in production.
    server_config = workdir / "server.json"
    server_config.write_text(json.dumps({"model_name": "churn", "port": ours_port,
                                         "grpc_port": grpc_port,
                                         "inference_log_dir": str(workdir / "logs")}))  # fmt: skip
    # `mlflow models serve` execs `uvicorn` from PATH: put this environment's first.
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    servers = [
        subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "zenml_integrations.onnx.server",
             "--model", str(onnx_path), "--version", "1", "--config", str(server_config)],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, "-m", "mlflow", "models", "serve", "-m",
             str(mlflow_path), "--env-manager", "local", "--host", "127.0.0.1", "--port",
             str(mlflow_port), "--workers", "1"],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            ["taskset", "-c", "0", sys.executable, str(REPO_ROOT / "benchmarks" / "bare_asgi.py"),
             str(onnx_path), str(bare_port)],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
    ]  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{ours_port}/v2/health/ready")
        wait_ready(f"http://127.0.0.1:{mlflow_port}/ping")
        import httpx

        bare_url = f"http://127.0.0.1:{bare_port}/"
        deadline = time.monotonic() + 60
        while not _answers(bare_url, batches[1]) and time.monotonic() < deadline:
            time.sleep(0.3)

        check = httpx.post(
            f"http://127.0.0.1:{ours_port}/v2/models/churn/infer",
            json={"inputs": [{"name": "input", "shape": [64, len(features)], "datatype": "FP32",
                              "data": batches[64].ravel().tolist()}]},
        ).json()  # fmt: skip
        served = np.asarray(check["outputs"][1]["data"], np.float32).reshape(expected.shape)
        assert np.allclose(served, expected), "our server disagrees with onnxruntime"
        body, headers = binary_body(batches[64])
        answer = httpx.post(f"http://127.0.0.1:{ours_port}/v2/models/churn/infer",
                            content=body, headers=headers)  # fmt: skip
        length = int(answer.headers["inference-header-content-length"])
        label_bytes = json.loads(answer.content[:length])["outputs"][0]["parameters"]
        offset = length + label_bytes["binary_data_size"]
        served = np.frombuffer(answer.content[offset:], np.float32).reshape(expected.shape)
        assert np.allclose(served, expected), "our binary answer disagrees with onnxruntime"

        # The fixed-rate run goes first, before the peers' loads have run on CPU 0.
        tensor = {"name": "input", "shape": list(batches[1].shape), "datatype": "FP32"}
        fixed_rate = run_in_other_cpu(
            ours_port, json.dumps({"inputs": [{**tensor, "data": batches[1].ravel().tolist()}]}),
            rate=1000, seconds=arguments.seconds,
        )  # fmt: skip
        results: dict[tuple[str, int], dict[str, float]] = {}
        raw: dict[tuple[str, int], dict[bool, float]] = {}  # beside each median run
        for rows, batch in batches.items():
            tensor = {"name": "input", "shape": list(batch.shape), "datatype": "FP32"}
            ours_body = json.dumps({"inputs": [{**tensor, "data": batch.ravel().tolist()}]})
            mlflow_body = json.dumps(
                {"dataframe_split": {"columns": features, "data": batch.tolist()}}
            )
            binary, binary_headers = binary_body(batch)
            grpc_message = infer_request("churn", batch)
            ours_url = f"http://127.0.0.1:{ours_port}/v2/models/churn/infer"
            rounds: dict[str, list[tuple[dict[str, float], dict[bool, float]]]] = {
                "ours": [], "ours bin": [], "ours grpc": []}  # fmt: skip
            bare_runs = []
            for _ in range(arguments.rounds):
                before = [raw_on_cpu0(onnx_bytes, batch, 1.5, cpu1_busy=busy) for busy in BUSY]
                ours = wrk(ours_url, ours_body, arguments.seconds, arguments.connections)
                ours_binary = wrk(ours_url, binary, arguments.seconds, arguments.connections,
                                  binary_headers)  # fmt: skip
                bare_runs.append(wrk(bare_url, ours_body, arguments.seconds, arguments.connections))
                ours_grpc, grpc_outputs = on_cpu(
                    1, run_grpc_load, f"127.0.0.1:{grpc_port}", grpc_message,
                    seconds=arguments.seconds, concurrency=arguments.connections,
                )  # fmt: skip
                assert np.allclose(grpc_outputs["probabilities"], expected[:rows]), (
                    "our gRPC answer disagrees with onnxruntime"
                )
                after = [raw_on_cpu0(onnx_bytes, batch, 1.5, cpu1_busy=busy) for busy in BUSY]
                reference = {busy: (before[i] + after[i]) / 2 for i, busy in enumerate(BUSY)}
                rounds["ours"].append((ours, reference))
                rounds["ours bin"].append((ours_binary, reference))
                rounds["ours grpc"].append((asdict(ours_grpc), reference))
            for name, runs in rounds.items():
                runs.sort(key=lambda pair: pair[0]["rps"] * rows / pair[1][True])
                results[(name, rows)], raw[(name, rows)] = runs[len(runs) // 2]
            bare_runs.sort(key=lambda run: run["rps"])
            results[("bare asgi", rows)] = bare_runs[len(bare_runs) // 2]
            results[("mlflow", rows)] = wrk(
                f"http://127.0.0.1:{mlflow_port}/invocations",
                mlflow_body, arguments.seconds, arguments.connections,
            )  # fmt: skip
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"model: random forest, 100 trees, {len(features)} features; "
          f"{arguments.connections} connections, {arguments.seconds} s per run; "
          "servers on CPU 0, wrk on CPU 1; "
          f"ours and raw onnxruntime: median of {arguments.rounds} bracketed rounds")  # fmt: skip
    print(f"{'server':<10}{'batch':>6}{'req/s':>10}{'rows/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'errors':>8}")  # fmt: skip
    for (name, rows), result in results.items():
        rps, p50, p99 = result["rps"], result["p50_ms"], result["p99_ms"]
        print(f"{name:<10}{rows:>6}{rps:>10.0f}{rps * rows:>11.0f}"
              f"{p50:>9.2f}{p99:>9.2f}{result['errors']:>8.0f}")  # fmt: skip
    for rows in batches:
        for busy in BUSY:
            label = "raw busy" if busy else "raw idle"
            measured = raw[("ours", rows)][busy]
            print(f"{label:<10}{rows:>6}{measured / rows:>10.0f}{measured:>11.0f}")
    print(f"ours at a fixed {fixed_rate.achieved_rps:.0f} req/s (batch 1, open loop): "
          f"p50 {fixed_rate.p50_ms:.2f} ms, p99 {fixed_rate.p99_ms:.2f} ms, "
          f"errors {fixed_rate.errors}")  # fmt: skip
    for rows in batches:
        theirs = results[("mlflow", rows)]
        bare = results[("bare asgi", rows)]["rps"]
        for name in ("ours", "ours bin", "ours grpc"):
            ours, reference = results[(name, rows)], raw[(name, rows)]
            served = ours["rps"] * rows
            print(f"batch {rows} {name}: /mlflow {ours['rps'] / theirs['rps']:.1f}x, "
                  f"/bare ASGI route {ours['rps'] / bare:.2f}, "
                  f"rows/s vs raw onnxruntime {served / reference[True]:.2f} (CPU 1 busy), "
                  f"{served / reference[False]:.2f} (CPU 1 idle)")  # fmt: skip


if __name__ == "__main__":
    main()
