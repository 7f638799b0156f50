"""SQLite and PostgreSQL side by side, in one run: the store figures a deployment picks by.

For each backend, a store is filled with 1M fingerprint rows (100,000 with --quick) through
``Store.add_fingerprints``: the fingerprints of real confidential messages (the chitchat
dataset, as ``benchmarks/leaks.py`` uses it), then filler shaped like messages. Then:

- **bytes per fingerprint on disk**: SQLite's file once checkpointed, less an empty store's;
  PostgreSQL's ``pg_total_relation_size`` of the table (rows, indexes, TOAST, free space and
  visibility maps), less the empty table's, after ``VACUUM ANALYZE`` and a checkpoint (what
  autovacuum and the server do soon after a bulk write).
- **leak checks per second and p99**: the index loaded from the store as ``LeakWatch`` loads
  it, every message checked by ``bot.leaks_flow.detect.quotes`` with every candidate room
  confirmed by a real query: outside messages, a tenth of them carrying a quote.
- **join-handling writes per second**: the core handling ``MemberJoined`` for new members
  (membership, room state, the reminder's outbox row), every commit counted.

Then, for the leak index across processes (``bot/leaks_flow/sync.py``), how soon a
fingerprint one process stores is visible to another's index, measured three ways on a
second store handle (a second process's connection), while that process checks messages
back to back:

- **read by position** (what the bot does): before a check, the rows written since the
  last read, at most every ``sync.INTERVAL`` seconds; both backends;
- **LISTEN/NOTIFY** (PostgreSQL only): the writer notifies in the same transaction (the
  payload a position, never text), the listener reads the new rows when it hears;
- **a store lookup per check** (no index): needs an index by fingerprint across rooms
  (created here, its size reported) and a query per message; visible at once.

    python benchmarks/store_backends.py            # full run (1M rows per backend)
    python benchmarks/store_backends.py --quick    # 100,000 rows, a minute or two

PostgreSQL is started by the script (``pgserver``'s bundled binaries, a unix socket in a
temporary folder, default settings: ``fsync`` and ``synchronous_commit`` on, as SQLite runs
with ``synchronous=FULL``). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.app import build_registry
from bot.clock import FakeClock
from bot.core import Core
from bot.events import Member, MemberJoined, Room
from bot.leaks import Fingerprints, author_key
from bot.leaks_flow.detect import quotes
from bot.leaks_flow.engines import Engines, room_key, scheme_of
from bot.leaks_flow.sync import IndexSync
from bot.policy.model import LeaksSpec, Policy
from bot.policy_holder import PolicyHolder
from bot.ports import Capabilities
from bot.store import Store, open_store
from bot.store.rows import StoredFingerprint

if __package__:
    from benchmarks.leaks import (
        KEY,
        PLATFORM,
        Message,
        Probe,
        filler_rows,
        load_rooms,
        make_policy,
        make_quote_probes,
        outside_probes,
        split_rooms,
    )
else:  # run as a script: this folder is on the path
    from leaks import (  # type: ignore[no-redef]
        KEY,
        PLATFORM,
        Message,
        Probe,
        filler_rows,
        load_rooms,
        make_policy,
        make_quote_probes,
        outside_probes,
        split_rooms,
    )

FILL_BATCH = 20_000
WARM_CHECKS = 1_000
SYNC_CHECKS = 5_000
VISIBILITY_WRITES = 100
PARALLEL = 4
JOIN_POLICY = """\
name: circle
rooms:
  - platform: discord
    id: "100"
reminder:
  text: What is shared here stays here.
  require_agreement: true
"""
JOIN_ROOM = Room("discord", "100", "circle")
CAPS = Capabilities(posting_permission=True, deletes=True, ephemeral_replies=True)


@dataclass(frozen=True, slots=True)
class Sizes:
    rows: int
    confidential: int
    stream: int
    joins: int


FULL = Sizes(1_000_000, 86_000, 20_000, 2_000)
QUICK = Sizes(100_000, 20_000, 5_000, 500)


@dataclass
class Figures:
    """One backend's figures (``None``: not measured on this backend)."""

    name: str
    fill_rows_per_s: float = 0.0
    bytes_per_fingerprint: float = 0.0
    checks_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    checks_per_s_with_sync: float = 0.0
    joins_per_s: float = 0.0
    writes_per_join: float = 0.0
    join_writes_per_s: float = 0.0
    join_writes_per_s_parallel: float = 0.0
    """With ``PARALLEL`` processes writing at once (PostgreSQL only)."""
    poll_visible_ms: list[float] = field(default_factory=list)
    notify_visible_ms: list[float] = field(default_factory=list)
    direct_checks_per_s: float = 0.0
    direct_p99_ms: float = 0.0
    direct_index_bytes_per_fingerprint: float = 0.0


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the two backends ----------------------------------------------------------------------


