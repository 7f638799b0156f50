"""Time as a dependency, so schedules and timeouts are tested without sleeping."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when a test says so; sleepers wake in deadline order."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._sleepers: list[tuple[datetime, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        wake = self._now + timedelta(seconds=max(seconds, 0))
        heapq.heappush(self._sleepers, (wake, next(self._seq), future))
        await future

    async def advance(self, delta: timedelta | float) -> None:
        """Move time forward, waking every sleeper whose deadline has passed, in order."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        target = self._now + delta
        while self._sleepers and self._sleepers[0][0] <= target:
            wake, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, wake)
            if not future.done():
                future.set_result(None)
            for _ in range(5):  # let woken tasks run before time moves again
                await asyncio.sleep(0)
        self._now = target
