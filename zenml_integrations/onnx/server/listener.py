"""How the server listens: uvicorn's settings from ``ServerConfig``, and the limits uvicorn lacks.

uvicorn's httptools protocol (the fast one) has no bound on the request line
and headers and no deadline before a request's headers or body arrive: a
60 MB header kept the event loop re-copying it for 11.9 s while every other
client waited, and a client that sends one byte a minute holds its connection
forever. ``LimitedHttpToolsProtocol`` adds a head size limit (431) and head
and body deadlines (408), armed only when a read leaves a request unfinished,
so a request that arrives in one read (nearly all of them) starts no timer: an
``asyncio.timeout`` around every body read would cost ~10 us of a ~125 us
request. uvicorn itself closes idle kept-alive connections
(``timeout_keep_alive``) and answers 503 above ``limit_concurrency``.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from zenml_integrations.onnx.server.config import ServerConfig
from zenml_integrations.onnx.server.http import error_body

_IDLE, _HEAD, _BODY = 0, 1, 2  # where the connection is in the request it reads


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head size limit and head and body deadlines."""

    max_header_bytes: ClassVar[int]
    header_timeout_seconds: ClassVar[float]
    body_timeout_seconds: ClassVar[float]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _IDLE
        self._messages_begun = 0
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection has ``header_timeout_seconds`` to send its first request's head."""
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.header_timeout_seconds, self._deadline_passed)

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the pending deadline with the connection."""
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; refuse an oversized head, arm a deadline for an unfinished request."""
        messages_begun = self._messages_begun
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._phase == _HEAD:
            if messages_begun == self._messages_begun:  # all of ``data`` belongs to this head
                self._head_bytes += len(data)
                if self._head_bytes > self.max_header_bytes:
                    self._refuse_large_head()
                    return
            if self._deadline is None:
                self._deadline = self.loop.call_later(
                    self.header_timeout_seconds, self._deadline_passed
                )
        elif self._phase == _BODY and self._deadline is None:
            self._deadline = self.loop.call_later(self.body_timeout_seconds, self._deadline_passed)

    def send_400_response(self, msg: str) -> None:
        """Answer a parse error as uvicorn does, unless this connection was already refused."""
        if not self.transport.is_closing():
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        """The first byte of a request: its head is being read."""
        super().on_message_begin()
        self._phase = _HEAD
        self._messages_begun += 1
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        """The head is complete: check its exact size, then let uvicorn start the request."""
        self._cancel_deadline()
        self._phase = _BODY
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_header_bytes:
            self._refuse_large_head()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """A piece of the body, ignored once the request was refused."""
        if not self.transport.is_closing():
            super().on_body(body)

    def on_message_complete(self) -> None:
        """The whole request arrived: no deadline runs until the next one starts."""
        if self.transport.is_closing():
            return
        self._cancel_deadline()
        self._phase = _IDLE
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Close a connection whose request body is still arriving after the answer.

        The rest of such a body (refused, timed out, or not read by the route)
        would otherwise hold the connection for as long as the client trickles it.
        """
        body_unfinished = self._phase == _BODY and not self.pipeline
        super().on_response_complete()
        if body_unfinished and not self.transport.is_closing():
            self.transport.close()

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase == _HEAD:
            self._refuse(
                HTTPStatus.REQUEST_TIMEOUT,
                f"request headers not received within {self.header_timeout_seconds:g} s "
                "(header_timeout_seconds); send the request line and headers at once",
            )
        elif self._phase == _BODY and self.cycle is not None and not self.cycle.response_started:
            self._refuse(
                HTTPStatus.REQUEST_TIMEOUT,
                f"request body not received within {self.body_timeout_seconds:g} s "
                "(body_timeout_seconds); send it faster or in smaller requests",
            )
        else:  # a connection that never sent a request, or whose answer is under way
            self.transport.close()

    def _refuse_large_head(self) -> None:
        self._refuse(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
            f"request line and headers exceed {self.max_header_bytes} bytes (max_header_bytes); "
            "send smaller headers",
        )

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        """Answer ``status`` with the OIP error shape and close the connection."""
        body = error_body(message)
        head = (
            f"HTTP/1.1 {status.value} {status.phrase}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def limited_protocol(config: ServerConfig) -> type[LimitedHttpToolsProtocol]:
    """The protocol class that enforces ``config``'s head limit and deadlines."""

    class ConfiguredHttpToolsProtocol(LimitedHttpToolsProtocol):
        max_header_bytes = config.max_header_bytes
        header_timeout_seconds = config.header_timeout_seconds
        body_timeout_seconds = config.body_timeout_seconds

    return ConfiguredHttpToolsProtocol


def uvicorn_settings(config: ServerConfig) -> dict[str, Any]:
    """Keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` for a server with ``config``."""
    return {
        "host": config.host,
        "port": config.port,
        "http": limited_protocol(config),
        # uvicorn answers 503 once its count reaches the limit, the asking connection included.
        "limit_concurrency": config.max_connections + 1,
        "timeout_keep_alive": config.keep_alive_seconds,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
    }
