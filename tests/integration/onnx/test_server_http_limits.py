"""HTTP limits at the socket: oversized heads, slow clients, idle and surplus connections.

A real uvicorn server on 127.0.0.1 (the HTTP layer is the point): before these
limits a 60 MB header stalled every client for 11.9 s and a client sending one
byte at a time held its connection forever.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.helpers.onnx_models import logistic_model
from tests.helpers.onnx_server import WEIGHTS, RunningServer, start_server, stop_server

INFER = "/v2/models/churn/infer"
ROW = orjson.dumps(
    {"inputs": [{"name": "input", "shape": [1, 8], "datatype": "FP32", "data": [0.5] * 8}]}
)
# Generous: a socket read that waits this long means the server never answered.
STUCK_SECONDS = 10


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[RunningServer] = []

    def serving(**settings: Any) -> RunningServer:
        started.append(start_server(tmp_path, logistic_model(WEIGHTS), **settings))
        return started[-1]

    yield serving
    for server in started:
        stop_server(server)


def connect(server: RunningServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=STUCK_SECONDS)


def answer(connection: socket.socket) -> tuple[int, bytes]:
    """Status and everything the server sent until it closed the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    status = int(received[9:12]) if received.startswith(b"HTTP/1.1 ") else 0
    return status, received


def infer_status(server: RunningServer) -> int:
    with server.client() as client:
        return client.post(INFER, content=ROW).status_code


def test_given_headers_over_the_limit_then_431_and_the_server_keeps_answering(
    serve: Any,
) -> None:
    server = serve()
    # Given one head just over the default 32 KiB in a single write
    with connect(server) as connection:
        connection.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: "
                           + b"a" * 33 * 1024 + b"\r\n\r\n")  # fmt: skip
        status, received = answer(connection)
    assert status == 431
    assert b"max_header_bytes" in received

    # And one client streaming a 64 MiB header while another sends valid requests
    cut_off: list[OSError] = []

    def stream_a_huge_header() -> None:
        with connect(server) as connection:
            connection.sendall(b"GET / HTTP/1.1\r\nX-Huge: ")
            try:
                for _ in range(1024):
                    connection.sendall(b"a" * 64 * 1024)
            except OSError as error:  # refused and closed early: what the limit is for
                cut_off.append(error)

    streamer = threading.Thread(target=stream_a_huge_header)
    streamer.start()
    statuses = [infer_status(server) for _ in range(20)]
    streamer.join(STUCK_SECONDS)
    assert statuses == [200] * 20
    assert cut_off, "the server read the whole 64 MiB header"


def test_given_a_client_that_stops_mid_head_then_it_gets_408_at_the_header_deadline(
    serve: Any,
) -> None:
    server = serve(header_timeout_seconds=1)
    with connect(server) as connection:
        connection.sendall(b"POST " + INFER.encode() + b" HTTP/1.1\r\nHost: x\r\n")
        status, received = answer(connection)
    assert status == 408
    assert b"header_timeout_seconds" in received


def test_given_a_connection_that_sends_nothing_then_it_is_closed_at_the_header_deadline(
    serve: Any,
) -> None:
    server = serve(header_timeout_seconds=1)
    with connect(server) as connection:
        assert answer(connection) == (0, b"")


def test_given_a_slow_body_then_the_client_is_cut_off_at_the_body_deadline(serve: Any) -> None:
    server = serve(body_timeout_seconds=1)
    with connect(server) as connection:
        connection.sendall(
            f"POST {INFER} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(ROW)}\r\n\r\n".encode()
            + ROW[:10]
        )
        status, received = answer(connection)
    assert status == 408
    assert b"body_timeout_seconds" in received
    assert infer_status(server) == 200


def test_given_an_idle_kept_alive_connection_then_it_closes_after_keep_alive_seconds(
    serve: Any,
) -> None:
    server = serve(keep_alive_seconds=1)
    with connect(server) as connection:
        connection.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _ = answer(connection)  # returns once the server closes the idle connection
    assert status == 200


def test_given_max_connections_open_then_a_request_on_one_more_gets_503(serve: Any) -> None:
    server = serve(max_connections=2)
    with (
        connect(server),  # two connections held open, idle
        connect(server),
        httpx.Client(base_url=server.url, timeout=STUCK_SECONDS) as client,
    ):
        refused = client.get("/v2/health/live")
    assert refused.status_code == 503
    assert infer_status(server) == 200
