"""A closed-loop gRPC load generator for the OIP ``ModelInfer`` call, lean enough for one core.

    uv run python benchmarks/grpc_load.py 127.0.0.1:PORT --batch 1 --seconds 10

grpc's own Python client spends ~280 us of CPU per call, so on one core it
tops out near 3,500 calls/s and would measure itself, not the server (as a
Python HTTP client would for REST, which is why bench-serve uses wrk). This
speaks gRPC's HTTP/2 framing directly over one connection: every request is
the same pre-encoded HEADERS frame (HPACK literals that never touch the
dynamic table, so one encoding serves every stream) and DATA frame with a
pre-serialized ``ModelInferRequest`` (raw_input_contents, as tritonclient and
kserve send by default); only the stream id changes. ``concurrency`` streams
stay in flight, each replaced as soon as its answer ended. Flow control,
SETTINGS and PING are answered as HTTP/2 requires.

An answer counts as a success when its stream carried a gRPC message before
it ended: the server sends a message only with status OK, and a refusal is a
trailers-only response. Before the timed run, one answer is decoded and its
outputs returned, so the caller can compare them with onnxruntime. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
from dataclasses import asdict, dataclass

import numpy as np

PATH = b"/inference.GRPCInferenceService/ModelInfer"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
FRAME = struct.Struct(">I B I")  # length (24 bits, in the top of I) is packed by _frame
MAX_WINDOW = 2**31 - 1
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
REPLENISH_BYTES = 1 << 20


@dataclass(frozen=True)
class GrpcLoadResult:
    """What one run measured (latencies from send to the end of the answer, in milliseconds)."""

    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float


def infer_request(model: str, batch: np.ndarray) -> bytes:
    """A serialized ``ModelInferRequest`` for one FP32 ``input`` tensor, as raw contents."""
    from zenml_integrations.onnx.server.proto.grpc_predict_v2_pb2 import ModelInferRequest

    request = ModelInferRequest(model_name=model)
    request.inputs.add(name="input", datatype="FP32", shape=list(batch.shape))
    request.raw_input_contents.append(np.ascontiguousarray(batch, "<f4").tobytes())
    return request.SerializeToString()  # type: ignore[no-any-return]


def answer_outputs(message: bytes) -> dict[str, np.ndarray]:
    """The outputs of a serialized ``ModelInferResponse``."""
    from zenml_integrations.onnx.server.binary import array_from_bytes
    from zenml_integrations.onnx.server.proto.grpc_predict_v2_pb2 import ModelInferResponse

    response = ModelInferResponse.FromString(message)
    return {
        output.name: array_from_bytes(output.name, output.datatype, tuple(output.shape), raw)
        for output, raw in zip(response.outputs, response.raw_output_contents, strict=True)
    }


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return FRAME.pack(len(payload) << 8 | kind, flags, stream) + payload


def _literal(text: bytes) -> bytes:
    """An HPACK string literal without Huffman coding (lengths below 127 here)."""
    if len(text) >= 127:
        raise ValueError(f"header value of {len(text)} bytes; this client sends short ones")
    return bytes([len(text)]) + text


def _header_block(authority: bytes) -> bytes:
    """The request's headers: static-table indexes and literals without indexing."""
    return (
        b"\x83\x86"  # :method POST, :scheme http
        + b"\x04" + _literal(PATH)  # :path (name index 4)
        + b"\x01" + _literal(authority)  # :authority (name index 1)
        + b"\x0f\x10" + _literal(b"application/grpc")  # content-type (name index 31)
        + b"\x00" + _literal(b"te") + _literal(b"trailers")
    )  # fmt: skip


