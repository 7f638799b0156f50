"""The store keeps the same promises on SQLite and on PostgreSQL.

Each test runs once per backend (the ``database`` fixture, tests/pg_server.py) and goes
through the statements where the two dialects differ: new ids (``RETURNING``), conflicts
ignored or replaced, empty ``IN`` lists, insertion order (rowid / identity), the leak index
load (``group_concat`` / ``array_agg``), and a write cut off before its commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store, open_store
from bot.store.rows import CheckinSchedule, LeakFlag, RepeatAction, StoredFingerprint

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[Store]:
    opened = await open_store(database, NOW)
    try:
        yield opened
    finally:
        await opened.close()


def fingerprint(value: int, message: bytes, author: bytes = b"a" * 16,
                joined_to: bytes | None = None) -> StoredFingerprint:
    return StoredFingerprint(value, "k11w2", "room-key", "circle", 20_000, author, message,
                             joined_to)


def leak_flag(message_id: str = "m1", parts: tuple[str, ...] = ()) -> LeakFlag:
    return LeakFlag(
        id=0, platform="discord", room_id="outside", room_name="general",
        message_id=message_id, source_platform="discord", source_room_id="circle-room",
        source_room_name="circle", policy="circle", signal="quote", matched=3,
        whole_message=False, poster_id="77", status="open", copy_state="posted",
        created_at=NOW, updated_at=NOW, closed_by=None, parts=parts,
    )


async def test_fingerprints_load_confirm_and_delete_alike(store: Store) -> None:
    first, second, third = b"1" * 16, b"2" * 16, b"3" * 16
    big = 2**60 - 1  # fingerprints keep 60 bits: the largest fits both backends
    assert await store.add_fingerprints(
        [fingerprint(big, first), fingerprint(5, first), fingerprint(7, second),
         fingerprint(9, third, joined_to=second)]
    ) == 4
    groups = [group async for chunk in store.index_groups("k11w2", rows=2) for group in chunk]
    assert sorted(v for *_, values in groups for v in values) == [5, 7, 9, big]
    assert await store.matching_fingerprints("k11w2", "room-key", [5, 6, big], None) == {5, big}
    assert await store.matching_fingerprints("k11w2", "room-key", [5], b"a" * 16) == set()
    by_message = await store.near_matches("k11w2", "room-key", [big, 5, 7], None)
    assert sorted(by_message) == sorted([[big, 5], [7]])
    # deleting the earlier message drops the words that ran on from it into the next one
    assert await store.delete_message_fingerprints(second) == 2
    assert {f.fingerprint for f in await store.fingerprints()} == {big, 5}
    # retention with no policy loaded any more: every old row goes (no ``NOT IN ()``)
    assert await store.purge_fingerprints({}, 20_001) == 2
    assert await store.fingerprints() == []
    assert await store.add_to_stoplist([3, 3, 4], NOW) == 2
    assert await store.add_to_stoplist([4], NOW) == 0
    assert await store.stoplist() == {3, 4}


async def test_flags_get_new_ids_and_keep_their_parts(store: Store) -> None:
    flag, new = await store.save_flag(leak_flag(parts=("m0", "m1")), [11, 12])
    assert new and flag.id > 0 and flag.parts == ("m0", "m1")
    again, new = await store.save_flag(leak_flag(), [12, 13], copy_state="removed")
    assert not new and again.id == flag.id and again.copy_state == "removed"
    assert again.parts == ("m0", "m1")  # a re-check of the copy alone keeps the parts
    assert await store.flag_fingerprints(flag.id) == {12, 13}
    other, _ = await store.save_flag(leak_flag("m9"))
    assert other.id != flag.id
    assert [f.id for f in await store.open_flags()] == [other.id, flag.id]
    assert await store.close_flag(flag.id, "resolved", "discord:5", LATER)
    assert not await store.close_flag(flag.id, "resolved", "discord:5", LATER)
    await store.hold_copy(other.id, b"sealed-1", LATER)
    await store.hold_copy(other.id, b"sealed-2", LATER)  # replaced, not a second row
    assert await store.held_copy_ids() == [other.id]
    assert await store.take_held_copy(other.id, NOW) == b"sealed-2"
    assert await store.take_held_copy(other.id, NOW) is None
    action = await store.add_repeat_action(RepeatAction(
        0, "discord", "77", "circle", "timeout", flag.id, "done", 60, NOW, NOW))
    assert action.id > 0 and await store.repeat_actions_due(LATER) == [action]


async def test_checkins_answers_and_schedules(store: Store) -> None:
    checkin = await store.start_checkin("matrix", "@ann:example.org", "circle", NOW)
    assert checkin.id > 0 and checkin.status == "open"
    for step, question in enumerate(("mood", "sleep", "note"), start=1):
        await store.save_answer(checkin.id, question, None if step == 2 else b"s", NOW, step)
    answers = await store.checkin_answers(checkin.id)
    assert [a.question_id for a in answers] == ["mood", "sleep", "note"]  # order kept
    assert [a.skipped for a in answers] == [False, True, False]
    await store.update_checkin(checkin.id, LATER, awaiting="contact", crisis_shown=True)
    found = await store.checkin(checkin.id)
    assert found and found.awaiting == "contact" and found.crisis_shown and found.step == 3
    assert await store.checkins_of_policies([]) == []
    assert await store.escalations_of_policies([]) == []
    escalation = await store.add_escalation(checkin.id, "matrix", "@ann:example.org",
                                            "circle", "asked", False, NOW)
    assert await store.claim_escalation(escalation, "matrix:@sup:example.org", NOW)
    assert not await store.claim_escalation(escalation, "matrix:@other:example.org", NOW)
    schedule = CheckinSchedule("matrix", "@ann:example.org", "circle", frozenset({0, 3}),
                               "09:30", "Europe/Berlin", False, LATER, None, NOW)
    await store.save_checkin_schedule(schedule)
    assert await store.update_checkin_schedule("matrix", "@ann:example.org", clear_snooze=True,
                                               paused=True)
    kept = await store.checkin_schedule("matrix", "@ann:example.org")
    assert kept and kept.paused and kept.snoozed_until is None and kept.days == {0, 3}


async def test_reports_get_their_own_id_sealed_in(store: Store) -> None:
    report_id = await store.add_member_report(
        "discord", "circle", b"k" * 16, True, NOW, lambda rid: f"sealed-{rid}".encode(), "55"
    )
    report = await store.member_report(report_id)
    assert report and report.member_sealed == f"sealed-{report_id}".encode()
    assert await store.count_member_reports_since(b"k" * 16, NOW) == 1


async def test_members_agreements_and_erase(store: Store) -> None:
    await store.record_join("console", "recovery", "alice", NOW)
    await store.record_join("console", "recovery", "bob", NOW)
    assert await store.record_agreement("console", "alice", "circle", "h1", NOW)
    assert not await store.record_agreement("console", "alice", "circle", "h1", NOW)
    report = await store.agreement_report("console", "recovery", "circle", "h1")
    assert report.agreed == ("alice",) and report.not_agreed == ("bob",)
    assert await store.add_reminder("r1", "console", "recovery", "recovery", "alice", "circle",
                                    "h1", NOW)
    records = await store.member_records("console", "alice")
    assert [r["room_id"] for r in records["memberships"]] == ["recovery"]
    counts = await store.erase_member("console", "alice")
    assert counts["memberships"] == 1 and counts["agreements"] == 1
    assert await store.room_member_ids("console", "recovery") == ["bob"]
    assert "fingerprints" in await store.table_names()
    assert await store.add_alert("al-1", "console", b"sealed", None, NOW, LATER)
    assert not await store.add_alert("al-1", "console", b"sealed", None, NOW, LATER)
    assert [a.key for a in await store.owed_alerts()] == ["al-1"]


async def test_a_task_that_dies_before_its_commit_leaves_nothing(pg_database: str) -> None:
    """PostgreSQL: a task that wrote and then failed or was cancelled before its commit
    (here: an error between the two) has its transaction rolled back and its pooled
    connection returned; nothing of it is ever committed by another task's commit."""
    from bot.store.postgres import POOL_SIZE, PostgresStore

    store = await open_store(pg_database, NOW)
    assert isinstance(store, PostgresStore)
    connection = store._db  # the shared SQL's connection, cut between write and commit

    async def half_a_write() -> None:
        await connection.execute(
            "INSERT INTO bot_threads (platform, thread_id, opened_at) VALUES (?,?,?)",
            ("discord", "cut-off", "2026-03-01T12:00:00+00:00"),
        )
        raise RuntimeError("the platform call between the write and the commit failed")

    try:
        for _ in range(POOL_SIZE + 2):  # more than the pool holds: each one came back
            with pytest.raises(RuntimeError):
                await asyncio.wait_for(asyncio.create_task(half_a_write()), 10)
            await asyncio.sleep(0)  # the done-callback's rollback runs
        await asyncio.wait_for(store.add_bot_thread("discord", "kept", NOW), 10)
        assert await store.bot_threads("discord") == {"kept"}
    finally:
        await store.close()