class Backend:
    name = ""

    def target(self) -> Path | str: ...

    async def empty_bytes(self) -> int: ...

    async def used_bytes(self) -> int:
        """Bytes the fingerprints table takes now (call with the store closed)."""
        ...

    def run_sql(self, sql: str) -> None: ...

    def relation_bytes(self, index: str) -> int: ...


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "bench.db"

    def target(self) -> Path:
        return self.path

    async def empty_bytes(self) -> int:
        empty = self.folder / "empty.db"
        store = await open_store(empty, datetime.now(UTC))
        await store.close()
        return _file_bytes(empty)

    async def used_bytes(self) -> int:
        return _file_bytes(self.path)

    def run_sql(self, sql: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute(sql)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def relation_bytes(self, index: str) -> int:
        with sqlite3.connect(self.path) as db:
            try:
                row = db.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name = ?", (index,)
                ).fetchone()
                return int(row[0] or 0)
            except sqlite3.OperationalError:  # no dbstat in this build: the file's growth
                return -1


class PostgresBackend(Backend):
    name = "pg"

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = self._database("confidant_bench")

    def _database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.server.get_uri(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        base, _, query = self.server.get_uri().partition("?")
        return f"{base.rsplit('/', 1)[0]}/{name}?{query}"

    def target(self) -> str:
        return self.url

    def _scalar(self, sql: str) -> int:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            row = db.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    async def empty_bytes(self) -> int:
        store = await open_store(self.url, datetime.now(UTC))
        await store.close()
        return self._scalar("SELECT pg_total_relation_size('fingerprints')")

    async def used_bytes(self) -> int:
        # What autovacuum does soon after a bulk write (the visibility map lets index-only
        # scans skip the rows), and the checkpoint it triggers: a settled database, as
        # SQLite's is once its WAL is checkpointed at close.
        self.run_sql("VACUUM ANALYZE fingerprints")
        self.run_sql("CHECKPOINT")
        return self._scalar("SELECT pg_total_relation_size('fingerprints')")

    def run_sql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql)

    def relation_bytes(self, index: str) -> int:
        return self._scalar(f"SELECT pg_relation_size('{index}')")


def _file_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


# -- filling, checking, joining ------------------------------------------------------------


async def fill(
    target: Path | str, spec: LeaksSpec, messages: Sequence[Message], size: int, seed: int
) -> float:
    """``size`` rows through ``Store.add_fingerprints``, batch by batch; rows per second."""
    policy = make_policy(spec)
    scheme = scheme_of(spec)
    store = await open_store(target, datetime.now(UTC))
    began = time.perf_counter()
    try:
        engines = Engines(KEY, store)
        batch: list[StoredFingerprint] = []
        written = 0
        for number, message in enumerate(messages):
            room = Room(PLATFORM, message.room)
            author = author_key(KEY, PLATFORM, message.author)
            ident = engines.message_hash(PLATFORM, message.room, str(number))
            batch += [
                StoredFingerprint(value, scheme, room_key(room), policy.name, message.day,
                                  author, ident)
                for value in engines.fingerprints_to_store(spec, message.text).values
            ]
            if len(batch) >= FILL_BATCH or written + len(batch) >= size:
                batch = batch[: size - written]
                written += await store.add_fingerprints(batch)
                batch = []
            if written >= size:
                break
        rng = random.Random(seed)
        filler = filler_rows(scheme, policy.name, size - written, rng)
        while written < size:
            batch = [row for _, row in zip(range(FILL_BATCH), filler, strict=False)]
            written += await store.add_fingerprints(batch)
    finally:
        await store.close()
    return size / (time.perf_counter() - began)


async def loaded_engines(store: Store, policy: Policy, messages: Sequence[Message]) -> Engines:
    engines = Engines(KEY, store)
    await engines.load((policy,))
    for message in messages:  # at start-up the bot knows them from room_states
        engines.remember(Room(PLATFORM, message.room))
    return engines


