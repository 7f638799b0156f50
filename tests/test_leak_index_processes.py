"""The leak index across processes: two bots on one PostgreSQL store, each with its index.

A confidential message indexed by one (A) must reach the other's (B) index within a second,
so a copy posted where B serves is flagged; a deletion on A must stop B flagging it. Each
bot is a whole app with its own console, sharing the database and the key file, as two
processes of one deployment do (Discord shards).
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.events import MessageDeleted, Room
from bot.leaks_flow.engines import Engines
from bot.leaks_flow.sync import MAX_HOLES, READ_ROWS, READS_PER_CHECK, IndexSync
from bot.policy.model import Policy
from bot.store import open_store
from bot.store.rows import StoredFingerprint
from bot.store.url import PostgresUrl
from tests.conftest import ConsoleRig, make_config, start_rig, write_policy
from tests.leak_rig import LEAK_POLICY, QUOTE, SHARED, alerts

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RECOVERY = Room("console", "recovery", "recovery")
LOOK_AGAIN = 0.05
"""Seconds between B's tries while it waits for A's fingerprints."""
BOUND = 3.0
"""The test's bound on the wait (the target, and what the sync's interval gives, is under
a second: asserted separately)."""


def row(value: int, scheme: str = "k11w2") -> StoredFingerprint:
    return StoredFingerprint(value, scheme, "console:recovery", "circle", 20_000, b"a" * 16,
                             b"m" * 16)


def policy_of(text: str) -> Policy:
    import yaml

    return Policy.model_validate({**yaml.safe_load(text), "source": "test"})


@asynccontextmanager
async def process(tmp: Path, url: str, key_from: Path | None = None) -> AsyncIterator[ConsoleRig]:
    """One bot process on ``url``; ``key_from``: the deployment key file to share."""
    tmp.mkdir()
    write_policy(tmp / "policies", LEAK_POLICY)
    config = make_config(tmp).model_copy(update={"database": PostgresUrl.parse(url)})
    if key_from is not None:
        shutil.copy(key_from, config.key_file)
    rig = await start_rig(config)
    try:
        yield rig
    finally:
        await rig.app.close()


@asynccontextmanager
async def two_processes(tmp: Path, url: str) -> AsyncIterator[tuple[ConsoleRig, ConsoleRig]]:
    async with (
        process(tmp / "a", url) as a,
        process(tmp / "b", url, key_from=tmp / "a" / "confidant.key") as b,
    ):
        yield a, b


async def copy_flagged_within(b: ConsoleRig, bound: float) -> tuple[float, int]:
    """Post the copy in B's lobby until B flags it (each try a new message); the seconds
    it took and the tries, or the bound and the tries if it never did."""
    start = time.monotonic()
    await b.say(":room lobby")
    tries = 0
    while time.monotonic() - start < bound:
        tries += 1
        if alerts(await b.say(f"bob: {QUOTE}")):
            return time.monotonic() - start, tries
        await asyncio.sleep(LOOK_AGAIN)
    return bound, tries


async def test_a_fingerprint_stored_by_one_process_is_flagged_by_the_other(
    tmp_path: Path, pg_database: str
) -> None:
    async with two_processes(tmp_path, pg_database) as (a, b):
        # B has just checked a message: its index is as fresh as it gets, then goes stale
        assert alerts(await b.say(":room lobby", "carol: good morning everyone")) == []
        await a.say(":room recovery", f"alice: {SHARED}")
        took, tries = await copy_flagged_within(b, BOUND)
        assert took < 1.0, f"B flagged the copy only after {took:.2f} s ({tries} tries)"
        [flag] = await b.app.store.open_flags()
        assert (flag.room_id, flag.source_room_id, flag.signal) == ("lobby", "recovery", "quote")


async def test_a_deletion_on_one_process_stops_the_other_flagging(
    tmp_path: Path, pg_database: str
) -> None:
    async with two_processes(tmp_path, pg_database) as (a, b):
        await a.say(":room recovery", f"alice: {SHARED}")
        took, _ = await copy_flagged_within(b, BOUND)
        assert took < BOUND  # B knows the fingerprints now
        assert a.app.core.leaks is not None
        await a.app.core.handle(MessageDeleted(RECOVERY, "m1", a.clock.now()))
        assert await a.app.store.fingerprints() == []
        out = await b.say(":room lobby", f"dave: {QUOTE}")
        assert alerts(out) == [], "B flagged a copy of a message A deleted"
        assert len(await b.app.store.open_flags()) == 1


async def test_the_other_process_drops_deleted_fingerprints_at_its_daily_compaction(
    tmp_path: Path, pg_database: str
) -> None:
    """Memory, not correctness (the store confirms every candidate): rows another process
    deleted leave this process's index at its next daily purge, as its own purge's do."""
    async with two_processes(tmp_path, pg_database) as (a, b):
        await a.say(":room recovery", f"alice: {SHARED}")
        await b.say(":room lobby", "carol: good morning everyone")  # reads A's rows
        watch = b.app.core.leaks
        assert watch is not None
        held = sum(len(engine.index) for engine in watch.engines.engines.values())
        assert held > 0, "B's index never heard of A's fingerprints"
        await a.app.core.handle(MessageDeleted(RECOVERY, "m1", a.clock.now()))
        await watch.purge()  # its daily tick: nothing of its own to purge
        assert sum(len(engine.index) for engine in watch.engines.engines.values()) == 0


async def test_rows_are_read_by_position_on_both_backends(database: Path | str) -> None:
    store = await open_store(database, NOW)
    try:
        assert await store.fingerprint_position() == 0
        await store.add_fingerprints([row(5), row(7), row(9)])
        last = await store.fingerprint_position()
        first = await store.fingerprints_after(0, 10)
        assert [value for _, value, *_ in first] == [5, 7, 9]
        assert first[-1][0] == last
        assert first[0][2:] == ("k11w2", "console:recovery", 20_000, b"a" * 16)
        assert await store.fingerprints_after(0, 2) == first[:2]
        assert await store.fingerprints_after(last, 10) == []
        assert await store.count_fingerprints() == 3
        assert await store.fingerprints_at([first[1][0], last + 5]) == [first[1]]
    finally:
        await store.close()


async def test_a_row_committed_after_a_later_one_is_not_missed(pg_database: str) -> None:
    """PostgreSQL numbers a row when it is inserted and shows it when its transaction
    commits: a slow writer's row appears below the highest position already read."""
    import psycopg

    store = await open_store(PostgresUrl.parse(pg_database), NOW)
    engines = Engines(b"k" * 32, store)
    try:
        await engines.load((policy_of(LEAK_POLICY),))
        sync = IndexSync(engines, interval=0.0)
        sync.start_at(await store.fingerprint_position())
        index = engines.engines["n2k11w2"].index
        async with await psycopg.AsyncConnection.connect(pg_database) as slow:
            await slow.execute(
                "INSERT INTO fingerprints (fingerprint, scheme, room_key, policy, day, author,"
                " message) VALUES (11, 'n2k11w2', 'console:recovery', 'circle', 20000,"
                " %s, %s)", (b"a" * 16, b"m" * 16))
            await store.add_fingerprints([row(12, "n2k11w2")])
            assert await sync.read() == 1 and len(index) == 1
            await slow.commit()
        assert await sync.read() == 1 and len(index) == 2
        assert await sync.read() == 0
    finally:
        await store.close()


