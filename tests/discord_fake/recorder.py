"""What the bot said to the fake, kept in order and waitable.

Assertions are made on the wire traffic (the protocol is the contract), and every wait is bounded
so a bot that never makes the expected call fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any  # decoded JSON body (payload_json for multipart), None if there was none
    headers: dict[str, str]
    status: int = 0
    known_route: bool = True
    files: tuple[str, ...] = ()
    at: float = field(default_factory=time.monotonic)  # when the fake answered

    def matches(self, method: str, route: str) -> bool:
        return self.method == method.upper() and route_regex(route).fullmatch(self.path) is not None


@dataclass(frozen=True)
class GatewayFrame:
    """A frame the client sent over the gateway (op + data), in arrival order."""

    op: int
    d: Any
    connection: int  # which socket (1-based) carried it, to tell reconnects apart


@dataclass
class Recorder(Generic[T]):
    items: list[T] = field(default_factory=list)
    _changed: asyncio.Condition | None = None

    def mark(self) -> int:
        """Position to pass as ``since`` so a wait ignores what already happened."""
        return len(self.items)

    async def add(self, item: T) -> None:
        self.items.append(item)
        cond = self._condition()
        async with cond:
            cond.notify_all()

    def find(self, predicate: Callable[[T], bool], *, since: int = 0) -> list[T]:
        return [item for item in self.items[since:] if predicate(item)]

    async def wait_for(
        self,
        predicate: Callable[[T], bool],
        *,
        since: int = 0,
        count: int = 1,
        timeout: float = 3.0,
    ) -> list[T]:
        """Return the first ``count`` matching items, waiting at most ``timeout`` seconds."""
        cond = self._condition()

        def ready() -> bool:
            return len(self.find(predicate, since=since)) >= count

        async with cond:
            try:
                await asyncio.wait_for(cond.wait_for(ready), timeout)
            except TimeoutError:
                seen = len(self.find(predicate, since=since))
                raise TimeoutError(
                    f"waited {timeout}s for {count} matching item(s), saw {seen}"
                ) from None
        return self.find(predicate, since=since)[:count]

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed


_PLACEHOLDER = re.compile(r"\{[^/{}]+\}")


def route_regex(route: str) -> re.Pattern[str]:
    """``/channels/{channel_id}/messages`` → a regex where each placeholder is one segment."""
    parts = _PLACEHOLDER.split(route)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))

