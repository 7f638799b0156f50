"""Which periodic jobs this process runs, when several processes share one store.

Every process ticks (bot/runtime.py), and each tick's work falls into three kinds, each
carried out where it can be and by one process at a time:

- **store-wide** work (forgetting handled replies, purging delivered alerts and old
  check-ins) under the one lease ``store``: any process can do it;
- **member** work, private messages to members (pending reminders resent, scheduled
  check-ins, check-in timeouts) and what goes to a platform as a whole (owed moderator
  alerts, timeouts given back), under ``members:<platform>``, which only a process running
  that platform and receiving its members' private replies asks for;
- **room** work (periodic room reminders) under ``rooms:<platform>:<scope>``, asked for by
  the processes whose adapter serves that scope, and only for the rooms it serves. An
  adapter says what it serves with the optional :class:`Serving` methods (a sharded Discord
  process serves its shards' servers); without them it serves every room of its platform.

A lease runs :data:`LEASE_TICKS` ticks and is renewed at every tick, so a holder that dies
is replaced within ``LEASE_TICKS + 1`` ticks (the lease running out, then the next tick of
another process): 3.5 minutes with the default tick of 60 s. Each job group checks its lease
(holder, epoch, expiry) just before it runs, so a replaced holder stops there. Exactly-once
of each item stays with the store's conditional updates (bot/store/job_rows.py): two
processes that both believe they hold a lease still send an item once.

The leak index's upkeep (bot/leaks_flow) runs in every process: it is that process's own
memory; its retention purge in the store deletes by date, so a second run deletes nothing.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.clock import Clock
from bot.events import Room
from bot.logs import fields
from bot.store import Store

log = logging.getLogger("confidant.jobs")

LEASE_TICKS = 2.5
"""A lease lasts this many ticks: a tick late by more than one and a half ticks (a stalled
process) loses it rather than running beside its replacement."""
STORE_WIDE = "store"

PlatformCheck = Callable[[str], Awaitable[bool]]


def members_lease(platform: str) -> str:
    return f"members:{platform}"


def rooms_lease(platform: str, scope: str) -> str:
    return f"rooms:{platform}:{scope}"


class Serving(Protocol):
    """What an adapter may say about the rooms it serves (both optional, checked with
    ``getattr``): a sharded process serves only its shards' rooms."""

    def serves_room(self, room: Room) -> bool: ...

    def job_scope(self) -> str:
        """Names what it serves; processes serving the same scope share one lease."""
        ...

    def receives_private_messages(self) -> bool:
        """Whether members' private replies reach this process (Discord sends direct
        messages to shard 0 only): member work (check-ins above all, whose conversation
        goes on where the replies arrive) is asked for only where they do."""
        ...


class Duties:
    """One process running alone: every job is its own (how Confidant always ran)."""

    async def store_wide(self) -> bool:
        return True

    async def members(self, platform: str) -> bool:
        return True

    async def rooms(self, room: Room) -> bool:
        return True

    async def runs(self, platform: str) -> bool:
        """Whether this process runs ``platform`` at all (no lease: a start's own work)."""
        return True


EVERYTHING = Duties()


@dataclass
class LeasedDuties(Duties):
    """This tick's duties under the leases this process holds (name → epoch)."""

    store: Store
    clock: Clock
    holder: str
    held: dict[str, int]
    adapters: Mapping[str, object]
    _fenced: dict[str, bool] = field(default_factory=dict)

    async def _holds(self, name: str) -> bool:
        """The fence, read once per tick and lease just before its first job runs."""
        epoch = self.held.get(name)
        if epoch is None:
            return False
        if name not in self._fenced:
            held = await self.store.job_lease_held(name, self.holder, epoch, self.clock.now())
            self._fenced[name] = held
            if not held:
                log.warning(
                    "the lease on %s was taken over before its jobs ran; leaving them",
                    name,
                    extra=fields("job_lease_lost", lease=name),
                )
        return self._fenced[name]

    async def store_wide(self) -> bool:
        return await self._holds(STORE_WIDE)

    async def members(self, platform: str) -> bool:
        return await self._holds(members_lease(platform))

    async def runs(self, platform: str) -> bool:
        return platform in self.adapters

    async def rooms(self, room: Room) -> bool:
        adapter = self.adapters.get(room.platform)
        if adapter is None or not _serves(adapter, room):
            return False
        return await self._holds(rooms_lease(room.platform, _scope(adapter)))


def _serves(adapter: object, room: Room) -> bool:
    serves = getattr(adapter, "serves_room", None)
    return bool(serves(room)) if callable(serves) else True


def _scope(adapter: object) -> str:
    scope = getattr(adapter, "job_scope", None)
    return str(scope()) if callable(scope) else "all"


def _receives_private(adapter: object) -> bool:
    receives = getattr(adapter, "receives_private_messages", None)
    return bool(receives()) if callable(receives) else True


def new_holder() -> str:
    """This process start's id: host, pid and a random part (a restarted process with the
    same pid is a new holder, and waits out its predecessor's lease if it crashed)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class SharedJobs:
    """Takes and renews this process's leases at every tick; releases them at a stop."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        adapters: Mapping[str, object],
        tick_seconds: float,
        holder: str | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.adapters = dict(adapters)
        self.lease = timedelta(seconds=tick_seconds * LEASE_TICKS)
        self.holder = holder or new_holder()
        self.names = [STORE_WIDE]
        for platform, adapter in sorted(self.adapters.items()):
            if _receives_private(adapter):
                self.names.append(members_lease(platform))
            self.names.append(rooms_lease(platform, _scope(adapter)))
        self._held: dict[str, int] = {}

    @property
    def held(self) -> list[str]:
        """The leases this process held at its last tick (for /healthz and tests)."""
        return sorted(self._held)

    @property
    def takeover_bound(self) -> timedelta:
        """The longest a dead holder's jobs wait: its lease, then one tick of another."""
        return self.lease + self.lease / LEASE_TICKS

    async def duties(self) -> LeasedDuties:
        now = self.clock.now()
        held: dict[str, int] = {}
        for name in self.names:
            epoch = await self.store.acquire_job_lease(name, self.holder, now, now + self.lease)
            if epoch is not None:
                held[name] = epoch
        for name in sorted(held.keys() - self._held.keys()):
            log.info("running the %s jobs here now", name, extra=fields("job_lease_taken",
                                                                        lease=name))
        for name in sorted(self._held.keys() - held.keys()):
            log.info("another process runs the %s jobs now", name,
                     extra=fields("job_lease_left", lease=name))
        self._held = held
        return LeasedDuties(self.store, self.clock, self.holder, held, self.adapters)

    async def release(self) -> None:
        """A clean stop: another process takes over at its next tick."""
        if self._held:
            await self.store.release_job_leases(self.holder, self.clock.now())
            self._held = {}
