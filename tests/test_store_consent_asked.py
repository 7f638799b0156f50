"""The check-in intro awaiting a member's agree or decline lives in the store, on both
backends: the process that asked and the one their reply reaches may differ (a sharded
Discord bot gets direct messages on shard 0 only), and a restart keeps it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store, open_store

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[Store]:
    opened = await open_store(database, NOW)
    try:
        yield opened
    finally:
        await opened.close()


async def test_an_asked_intro_is_seen_by_another_connection_and_goes_when_answered(
    store: Store, database: Path | str
) -> None:
    await store.ask_checkin_consent("discord", "42", "circle", NOW)
    await store.ask_checkin_consent("discord", "42", "grief", NOW + timedelta(minutes=1))
    other = await open_store(database, NOW)  # another process on the same database
    try:
        assert await other.checkin_consent_asked("discord", "42") == "grief"  # the newest
        assert await other.checkin_consent_asked("discord", "43") is None
        await other.forget_checkin_consent_asked("discord", "42")
    finally:
        await other.close()
    assert await store.checkin_consent_asked("discord", "42") is None


async def test_erasing_a_member_removes_their_asked_intro(store: Store) -> None:
    await store.ask_checkin_consent("matrix", "@rowan:example.org", "circle", NOW)
    exported = await store.member_records("matrix", "@rowan:example.org")
    assert exported["checkin_consent_asked"][0]["policy"] == "circle"
    counts = await store.erase_member("matrix", "@rowan:example.org")
    assert counts["checkin_consent_asked"] == 1
    assert await store.checkin_consent_asked("matrix", "@rowan:example.org") is None