def checker(engines: Engines, policy: Policy) -> Callable[[Probe], Awaitable[object]]:
    def covered(_: Room) -> Policy:
        return policy

    async def check(probe: Probe) -> object:
        author = author_key(KEY, PLATFORM, probe.author)
        return await quotes(probe.text, Room(PLATFORM, probe.room), author, engines, covered,
                            False)

    return check


async def timed(
    check: Callable[[Probe], Awaitable[object]], stream: Sequence[Probe],
    before: Callable[[], Awaitable[object]] | None = None,
) -> tuple[float, list[float]]:
    """Checks per second and each check's milliseconds (``before`` runs ahead of each, in
    the timing: the sync's read)."""
    for probe in stream[:WARM_CHECKS]:
        await check(probe)
    latencies: list[float] = []
    began = time.perf_counter()
    for probe in stream:
        start = time.perf_counter_ns()
        if before is not None:
            await before()
        await check(probe)
        latencies.append((time.perf_counter_ns() - start) / 1e6)
    return len(stream) / (time.perf_counter() - began), latencies


async def checks(
    target: Path | str, spec: LeaksSpec, messages: Sequence[Message], stream: Sequence[Probe],
    figures: Figures,
) -> None:
    policy = make_policy(spec)
    store = await open_store(target, datetime.now(UTC))
    try:
        engines = await loaded_engines(store, policy, messages)
        check = checker(engines, policy)
        figures.checks_per_s, latencies = await timed(check, stream)
        figures.p50_ms, figures.p99_ms = pct(latencies, 0.5), pct(latencies, 0.99)
        sync = IndexSync(engines)
        sync.start_at(await store.fingerprint_position())
        figures.checks_per_s_with_sync, _ = await timed(check, stream[:SYNC_CHECKS], sync.if_due)
    finally:
        await store.close()


async def joins(
    target: Path | str, count: int, folder: Path, name: str, processes: int = 1
) -> tuple[float, float, float]:
    """The core handling ``count`` joins of new members, every store commit counted; with
    ``processes`` cores side by side, each on its own store handle (connection pool), as
    several processes of one deployment: joins per second, commits per join, commits per
    second."""
    policies = folder / f"join-policies-{name}-{processes}"
    policies.mkdir()
    (policies / "circle.yaml").write_text(JOIN_POLICY, encoding="utf-8")
    now = datetime.now(UTC)
    commits = 0
    stores = [await open_store(target, now) for _ in range(processes)]

    def counting(store: Store) -> None:
        db: Any = store._db  # type: ignore[attr-defined]  # counting commits, nothing else
        commit = db.commit

        async def counted() -> None:
            nonlocal commits
            commits += 1
            await commit()

        db.commit = counted

    async def serve(core: Core, members: range) -> None:
        for number in members:
            await core.handle(MemberJoined(JOIN_ROOM, Member("discord", str(number)), now))

    try:
        cores = []
        for store in stores:
            counting(store)
            cores.append(Core(policies=PolicyHolder.load(policies), store=store,
                              clock=FakeClock(now), registry=build_registry(),
                              capabilities={"discord": CAPS}))
        await serve(cores[0], range(20))  # warm
        commits = 0
        first = 100_000 * processes
        each = count // processes
        began = time.perf_counter()
        await asyncio.gather(*(
            serve(core, range(first + i * each, first + (i + 1) * each))
            for i, core in enumerate(cores)
        ))
        elapsed = time.perf_counter() - began
    finally:
        for store in stores:
            await store.close()
    done = each * processes
    return done / elapsed, commits / done, commits / elapsed


# -- the index across processes -------------------------------------------------------------


@dataclass
class Visibility:
    """Fingerprints written by "process A", waited for by "process B"'s index."""

    scheme: str
    policy: str
    rng: random.Random
    pending: dict[int, float | None] = field(default_factory=dict)
    seen_ms: list[float] = field(default_factory=list)
    written: int = 0

    def row(self, value: int) -> StoredFingerprint:
        return StoredFingerprint(value, self.scheme, f"{PLATFORM}:elsewhere", self.policy,
                                 20_000, b"w" * 16, self.rng.randbytes(16))

    def look(self, engines: Engines) -> None:
        index = engines.engines[self.scheme].index
        now = time.perf_counter()
        for value, at in list(self.pending.items()):
            if index.lookup(Fingerprints(frozenset((value,)), False, 0)):
                self.seen_ms.append(0.0 if at is None else (now - at) * 1000)
                del self.pending[value]


