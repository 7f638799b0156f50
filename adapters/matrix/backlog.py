"""The Matrix adapter's private-message queue: its depth is the core's burst signal.

Why: whether a join is part of a burst (bot/bursts.py) depends on how many private reminders
wait to go out, which only the adapter knows: joins handed over but not yet handled (each
will need one), and private messages queued or under way. The homeserver answering with
rate limits (HTTP 429, M_LIMIT_EXCEEDED; nio waits and retries them itself) counts as a
burst for a few seconds too. Private sends go out a few at a time, so a burst's background
sends neither swamp the homeserver nor starve the room's own posts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from nio import AsyncClient

from bot.events import Event, MemberJoined

PRIVATE_SLOTS = 8  # private messages under way at once
LIMITED_FOR_S = 10.0  # a rate limit counts as a burst this long after the homeserver said so


def _newcomer(event: Event) -> bool:
    return isinstance(event, MemberJoined) and not event.room.is_private_chat


class PrivateBacklog:
    def __init__(self, slots: int = PRIVATE_SLOTS) -> None:
        self._slots = asyncio.Semaphore(slots)
        self.sending = 0  # private messages queued or under way
        self.joins_waiting = 0  # joins received, not yet handed to the core
        self._limited_until = 0.0
        self._batch_depth = 0  # the depth when the batch being handed over began

    @property
    def depth(self) -> int:
        return self.sending + self.joins_waiting

    def rate_limited(self) -> bool:
        return time.monotonic() < self._limited_until

    def watch(self, client: AsyncClient) -> None:
        """Notes every rate-limited answer the client gets (before nio retries it)."""
        send = client.send

        async def noting(*args: Any, **kwargs: Any) -> Any:
            response = await send(*args, **kwargs)
            if getattr(response, "status", None) == 429:
                self._limited_until = time.monotonic() + LIMITED_FOR_S
            return response

        client.send = noting  # type: ignore[method-assign]

    def received(self, events: list[Event]) -> int:
        """A sync's events, queued for the core; how many of them are joins (of rooms, not
        of the bot's private chats: a member opening theirs needs no reminder)."""
        joins = sum(_newcomer(e) for e in events)
        self.joins_waiting += joins
        return joins

    def batch_started(self) -> None:
        """The joins of one batch are handed over side by side: each of them is told the
        depth the batch arrived to (the last of fifty joins is as much a burst as the first,
        though by the time it is handed over the others no longer count as waiting)."""
        self._batch_depth = self.depth

    def handing_over(self, event: Event) -> Event:
        """A join as handed to the core: with the depth of the queue it joins."""
        if not isinstance(event, MemberJoined) or not _newcomer(event):
            return event
        self.joins_waiting = max(0, self.joins_waiting - 1)
        depth = max(self.depth, self._batch_depth - 1)  # the others, not the join itself
        return dataclasses.replace(event, private_backlog=depth, rate_limited=self.rate_limited())

    @asynccontextmanager
    async def sending_one(self) -> AsyncIterator[None]:
        self.sending += 1
        try:
            async with self._slots:
                yield
        finally:
            self.sending -= 1
