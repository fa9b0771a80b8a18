"""An open-loop HTTP/1.1 load generator: a fixed request rate over keep-alive connections.

Latency is measured from each request's scheduled send time, so a slow
server cannot hide queueing delay by slowing the generator down (no
coordinated omission). Loopback only; bounded by count and time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadResult:
    """What a fixed-rate run measured."""

    sent: int
    errors: int
    achieved_rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float


async def _connection(
    host: str, port: int, request: bytes, schedule: list[float], latencies: list[float],
    errors: list[int],
) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for scheduled in schedule:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - scheduled)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


def run_fixed_rate(
    host: str, port: int, path: str, body: bytes, *, rate: float, seconds: float,
    connections: int = 32,
) -> LoadResult:  # fmt: skip
    """Send ``rate`` POST requests per second for ``seconds``; return latency statistics."""
    if not host.startswith("127.") and host != "localhost":
        raise ValueError("the load generator only targets loopback addresses")
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    times = [start + index / rate for index in range(total)]
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        await asyncio.gather(
            *(
                _connection(host, port, request, times[index::connections], latencies, errors)
                for index in range(connections)
            )
        )

    asyncio.run(main())
    elapsed = time.perf_counter() - start
    values = np.asarray(latencies) * 1e3
    return LoadResult(
        sent=len(latencies),
        errors=len(errors),
        achieved_rps=len(latencies) / elapsed,
        p50_ms=float(np.percentile(values, 50)),
        p99_ms=float(np.percentile(values, 99)),
        max_ms=float(values.max()),
    )
