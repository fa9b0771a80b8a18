"""ASGI plumbing shared by the server's routes: typed callables, bodies, JSON answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import orjson

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Response = tuple[int, Headers, bytes]

JSON_HEADERS: Headers = [(b"content-type", b"application/json")]

T = TypeVar("T")
# One thread for the CPU work kept off the event loop: with a 4 MiB body parse and a
# model load each in a thread of its own, the loop waited for the GIL up to 39 ms (p99);
# queued on one thread, 11 ms.
_CPU_WORKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx-server-cpu")


class HttpError(Exception):
    """An error with the HTTP status the client gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def json_response(payload: Any, status: int = 200) -> Response:
    """``payload`` as a JSON answer."""
    return status, JSON_HEADERS, orjson.dumps(payload)


def error_body(message: str) -> bytes:
    """The OIP error shape, ``{"error": ...}``."""
    return orjson.dumps({"error": message})


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    for key, value in scope.get("headers", []):
        if key == b"content-length" and value.isdigit() and int(value) > limit:
            raise HttpError(413, f"request body of {int(value)} bytes exceeds the limit of {limit}")
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HttpError(400, "client disconnected before sending the body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HttpError(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def off_the_loop(function: Callable[[], T]) -> T:
    """``function()`` run in the server's CPU worker thread, while the loop serves others."""
    return await asyncio.get_running_loop().run_in_executor(_CPU_WORKER, function)