async def test_a_lone_read_on_postgresql_is_one_statement(
    pg_database: str, tmp_path: Path
) -> None:
    """The leak check's confirmations are reads outside any transaction: each should cost
    one round trip, not BEGIN, the SELECT and COMMIT (three times the wait per candidate)."""
    from psycopg_pool import AsyncConnectionPool

    from bot.store.pg_connection import PooledConnection

    store = await open_store(PostgresUrl.parse(pg_database), NOW)
    await store.close()
    pool = AsyncConnectionPool(pg_database, min_size=1, max_size=1, open=False)
    await pool.open(wait=True)
    db = PooledConnection(pool)
    trace = tmp_path / "libpq.trace"
    try:
        conn = await pool.getconn()
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            await pool.putconn(conn)
            for _ in range(3):
                async with db.execute("SELECT COUNT(*) FROM fingerprints") as cur:
                    assert await cur.fetchone() == (0,)
            conn.pgconn.untrace()
    finally:
        await db.close()
    sent = [line for line in trace.read_text().splitlines() if "\tF\t" in f"\t{line}"]
    assert len([line for line in sent if "SELECT COUNT(*)" in line]) == 3, sent
    assert not [line for line in sent if "BEGIN" in line or "COMMIT" in line], sent


class JumpingStore:
    """Rows whose positions jump far ahead (a bulk copy elsewhere), and nothing else."""

    def __init__(self, positions: list[int]) -> None:
        self.positions = positions

    async def fingerprints_after(self, position: int, limit: int) -> list[tuple]:
        return [(p, p, "k11w2", "console:elsewhere", 20_000, b"a" * 16)
                for p in self.positions if p > position][:limit]

    async def fingerprints_at(self, positions: list[int]) -> list[tuple]:
        return []


class CountingHoles(dict[int, float]):
    noted = 0

    def setdefault(self, key: int, default: float) -> float:  # type: ignore[override]
        self.noted += 1
        return super().setdefault(key, default)


async def test_a_jump_in_the_numbering_is_not_waited_for_row_by_row() -> None:
    """Two million positions skipped (a bulk copy, a restored sequence) must not become two
    million holes noted one by one before the check can go on."""
    engines = Engines(b"k" * 32, JumpingStore([1, 2_000_000]))  # type: ignore[arg-type]
    sync = IndexSync(engines, interval=0.0)
    sync._holes = holes = CountingHoles()
    await sync.read()
    assert holes.noted <= MAX_HOLES and len(holes) <= MAX_HOLES


async def test_one_check_catches_up_a_bounded_number_of_rows_at_a_time() -> None:
    """After a bulk write elsewhere, a check waits for at most READS_PER_CHECK queries; the
    next reads carry on where it stopped."""
    most = READS_PER_CHECK * READ_ROWS
    engines = Engines(b"k" * 32, JumpingStore(list(range(1, most + 11))))  # type: ignore[arg-type]
    sync = IndexSync(engines, interval=0.0)
    await sync.read()
    assert sync.rows == most
    await sync.read()
    assert sync.rows == most + 10