async def poll_visibility(
    target: Path | str, spec: LeaksSpec, messages: Sequence[Message], stream: Sequence[Probe],
    seed: int,
) -> list[float]:
    """A writes one message's row every 20-100 ms; B checks messages back to back, reading
    new rows before a check as the watch does (``IndexSync.if_due``)."""
    policy = make_policy(spec)
    a = await open_store(target, datetime.now(UTC))
    b = await open_store(target, datetime.now(UTC))
    seen = Visibility(scheme_of(spec), policy.name, random.Random(seed))
    try:
        engines = await loaded_engines(b, policy, messages)
        sync = IndexSync(engines)
        sync.start_at(await b.fingerprint_position())
        check = checker(engines, policy)

        async def write() -> None:
            for _ in range(VISIBILITY_WRITES):
                await asyncio.sleep(seen.rng.uniform(0.02, 0.1))
                value = seen.rng.getrandbits(60)
                seen.pending[value] = None
                await a.add_fingerprints([seen.row(value)])
                if value in seen.pending:
                    seen.pending[value] = time.perf_counter()

        writer = asyncio.create_task(write())
        deadline = time.monotonic() + VISIBILITY_WRITES * 0.1 + 30
        turn = 0
        while (not writer.done() or seen.pending) and time.monotonic() < deadline:
            await sync.if_due()
            seen.look(engines)
            await check(stream[turn % len(stream)])
            turn += 1
            await asyncio.sleep(0)  # A's turn
        await writer
    finally:
        await a.close()
        await b.close()
    return seen.seen_ms


async def notify_visibility(
    url: str, spec: LeaksSpec, messages: Sequence[Message], seed: int
) -> list[float]:
    """A inserts a row and notifies with its position in one transaction; B listens on its
    own connection and, on each notification, reads the rows after the last it read."""
    import psycopg

    policy = make_policy(spec)
    b = await open_store(url, datetime.now(UTC))
    seen = Visibility(scheme_of(spec), policy.name, random.Random(seed))
    listener = await psycopg.AsyncConnection.connect(url, autocommit=True)
    writer = await psycopg.AsyncConnection.connect(url)
    try:
        engines = await loaded_engines(b, policy, messages)
        sync = IndexSync(engines, interval=0.0)
        sync.start_at(await b.fingerprint_position())
        await listener.execute("LISTEN confidant_fingerprints")

        async def write() -> None:
            for _ in range(VISIBILITY_WRITES):
                await asyncio.sleep(seen.rng.uniform(0.02, 0.1))
                value = seen.rng.getrandbits(60)
                r = seen.row(value)
                seen.pending[value] = None
                cur = await writer.execute(
                    "INSERT INTO fingerprints (fingerprint, scheme, room_key, policy, day,"
                    " author, message) VALUES (%s,%s,%s,%s,%s,%s,%s) RETURNING position",
                    (r.fingerprint, r.scheme, r.room_key, r.policy, r.day, r.author, r.message),
                )
                row = await cur.fetchone()
                assert row is not None
                await writer.execute("SELECT pg_notify('confidant_fingerprints', %s)",
                                     (str(row[0]),))
                await writer.commit()
                if value in seen.pending:
                    seen.pending[value] = time.perf_counter()

        task = asyncio.create_task(write())
        async for _ in listener.notifies(timeout=VISIBILITY_WRITES * 0.1 + 30,
                                         stop_after=VISIBILITY_WRITES):
            await sync.read()
            seen.look(engines)
        await task
    finally:
        await listener.close()
        await writer.close()
        await b.close()
    return seen.seen_ms