class _Connection(asyncio.Protocol):
    """One HTTP/2 connection that keeps ``concurrency`` ModelInfer calls in flight."""

    def __init__(self, authority: bytes, message: bytes, concurrency: int) -> None:
        self.headers = _header_block(authority)
        self.data = b"\x00" + struct.pack(">I", len(message)) + message
        self.concurrency = concurrency
        self.buffer = bytearray()
        self.next_stream = 1
        self.sent_at: dict[int, float] = {}
        self.answered: set[int] = set()
        self.send_window = 65_535  # the connection's, until the server raises it
        self.waiting = 0  # calls held back by flow control
        self.received = 0
        self.latencies: list[float] = []
        self.errors = 0
        self.first_answer: bytes | None = None
        self.deadline = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        settings = struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW)
        transport.write(
            PREFACE
            + _frame(SETTINGS, 0, 0, settings)
            + _frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", MAX_WINDOW - 65_535))
        )

    def run(self, deadline: float) -> None:
        """Start ``concurrency`` calls; each ended call starts another until ``deadline``."""
        self.deadline = deadline
        for _ in range(self.concurrency):
            self._call()

    def _call(self) -> None:
        assert self.transport is not None
        if self.transport.is_closing():  # the server went away: the run has failed already
            return
        if len(self.data) > self.send_window:
            self.waiting += 1
            return
        self.send_window -= len(self.data)
        stream = self.next_stream
        self.next_stream += 2
        self.sent_at[stream] = time.perf_counter()
        self.transport.write(
            _frame(HEADERS, END_HEADERS, stream, self.headers)
            + _frame(DATA, END_STREAM, stream, self.data)
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        offset = 0
        while len(buffer) - offset >= 9:
            head, flags, stream = FRAME.unpack_from(buffer, offset)
            length, kind = head >> 8, head & 0xFF
            end = offset + 9 + length
            if end > len(buffer):
                break
            self._frame(kind, flags, stream & MAX_WINDOW, bytes(buffer[offset + 9 : end]))
            offset = end
        del buffer[:offset]

    def _frame(self, kind: int, flags: int, stream: int, payload: bytes) -> None:
        if kind == DATA:
            self.answered.add(stream)
            self.received += len(payload)
            if self.first_answer is None:
                self.first_answer = payload[5:]
            if self.received >= REPLENISH_BYTES:
                assert self.transport is not None
                self.transport.write(_frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", self.received)))
                self.received = 0
            if flags & END_STREAM:
                self._ended(stream)
        elif kind == HEADERS and flags & END_STREAM:
            self._ended(stream)
        elif kind == RST_STREAM:
            self.answered.discard(stream)
            self._ended(stream)
        elif kind == SETTINGS and not flags & ACK:
            assert self.transport is not None
            self.transport.write(_frame(SETTINGS, ACK, 0, b""))
        elif kind == PING and not flags & ACK:
            assert self.transport is not None
            self.transport.write(_frame(PING, ACK, 0, payload))
        elif kind == WINDOW_UPDATE and stream == 0:
            self.send_window += struct.unpack(">I", payload)[0] & MAX_WINDOW
            while (
                self.waiting
                and len(self.data) <= self.send_window
                and (time.perf_counter() < self.deadline)
            ):
                self.waiting -= 1
                self._call()
        elif kind == GOAWAY:
            self._fail(RuntimeError(f"the server sent GOAWAY: {payload[8:]!r}"))

    def _ended(self, stream: int) -> None:
        sent = self.sent_at.pop(stream, None)
        if sent is None:
            return
        now = time.perf_counter()
        self.latencies.append(now - sent)
        if stream in self.answered:
            self.answered.discard(stream)
        else:
            self.errors += 1
        if now < self.deadline:
            self._call()
        elif not self.sent_at and not self.done.done():
            self.done.set_result(None)

    def _fail(self, error: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(error)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))


async def _drive(
    host: str, port: int, message: bytes, seconds: float, concurrency: int
) -> tuple[_Connection, float]:
    loop = asyncio.get_running_loop()
    authority = f"{host}:{port}".encode()
    warm_up = _Connection(authority, message, concurrency)
    transport, _ = await loop.create_connection(lambda: warm_up, host, port)
    warm_up.run(time.perf_counter() + 1.0)
    await asyncio.wait_for(warm_up.done, 30)
    transport.close()
    connection = _Connection(authority, message, concurrency)
    transport, _ = await loop.create_connection(lambda: connection, host, port)
    connection.first_answer = warm_up.first_answer
    started = time.perf_counter()
    connection.run(started + seconds)
    await asyncio.wait_for(connection.done, seconds + 30)  # a server that stops answering
    elapsed = time.perf_counter() - started
    transport.close()
    return connection, elapsed


def run_grpc_load(
    address: str, message: bytes, *, seconds: float, concurrency: int = 32
) -> tuple[GrpcLoadResult, dict[str, np.ndarray]]:
    """Drive ``address`` with ``message`` for ``seconds`` after a warm-up second.

    Returns the measurements and the outputs of one answer.
    """
    host, _, port = address.rpartition(":")
    if not host.startswith("127.") and host != "localhost":
        raise ValueError("the load generator only targets loopback addresses")
    connection, elapsed = asyncio.run(_drive(host, int(port), message, seconds, concurrency))
    if connection.first_answer is None:
        raise RuntimeError(f"no answer from {address}: every call failed")
    milliseconds = np.asarray(connection.latencies) * 1e3
    result = GrpcLoadResult(
        requests=len(milliseconds),
        errors=connection.errors,
        rps=len(milliseconds) / elapsed,
        p50_ms=float(np.percentile(milliseconds, 50)),
        p99_ms=float(np.percentile(milliseconds, 99)),
    )
    return result, answer_outputs(connection.first_answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("address", help="host:port of the gRPC endpoint (loopback)")
    parser.add_argument("--model", default="churn")
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    rows = np.random.default_rng(0).normal(size=(arguments.batch, arguments.features))
    message = infer_request(arguments.model, rows.astype(np.float32))
    result, _ = run_grpc_load(
        arguments.address, message, seconds=arguments.seconds, concurrency=arguments.concurrency
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
