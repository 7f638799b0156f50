"""Leased job rows (bot/store/job_rows.py) on both backends: one holder at a time, a dead
holder replaced once its lease ran out, the replaced holder fenced off by the epoch, and the
item claims that keep two processes from sending the same thing twice.

"Two processes" are two stores opened separately on the same database (two connection pools
on PostgreSQL, two connections to the file on SQLite), as two bot processes would have.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store, open_store
from bot.store.rows import CheckinSchedule

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=150)


@pytest.fixture
async def two(database: Path | str) -> AsyncIterator[tuple[Store, Store]]:
    first = await open_store(database, NOW)
    second = await open_store(database, NOW)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_one_holder_then_takeover_after_the_lease(two: tuple[Store, Store]) -> None:
    a, b = two
    assert await a.acquire_job_lease("store", "a", NOW, NOW + LEASE) == 1
    assert await b.acquire_job_lease("store", "b", NOW, NOW + LEASE) is None
    later = NOW + timedelta(seconds=60)
    assert await a.acquire_job_lease("store", "a", later, later + LEASE) == 1  # renewed
    assert await a.job_lease_held("store", "a", 1, later)
    # a stops renewing (it died): b waits the lease out, then takes over with a new epoch
    expired = later + LEASE
    assert await b.acquire_job_lease("store", "b", expired - timedelta(seconds=1),
                                     expired + LEASE) is None
    assert await b.acquire_job_lease("store", "b", expired, expired + LEASE) == 2
    # a comes back: fenced off by the epoch, and cannot renew over b's lease
    assert not await a.job_lease_held("store", "a", 1, expired)
    assert await a.acquire_job_lease("store", "a", expired, expired + LEASE) is None
    assert await b.job_lease_held("store", "b", 2, expired)
    # other jobs are leased apart
    assert await a.acquire_job_lease("members:discord", "a", expired, expired + LEASE) == 1


async def test_a_clean_stop_hands_over_at_once(two: tuple[Store, Store]) -> None:
    a, b = two
    assert await a.acquire_job_lease("store", "a", NOW, NOW + LEASE) == 1
    assert await a.release_job_leases("a", NOW) == 1
    assert not await a.job_lease_held("store", "a", 1, NOW)
    assert await b.acquire_job_lease("store", "b", NOW, NOW + LEASE) == 2


async def test_racing_acquires_have_one_winner(two: tuple[Store, Store]) -> None:
    a, b = two
    for round_ in range(5):
        at = NOW + round_ * (LEASE + timedelta(seconds=1))  # each round the lease ran out
        results = await asyncio.gather(
            *(store.acquire_job_lease("store", name, at, at + LEASE)
              for store, name in ((a, "a"), (b, "b"), (a, "a2"), (b, "b2")))
        )
        assert sum(r is not None for r in results) == 1, results


async def test_item_claims_are_won_once(two: tuple[Store, Store]) -> None:
    a, b = two
    # a scheduled check-in: last_fired moves once from what both read
    await a.save_checkin_schedule(CheckinSchedule(
        "discord", "77", "circle", frozenset({0}), "09:00", "Europe/Berlin", False, None,
        None, NOW))
    fire = NOW + timedelta(days=1)
    won = await asyncio.gather(
        a.claim_checkin_fire("discord", "77", None, fire),
        b.claim_checkin_fire("discord", "77", None, fire),
    )
    assert sorted(won) == [False, True]
    nxt = fire + timedelta(days=7)
    assert await b.claim_checkin_fire("discord", "77", fire, nxt)
    assert not await a.claim_checkin_fire("discord", "77", fire, nxt)
    # a periodic room reminder: the period restarts once
    await a.room_state("discord", "42", "circle", "recovery", NOW)
    due = NOW + timedelta(days=7)
    won = await asyncio.gather(
        a.claim_room_reminder("discord", "42", "circle", NOW, due),
        b.claim_room_reminder("discord", "42", "circle", NOW, due),
    )
    assert sorted(won) == [False, True]
    # a pending reminder's resend and an owed alert: leased to one sender
    await a.add_reminder("rem-1", "discord", "42", "recovery", "77", "circle", "h", NOW)
    won = await asyncio.gather(
        a.claim_reminder_resend("rem-1", due, due + LEASE),
        b.claim_reminder_resend("rem-1", due, due + LEASE),
    )
    assert sorted(won) == [False, True]
    assert await a.claim_reminder_resend("rem-1", due + LEASE, due + 2 * LEASE)
    await a.add_alert("alert-1", "discord", b"sealed", None, NOW, NOW)
    won = await asyncio.gather(
        a.claim_alert("alert-1", NOW, NOW + LEASE),
        b.claim_alert("alert-1", NOW, NOW + LEASE),
    )
    assert sorted(won) == [False, True]
