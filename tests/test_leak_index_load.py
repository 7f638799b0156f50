"""Loading the leak index from the store at start: streamed in grouped chunks, same index.

The loader reads the store a chunk at a time, grouped by room, day and author, instead of
one object per row. These tests hold it to the index the old row-by-row load built, with
chunks small enough that groups are cut at every boundary. Each test taking ``database``
runs on both backends (SQLite groups with ``group_concat``, PostgreSQL with ``array_agg``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.leaks import Fingerprints, LeakIndex, LeakParams, Posting, author_key
from bot.leaks_flow.engines import Engines
from bot.leaks_flow.loading import fill_index
from bot.policy.model import LeaksSpec, Policy, ReminderSpec, RoomRef
from bot.store import Database, Store, open_store
from bot.store.rows import StoredFingerprint

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
KEY = bytes(range(32))
ALICE = author_key(KEY, "matrix", "@alice:example.org")
BOB = author_key(KEY, "matrix", "@bob:example.org")
CAROL = author_key(KEY, "discord", "carol")
SCHEME = "k11w2"


def row(value: int, room: str, day: int, author: bytes, message: int,
        scheme: str = SCHEME) -> StoredFingerprint:
    return StoredFingerprint(value, scheme, room, "circle", day, author, bytes([message]) * 16)


# Messages as the bot writes them (a message's rows together), with the cases that matter:
# one fingerprint in several rooms (the stop rule), the same posting stored twice (two
# messages, same room, day and author), two authors of one fingerprint in one room on one
# day, an author's words in two rooms, a second scheme.
ROWS = [
    row(1, "matrix:!a", 100, ALICE, 1),
    row(2, "matrix:!a", 100, ALICE, 1),
    row(3, "matrix:!a", 100, ALICE, 1),
    row(1, "matrix:!a", 100, BOB, 10),  # Bob repeats Alice's words in her room, same day
    row(10, "matrix:!a", 100, BOB, 10),
    row(3, "matrix:!b", 100, BOB, 2),
    row(4, "matrix:!b", 100, BOB, 2),
    row(1, "matrix:!a", 100, ALICE, 3),  # same posting again, another message
    row(5, "matrix:!a", 101, ALICE, 4),
    row(3, "discord:9", 101, CAROL, 5),
    row(6, "discord:9", 101, CAROL, 5),
    row(7, "matrix:!b", 102, ALICE, 6),
    row(8, "matrix:!b", 102, ALICE, 6),
    row(9, "matrix:!a", 103, BOB, 7, scheme="k8w5"),
    row(2, "matrix:!c", 103, BOB, 8),
]

PROBES = [
    ({1, 2}, None, None),
    ({1, 2, 4}, "matrix:!a", None),
    ({3}, None, None),  # stored in three rooms: common phrasing, stopped
    ({7, 8}, None, ALICE),  # only Alice's own words
    ({1, 10}, None, ALICE),  # Alice's words, but Bob wrote them in that room too
    ({7, 8, 2}, None, ALICE),
    ({5, 6, 9}, "discord:9", BOB),
]


async def store_with(database: Database, rows: list[StoredFingerprint]) -> Store:
    store = await open_store(database, NOW)
    await store.add_fingerprints(rows)
    return store


async def row_by_row(store: Store, scheme: str) -> tuple[LeakIndex, int]:
    """The load as it was: one posting object per stored row."""
    index = LeakIndex(LeakParams(stop_rooms=3))
    loaded = 0
    for stored in await store.fingerprints(scheme):
        posting = Posting(stored.fingerprint, stored.room_key, stored.day, stored.author)
        loaded += index.add_posting(posting)
    return index, loaded


def postings(index: LeakIndex) -> list[Posting]:
    return sorted(index.postings(), key=lambda p: (p.fingerprint, p.room_key, p.day,
                                                    p.author_key))


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 100])
async def test_streamed_load_builds_the_row_by_row_index(
    database: Database, chunk: int
) -> None:
    store = await store_with(database, ROWS)
    try:
        # 14 rows of the main scheme, one a repeated posting; the other scheme's row apart.
        for scheme, postings_wanted in ((SCHEME, 13), ("k8w5", 1)):
            expected, expected_loaded = await row_by_row(store, scheme)
            assert expected_loaded == postings_wanted
            index = LeakIndex(LeakParams(stop_rooms=3))
            loaded = await fill_index(index, store.index_groups(scheme, rows=chunk))
            assert loaded == expected_loaded
            assert postings(index) == postings(expected)
            assert (len(index), index.posting_count) == (len(expected), expected.posting_count)
            for values, room, author in PROBES:
                probe = Fingerprints(frozenset(values), whole_message=False, token_count=20)
                assert index.lookup(probe, room, author) == expected.lookup(probe, room, author)
    finally:
        await store.close()


async def test_chunks_are_bounded_and_cover_every_row_once(database: Database) -> None:
    store = await store_with(database, ROWS)
    try:
        chunks = [chunk async for chunk in store.index_groups(SCHEME, rows=4)]
    finally:
        await store.close()
    sizes = [sum(len(values) for *_, values in chunk) for chunk in chunks]
    assert all(0 < size <= 4 for size in sizes)
    seen = sorted(
        (value, room, day, author)
        for chunk in chunks
        for room, day, author, values in chunk
        for value in values
    )
    wanted = sorted((r.fingerprint, r.room_key, r.day, r.author) for r in ROWS
                    if r.scheme == SCHEME)
    # Values merge within a group, so the duplicate posting of message 3 may arrive once
    # or twice (it was cut into another chunk): every row's posting arrives, nothing else.
    assert sorted(set(seen)) == sorted(set(wanted))
    assert len(wanted) - 1 <= len(seen) <= len(wanted)


async def test_rows_written_during_the_load_arrive_once(database: Database) -> None:
    """No read stays open between chunks: the next one resumes after the last row seen."""
    written = [row(1, "matrix:!a", 100, ALICE, 1), row(2, "matrix:!a", 100, ALICE, 1),
               row(3, "matrix:!b", 100, BOB, 2), row(3, "discord:9", 101, CAROL, 5)]
    store = await store_with(database, written)
    try:
        stream = store.index_groups(SCHEME, rows=2)
        first = await anext(stream)
        await store.add_fingerprints([row(50, "matrix:!d", 104, BOB, 9)])
        rest = [chunk async for chunk in stream]
    finally:
        await store.close()
    values = [v for chunk in (first, *rest) for *_, group in chunk for v in group]
    assert sorted(values) == [1, 2, 3, 3, 50]


async def empty() -> AsyncIterator[list[tuple[str, int, bytes, frozenset[int]]]]:
    return
    yield


async def test_fill_index_rejects_an_impossible_day_as_adding_does() -> None:
    async def bad() -> AsyncIterator[list[tuple[str, int, bytes, frozenset[int]]]]:
        yield [("matrix:!a", 70_000, ALICE, frozenset({1}))]

    assert await fill_index(LeakIndex(), empty()) == 0
    with pytest.raises(ValueError):
        await fill_index(LeakIndex(), bad())


async def test_engines_load_from_the_store_finds_the_stored_room(database: Database) -> None:
    spec = LeaksSpec()
    policy = Policy(
        name="circle",
        source="test",
        rooms=(RoomRef(platform="matrix", id="!a"),),
        reminder=ReminderSpec(text="What is said here stays here."),
        leaks=spec,
    )
    store = await store_with(database, ROWS)
    try:
        engines = Engines(KEY, store)  # type: ignore[arg-type]  (typed for SQLite there)
        assert await engines.load((policy,)) == (await row_by_row(store, SCHEME))[1]
        index = engines.engines[SCHEME].index
        found = index.lookup(Fingerprints(frozenset({1, 5}), False, 20), "matrix:!z")
        assert [m.room_key for m in found] == ["matrix:!a"]
    finally:
        await store.close()
