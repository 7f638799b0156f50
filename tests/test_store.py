"""The store: migrations, refusal of newer schemas, WAL, and no message text anywhere.

Tests taking ``database`` run on both backends (SQLite file, PostgreSQL server; see
tests/pg_server.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from bot.store import open_store
from bot.store.migrate import SchemaTooNew, packaged_migrations

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_migrations_apply_once_and_wal_is_on(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = await open_store(path, NOW)
    assert await store.schema_version() == len(packaged_migrations())
    await store.close()
    store = await open_store(path, NOW)  # a second open applies nothing and keeps data
    assert await store.schema_version() == len(packaged_migrations())
    await store.close()
    async with aiosqlite.connect(path) as db:
        async with db.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"  # type: ignore[index]
        async with db.execute("SELECT COUNT(*) FROM schema_migrations") as cur:
            assert (await cur.fetchone())[0] == len(packaged_migrations())  # type: ignore[index]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_postgresql_migrations_apply_once(pg_database: str) -> None:
    store = await open_store(pg_database, NOW)
    assert await store.schema_version() == len(packaged_migrations("postgresql"))
    await store.add_bot_thread("discord", "1", NOW)
    await store.close()
    store = await open_store(pg_database, NOW)  # a second open applies nothing, keeps data
    assert await store.schema_version() == len(packaged_migrations("postgresql"))
    assert await store.bot_threads("discord") == {"1"}
    await store.close()


async def _write_future_version(database: Path | str) -> None:
    future = "INSERT INTO schema_migrations VALUES (999, '0999_future.sql', '2030-01-01')"
    if isinstance(database, Path):
        async with aiosqlite.connect(database) as db:
            await db.execute(future)
            await db.commit()
        return
    import psycopg

    async with await psycopg.AsyncConnection.connect(database, autocommit=True) as conn:
        await conn.execute(future)


async def test_newer_schema_is_refused(database: Path | str) -> None:
    store = await open_store(database, NOW)
    await store.close()
    await _write_future_version(database)
    with pytest.raises(SchemaTooNew, match="schema version 999"):
        await open_store(database, NOW)


async def test_reminder_outbox_roundtrip(database: Path | str) -> None:
    store = await open_store(database, NOW)
    try:
        args = ("console", "recovery", "recovery", "alice", "circle", "h1", NOW)
        assert await store.add_reminder("rem-1", *args)
        assert not await store.add_reminder("rem-1b", *args)  # same member/room/text: once
        assert [p.key for p in await store.pending_reminders()] == ["rem-1"]
        await store.mark_reminder_delivered("rem-1", "SendPrivate", NOW)
        assert await store.pending_reminders() == []
        assert await store.was_reminded("console", "recovery", "alice", "circle", "h1")
        assert await store.was_reminded("console", "recovery", "alice", "circle", None)
        assert not await store.was_reminded("console", "recovery", "alice", "circle", "h2")
    finally:
        await store.close()


async def test_no_message_text_lands_in_the_database(tmp_path: Path) -> None:
    """Drive a whole console session with a canary and look for it in the raw files."""
    from tests.conftest import make_config, start_rig, write_policy

    write_policy(tmp_path / "policies")
    config = make_config(tmp_path)
    rig = await start_rig(config)
    canary = "zebra-canary-7731 my brother relapsed"
    try:
        await rig.say(":join alice", f"alice: {canary}", "alice: /agree", f"alice: {canary}")
        await rig.say(f":dm alice {canary}", f"mod: {canary}")
    finally:
        await rig.app.close()
    for suffix in ("", "-wal", "-shm"):
        file = Path(str(config.database) + suffix)
        if file.exists():
            assert b"zebra-canary" not in file.read_bytes()
            assert b"relapsed" not in file.read_bytes()
    assert "zebra-canary" not in rig.out.getvalue()


async def test_a_console_session_on_postgresql_keeps_no_text(
    tmp_path: Path, pg_database: str
) -> None:
    """The whole core on the PostgreSQL store: the same session as above works (reminder,
    agreement, private message, moderator), and no table holds the canary."""
    import psycopg

    from bot.store.url import PostgresUrl
    from tests.conftest import make_config, start_rig, write_policy

    write_policy(tmp_path / "policies")
    config = make_config(tmp_path).model_copy(
        update={"database": PostgresUrl.parse(pg_database)}
    )
    rig = await start_rig(config)
    canary = "zebra-canary-7731 my brother relapsed"
    try:
        said = await rig.say(":join alice")
        assert "What is shared here stays here." in said
        await rig.say(f"alice: {canary}", "alice: /agree", f"alice: {canary}")
        await rig.say(f":dm alice {canary}", f"mod: {canary}")
    finally:
        await rig.app.close()
    assert not (tmp_path / "confidant.db").exists()  # nothing went to a SQLite file
    with psycopg.connect(pg_database) as db:
        agreed = db.execute("SELECT member_id FROM agreements").fetchall()
        assert agreed == [("alice",)]
        tables = [t for (t,) in db.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )]
        for table in tables:
            for row in db.execute(f"SELECT * FROM {table}"):
                assert "zebra-canary" not in repr(row) and "relapsed" not in repr(row), table


async def test_threads_the_bot_opened_are_kept_per_platform_by_id(
    database: Path | str,
) -> None:
    store = await open_store(database, NOW)
    await store.add_bot_thread("discord", "1187654321098765432", NOW)
    await store.add_bot_thread("discord", "1187654321098765432", NOW)  # twice is once
    await store.add_bot_thread("discord", "1187654321098765999", NOW)
    await store.close()
    store = await open_store(database, NOW)  # still there after a restart
    assert await store.bot_threads("discord") == {"1187654321098765432", "1187654321098765999"}
    assert await store.bot_threads("matrix") == set()
    await store.forget_bot_thread("discord", "1187654321098765999")
    assert await store.bot_threads("discord") == {"1187654321098765432"}
    await store.close()


async def test_a_rooms_last_complete_count_time_is_kept(database: Path | str) -> None:
    """The read gate asks who joined after a gated room's last complete count."""
    store = await open_store(database, NOW)
    try:
        assert await store.room_counted_at("discord", "1") is None
        await store.replace_room_presence("discord", "1", ["7"], NOW)
        assert await store.room_counted_at("discord", "1") == NOW
        later = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
        await store.replace_room_presence("discord", "1", [], later)
        assert await store.room_counted_at("discord", "1") == later
        assert await store.room_counted_at("discord", "2") is None
    finally:
        await store.close()
