"""Keeping a process's leak index up to date with fingerprints other processes stored.

Several processes may serve one deployment on one PostgreSQL store (Discord shards). Each
holds the leak index in memory, loaded at start; a confidential message one of them
indexes must reach the others' indexes too, or a copy posted where another process serves
is never proposed for confirmation. Before it checks a message, each process reads the
fingerprint rows written since it last looked, by position (PostgreSQL's identity column,
SQLite's rowid), if it last looked more than ``interval`` ago: one short read on the
primary key, and none at all while no message arrives.

Why a read by position rather than PostgreSQL's LISTEN/NOTIFY or a store lookup on every
check (``benchmarks/store_backends.py`` measures all three): the read works on both
backends and needs no connection of its own; a notification is lost while its listening
connection is down, so a read by position would be needed behind it anyway, and it would
only shorten a wait already well under a second. A lookup of every check in the store would
need a second index on the largest table (by fingerprint, across rooms) and a round trip
per message and scheme, where the index answers most messages (no candidate) in memory.

Removals need nothing here for correctness: every candidate the index proposes is
confirmed against the store, so a row another process deleted (an edit, a delete, an
erasure, retention) never counts. For memory, the rows read are counted: once a day the
watch compares them with the store's count, and fewer rows in the store (deleted by any
process) reload the index, as a retention purge does in the process that ran it.

PostgreSQL hands out positions when a row is inserted but shows rows when their
transaction commits, so a later position may become visible before an earlier one. A hole
below the highest position read is looked at again at each read until its row appears or
``hole_wait`` passes (a rolled back or deleted row never appears).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from bot.leaks import Fingerprints
from bot.leaks_flow.engines import Engines
from bot.store.rows import NewFingerprint

log = logging.getLogger("confidant.leaks")

INTERVAL = 0.2
"""Seconds a check may use an index that has not looked for other processes' rows: a
fingerprint stored elsewhere is seen by the next check that comes later than this."""
HOLE_WAIT = 60.0
"""Seconds a position below the highest read is waited for (a store write commits within
a few milliseconds; a minute covers a stalled one)."""
MAX_HOLES = 10_000
"""Holes remembered at most: beyond it the oldest are given up (a rollback of a huge write)."""
READ_ROWS = 5_000
"""Rows per query; a process that fell far behind catches up in several."""
READS_PER_CHECK = 20
"""Queries one read makes at most (100,000 rows): after a bulk write elsewhere, a check
waits for a bounded catch-up, and the next checks carry on."""
START_BEHIND = 1_000
"""Positions before the last one at load that are read again after it: rows of a write
still committing while the index loaded (re-adding a known row changes nothing)."""


class IndexSync:
    """Reads the fingerprint rows written since the last read into the engines' indexes."""

    def __init__(
        self,
        engines: Engines,
        interval: float = INTERVAL,
        hole_wait: float = HOLE_WAIT,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engines = engines
        self.interval = interval
        self.hole_wait = hole_wait
        self._now = now
        self._high = 0
        self._loaded_at = 0
        self._holes: dict[int, float] = {}
        self.rows = 0
        """Rows the index has seen: those at its load, and every later one read since."""
        self._last = float("-inf")
        self.added = 0
        """Postings added from rows read here (other processes' and, again, our own)."""

    def start_at(self, position: int, rows: int = 0) -> None:
        """The index was just loaded with the rows up to ``position``, ``rows`` of them
        (counted after ``position`` was read: a row written in between is counted twice,
        which at worst reloads the index once more)."""
        self._high = max(0, position - START_BEHIND)
        self._loaded_at = position
        self.rows = rows
        self._holes.clear()
        self._last = float("-inf")

    async def if_due(self) -> int:
        """Read new rows if the last read is older than ``interval``; postings added."""
        if self._now() - self._last < self.interval:
            return 0
        return await self.read()

    async def read(self) -> int:
        """Every row written since the last read, and the holes that have filled."""
        self._last = self._now()
        store = self.engines.store
        rows: list[NewFingerprint] = []
        if self._holes:
            rows += await store.fingerprints_at(list(self._holes))
        for _ in range(READS_PER_CHECK):
            found = await store.fingerprints_after(self._high, READ_ROWS)
            rows += found
            self._note_holes(position for position, *_ in found)
            if len(found) < READ_ROWS:
                break
        for position, *_ in rows:
            self._holes.pop(position, None)
        self.rows += sum(1 for position, *_ in rows if position > self._loaded_at)
        self._forget_old_holes()
        added = await self._add(rows) if rows else 0
        self.added += added
        return added

    async def rows_deleted(self) -> bool:
        """Whether the store holds fewer rows than the index has seen: deleted since, here
        or by another process (reads what is new first, so new rows are not mistaken)."""
        await self.read()
        return await self.engines.store.count_fingerprints() < self.rows

    def _note_holes(self, positions: Iterable[int]) -> None:
        now = self._now()
        for position in positions:
            # a jump of the numbering (a bulk copy, a restored sequence) is not waited for
            for missing in range(max(self._high + 1, position - MAX_HOLES), position):
                self._holes.setdefault(missing, now)
            self._high = max(self._high, position)

    def _forget_old_holes(self) -> None:
        cutoff = self._now() - self.hole_wait
        holes = self._holes
        for position in [p for p, since in holes.items() if since < cutoff]:
            del holes[position]
        if len(holes) > MAX_HOLES:
            for position in sorted(holes)[: len(holes) - MAX_HOLES]:
                del holes[position]

    async def _add(self, rows: list[NewFingerprint]) -> int:
        """Rows into the index of their scheme (main or near), a room, day and author at a
        time, as the load does; schemes no policy here uses are left to the store."""
        engines = self.engines.engines
        near = {engine.near_scheme: engine for engine in engines.values() if engine.near}
        groups: dict[tuple[str, str, int, bytes], set[int]] = {}
        for _, value, scheme, room, day, author in rows:
            groups.setdefault((scheme, room, day, author), set()).add(value)
        added = 0
        unknown_room = False
        for (scheme, room, day, author), values in groups.items():
            engine = engines.get(scheme)
            index = engine.index if engine is not None else None
            if index is None and scheme in near:
                index = near[scheme].near
            if index is None:
                continue
            unknown_room = unknown_room or room not in self.engines.rooms
            added += index.add(Fingerprints(frozenset(values), False, 0), room, day, author)
        if unknown_room:  # a room only another process has seen: its name, for policies
            await self.engines.refresh_rooms()
        return added
