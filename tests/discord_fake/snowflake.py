"""Discord-shaped snowflake ids.

Real ids encode their creation time; discord.py derives ``created_at`` from them, so the fake
hands out genuine snowflakes instead of small counters that would all date from 2015.
"""

from __future__ import annotations

import itertools
import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Monotonic snowflakes: time in the top bits, a per-process increment in the low 12."""

    def __init__(self, worker_id: int = 1, process_id: int = 0) -> None:
        self._worker = worker_id & 0x1F
        self._process = process_id & 0x1F
        self._increment = itertools.count()
        self._last = 0

    def next(self) -> int:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (
            (millis << 22)
            | (self._worker << 17)
            | (self._process << 12)
            | (next(self._increment) & 0xFFF)
        )
        # Never go backwards, even if the clock does or the increment wraps within one ms.
        self._last = max(candidate, self._last + 1)
        return self._last