async def direct_lookups(
    backend: Backend, spec: LeaksSpec, stream: Sequence[Probe], figures: Figures, rows: int
) -> None:
    """No index in memory: each check asks the store for the message's fingerprints in any
    room (then rooms, stop rule and exemption as the index would). Needs an index by
    fingerprint, created here and measured."""
    backend.run_sql("CREATE INDEX fingerprints_value ON fingerprints (scheme, fingerprint)")
    if backend.name == "pg":
        backend.run_sql("ANALYZE fingerprints")
    figures.direct_index_bytes_per_fingerprint = backend.relation_bytes("fingerprints_value") / rows
    policy = make_policy(spec)
    scheme = scheme_of(spec)
    store = await open_store(backend.target(), datetime.now(UTC))
    try:
        engines = await loaded_engines(store, policy, [])
        engine = engines.engines[scheme]
        engines.engines = {}  # the index is not used: only its fingerprinter
        db: Any = store._db  # type: ignore[attr-defined]

        async def check(probe: Probe) -> object:
            values = engine.lookup.fingerprints(probe.text).values
            if not values:
                return []
            marks = ",".join("?" * len(values))
            async with db.execute(
                "SELECT fingerprint, room_key, author FROM fingerprints"
                f" WHERE scheme = ? AND fingerprint IN ({marks})",
                (scheme, *values),
            ) as cur:
                found = await cur.fetchall()
            rooms: dict[str, set[int]] = {}
            for value, room, _ in found:
                rooms.setdefault(room, set()).add(value)
            return [room for room, hits in rooms.items() if len(hits) >= spec.min_matches]

        figures.direct_checks_per_s, latencies = await timed(check, stream)
        figures.direct_p99_ms = pct(latencies, 0.99)
    finally:
        await store.close()
        backend.run_sql("DROP INDEX fingerprints_value")


# -- the run -------------------------------------------------------------------------------


def measure(
    backend: Backend, spec: LeaksSpec, inside: Sequence[Message], stream: Sequence[Probe],
    sizes: Sizes, folder: Path, seed: int,
) -> Figures:
    figures = Figures(backend.name)
    target = backend.target()
    empty = asyncio.run(backend.empty_bytes())
    figures.fill_rows_per_s = asyncio.run(fill(target, spec, inside, sizes.rows, seed))
    figures.bytes_per_fingerprint = (asyncio.run(backend.used_bytes()) - empty) / sizes.rows
    print(f"  {backend.name}: {sizes.rows:,} rows written ({figures.fill_rows_per_s:,.0f}/s)",
          flush=True)
    asyncio.run(checks(target, spec, inside, stream, figures))
    figures.joins_per_s, figures.writes_per_join, figures.join_writes_per_s = asyncio.run(
        joins(target, sizes.joins, folder, backend.name)
    )
    if isinstance(backend, PostgresBackend):  # SQLite has one writer: one process
        _, _, figures.join_writes_per_s_parallel = asyncio.run(
            joins(target, sizes.joins, folder, backend.name, PARALLEL)
        )
    figures.poll_visible_ms = asyncio.run(poll_visibility(target, spec, inside, stream, seed))
    if isinstance(backend, PostgresBackend):
        figures.notify_visible_ms = asyncio.run(
            notify_visibility(backend.url, spec, inside, seed)
        )
    asyncio.run(direct_lookups(backend, spec, stream, figures, sizes.rows))
    return figures


def row(label: str, *cells: object) -> None:
    print(f"  {label:<44}" + "".join(f"{cell!s:>16}" for cell in cells))


def ratio(pg: float, sqlite: float) -> float:
    return round(pg / sqlite, 3) if sqlite else float("nan")