async def test_concurrent_writers_do_not_share_a_transaction(database: Path | str) -> None:
    """Many tasks writing at once each commit their own rows, all of them (on PostgreSQL
    each on its own pooled connection)."""
    store = await open_store(database, NOW)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(store.add_bot_thread("discord", str(n), NOW) for n in range(40))),
            30,
        )
        assert await store.bot_threads("discord") == {str(n) for n in range(40)}
    finally:
        await store.close()


async def test_a_long_lived_task_is_watched_once_however_often_it_writes(
    pg_database: str,
) -> None:
    """PostgreSQL: the adapter's event task writes on every event for hours; the pool
    watches its end with one callback, not one more per transaction (which would grow
    without bound)."""
    watchers: list[object] = []

    class CountingTask(asyncio.Task):  # type: ignore[type-arg]
        def add_done_callback(self, fn, *, context=None):  # type: ignore[no-untyped-def]
            watchers.append(fn)
            super().add_done_callback(fn, context=context)

    loop = asyncio.get_running_loop()
    factory = loop.get_task_factory()
    store = await open_store(pg_database, NOW)
    loop.set_task_factory(lambda lp, coro, **kw: CountingTask(coro, loop=lp, **kw))
    try:
        async def writes() -> None:
            for n in range(30):
                await store.add_bot_thread("discord", str(n), NOW)

        await asyncio.wait_for(asyncio.create_task(writes()), 30)
    finally:
        loop.set_task_factory(factory)
        await store.close()
    from_the_pool = [fn for fn in watchers if getattr(fn, "__name__", "") == "_task_done"]
    assert len(from_the_pool) == 1
