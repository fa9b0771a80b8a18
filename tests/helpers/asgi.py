"""Call an ASGI app in this process, without a socket: for many cheap requests in one test."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class AsgiResponse:
    """Status, headers (lower-case names) and body of one answer."""

    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def call(
    app: Any,
    method: str,
    path: str,
    body: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> AsgiResponse:
    """One HTTP request through ``app``, as uvicorn would deliver it (body in one message)."""
    scope = {"type": "http", "method": method, "path": path, "headers": list(headers)}
    chunks = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop() if chunks else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, content = sent
    return AsgiResponse(start["status"], dict(start["headers"]), content["body"])