def report(sqlite: Figures, pg: Figures, sizes: Sizes, seconds: float) -> None:
    print()
    row("", "SQLite", "PostgreSQL", "PG / SQLite")
    for label, attr, digits in (
        ("leak checks per second (confirmed)", "checks_per_s", 0),
        ("  p50 ms", "p50_ms", 3),
        ("  p99 ms", "p99_ms", 3),
        ("  with the sync's read before each check", "checks_per_s_with_sync", 0),
        ("bytes per fingerprint on disk", "bytes_per_fingerprint", 1),
        ("joins handled per second", "joins_per_s", 0),
        ("  store writes (commits) per join", "writes_per_join", 1),
        ("  join-handling writes per second", "join_writes_per_s", 0),
        (f"  the same, {PARALLEL} processes at once", "join_writes_per_s_parallel", 0),
        ("rows written per second (batches of 20,000)", "fill_rows_per_s", 0),
        ("direct lookup (no index): checks per second", "direct_checks_per_s", 0),
        ("  p99 ms", "direct_p99_ms", 3),
        ("  its index by fingerprint, bytes per row", "direct_index_bytes_per_fingerprint", 1),
    ):
        a, b = getattr(sqlite, attr), getattr(pg, attr)
        row(label, f"{a:,.{digits}f}", f"{b:,.{digits}f}", f"{ratio(b, a):.2f}")
    print()
    print(f"  Seen by another process's index, ms after the write returned "
          f"({VISIBILITY_WRITES} writes each):")
    row("", "p50", "p99", "max")
    for label, values in (
        ("read by position, SQLite", sqlite.poll_visible_ms),
        ("read by position, PostgreSQL", pg.poll_visible_ms),
        ("LISTEN/NOTIFY, PostgreSQL", pg.notify_visible_ms),
    ):
        row(label, f"{pct(values, 0.5):.1f}", f"{pct(values, 0.99):.1f}",
            f"{max(values, default=float('nan')):.1f}")
    print("  a store lookup per check: the next check after the commit (no index to update)")
    print(f"\n  {sizes.rows:,} fingerprints per backend; {seconds:.0f} s in all")
    out: dict[str, object] = {"fingerprints": sizes.rows}
    for figures in (sqlite, pg):
        p = figures.name
        out |= {
            f"{p}_checks_per_s": round(figures.checks_per_s),
            f"{p}_p50_ms": round(figures.p50_ms, 3),
            f"{p}_p99_ms": round(figures.p99_ms, 3),
            f"{p}_checks_per_s_with_sync": round(figures.checks_per_s_with_sync),
            f"{p}_bytes_per_fingerprint": round(figures.bytes_per_fingerprint, 1),
            f"{p}_joins_per_s": round(figures.joins_per_s),
            f"{p}_writes_per_join": round(figures.writes_per_join, 2),
            f"{p}_join_writes_per_s": round(figures.join_writes_per_s),
            f"{p}_poll_visible_p50_ms": round(pct(figures.poll_visible_ms, 0.5), 1),
            f"{p}_poll_visible_p99_ms": round(pct(figures.poll_visible_ms, 0.99), 1),
            f"{p}_poll_visible_max_ms": round(max(figures.poll_visible_ms, default=-1), 1),
            f"{p}_direct_checks_per_s": round(figures.direct_checks_per_s),
            f"{p}_direct_p99_ms": round(figures.direct_p99_ms, 3),
            f"{p}_direct_index_bytes_per_fingerprint":
                round(figures.direct_index_bytes_per_fingerprint, 1),
        }
    out |= {
        f"pg_join_writes_per_s_{PARALLEL}_processes": round(pg.join_writes_per_s_parallel),
        "pg_notify_visible_p50_ms": round(pct(pg.notify_visible_ms, 0.5), 1),
        "pg_notify_visible_p99_ms": round(pct(pg.notify_visible_ms, 0.99), 1),
        "pg_over_sqlite_checks_per_s": ratio(pg.checks_per_s, sqlite.checks_per_s),
        "pg_over_sqlite_p99_ms": ratio(pg.p99_ms, sqlite.p99_ms),
        "pg_over_sqlite_bytes_per_fingerprint":
            ratio(pg.bytes_per_fingerprint, sqlite.bytes_per_fingerprint),
        "pg_over_sqlite_join_writes_per_s": ratio(pg.join_writes_per_s, sqlite.join_writes_per_s),
    }
    print(json.dumps(out))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows, a minute or two")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    rng = random.Random(args.seed)
    began = time.perf_counter()
    spec = LeaksSpec()
    inside, outside = split_rooms(load_rooms(), sizes.confidential, 0, rng)
    quote_probes = make_quote_probes(inside, outside, max(10, sizes.stream // 100), rng)
    sample = rng.sample(outside, min(len(outside), sizes.stream))
    stream = outside_probes(sample) + rng.sample(quote_probes,
                                                 min(len(quote_probes), sizes.stream // 10))
    rng.shuffle(stream)
    print(f"Store backends benchmark ({'quick' if args.quick else 'full'}): "
          f"{sizes.rows:,} fingerprints per backend, {len(stream):,} messages checked, "
          f"{sizes.joins:,} joins", flush=True)
    import pgserver

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
        try:
            sqlite = measure(SqliteBackend(folder), spec, inside, stream, sizes, folder,
                             args.seed)
            pg = measure(PostgresBackend(server), spec, inside, stream, sizes, folder,
                         args.seed)
        finally:
            server.cleanup()
    report(sqlite, pg, sizes, time.perf_counter() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
