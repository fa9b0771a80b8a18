"""Log records rate-limited per source, so one fault repeated per request cannot flood the log.

A request that breaks the same line a thousand times a second would write a
traceback of about a kilobyte each time; the first is what an operator needs,
the rest only how many there were. ``/metrics`` counts every one of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import Any


class LogThrottle:
    """At most one record per key every ``interval_seconds``; the ones held back are counted.

    The count is reported with the next record of the same key. Keys are places
    in the code (an error site, a folder), so the table stays small.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._last: dict[Hashable, tuple[float, int]] = {}

    def log(self, key: Hashable, level: int, message: str, *args: Any, **kwargs: Any) -> bool:
        """Log ``message % args`` unless ``key`` logged less than the interval ago."""
        now = self._clock()
        last, held_back = self._last.get(key, (-float("inf"), 0))
        if now - last < self.interval_seconds:
            self._last[key] = (last, held_back + 1)
            return False
        self._last[key] = (now, 0)
        if held_back:
            message += f" ({held_back} more like this in the last {now - last:.0f} s not logged)"
        self.logger.log(level, message, *args, **kwargs)
        return True

    def exception(self, error: BaseException, message: str, *args: Any) -> bool:
        """Log ``error``'s traceback at most once per interval for the line that raised it."""
        return self.log(error_site(error), logging.ERROR, message, *args, exc_info=error)


def error_site(error: BaseException) -> tuple[str, str, int]:
    """The error's type and the file and line that raised it (the innermost frame)."""
    frame = error.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return type(error).__name__, "", 0
    return type(error).__name__, frame.tb_frame.f_code.co_filename, frame.tb_lineno
