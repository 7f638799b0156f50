"""Migrations never lose data, and ``confidant migrate [--check]`` says what it will do.

For every schema version the code has known, a database is built with migrations 1..n only
and every table it has is filled with realistic rows; then the current code opens it. Every
row must survive with the values of the columns that still exist, and the upgraded schema
must be exactly the schema of a database made fresh. Tables are discovered from
``sqlite_master``, so a new migration that adds a table fails here until :data:`ROWS` has
data for it, and one that drops or empties a table fails until that is made explicit.

The same runs on PostgreSQL with its twin migrations (bot/store/migrations_pg/) and the
same :data:`ROWS`, on a server the suite starts (tests/pg_server.py); ``confidant migrate
[--check]`` is checked there too.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.checkins.sealing import Sealer
from bot.store import open_store
from bot.store.migrate import apply_migrations, packaged_migrations
from tests.conftest import make_config, write_policy
from tests.pg_server import drop_database, new_database
from tests.test_cli import confidant

MIGRATIONS = packaged_migrations()
LATEST = MIGRATIONS[-1].version
NOW = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
KEY = bytes(range(32))
_SEAL = Sealer(KEY)


def at(day: int, hour: int = 9) -> str:
    return f"2026-02-{day:02d}T{hour:02d}:00:00+00:00"


def keyed(label: str) -> bytes:
    """A 16-byte keyed hash, as the store keeps for authors and message ids."""
    return (label.encode() * 16)[:16]


# Realistic rows for every table the schema has had, column -> value. A column that a later
# migration adds or drops may appear here: only the columns a version has are inserted.
ROWS: dict[str, list[dict[str, object]]] = {
    "alert_outbox": [  # sealed alerts: opaque bytes here, never words
        {"key": "alert-5f2c1e9a", "platform": "matrix", "alert": b"\x8a\x11sealed-alert-one",
         "member_key": None, "created_at": at(4), "attempts": 2, "next_at": at(4, 10),
         "delivered_at": None, "given_up_at": None},
        {"key": "alert-77d0b3c4", "platform": "discord", "alert": b"\x02\xfesealed-alert-two",
         "member_key": keyed("zed"), "created_at": at(4, 11), "attempts": 0,
         "next_at": at(4, 11), "delivered_at": at(4, 11), "given_up_at": None},
    ],
    "job_leases": [  # who runs a shared job until when: a process id and times only
        {"name": "store", "holder": "host-a:4242:9f31c0de", "lease_until": 1767603750000,
         "epoch": 3},
        {"name": "members:discord", "holder": "host-b:977:0b7ae512",
         "lease_until": 1767603812500, "epoch": 1},
    ],
    "room_access": [
        {"platform": "console", "room_id": "recovery", "member_id": "alice",
         "policy": "recovery-circle", "room_name": "recovery", "granted_at": at(3),
         "ended_at": None},
        {"platform": "console", "room_id": "recovery", "member_id": "bob",
         "policy": "recovery-circle", "room_name": "recovery", "granted_at": at(3, 9),
         "ended_at": at(5, 14)},
    ],
    "memberships": [
        {"platform": "matrix", "room_id": "!circle:example.org",
         "member_id": "@alice:example.org", "joined_at": at(1), "left_at": None},
        {"platform": "discord", "room_id": "112233445566778899",
         "member_id": "998877665544332211", "joined_at": at(2), "left_at": at(9, 18)},
    ],
    "reminders": [
        {"key": "r-5f2a9c", "platform": "matrix", "room_id": "!circle:example.org",
         "room_name": "#circle:example.org", "member_id": "@alice:example.org",
         "policy": "recovery-circle", "text_hash": "1dcfce458e9c6b55", "created_at": at(1),
         "delivered_at": at(1), "channel": "SendPrivate", "attempts": 0, "retry_at": None},
        {"key": "r-77e0b1", "platform": "discord", "room_id": "112233445566778899",
         "room_name": "recovery-circle", "member_id": "998877665544332211",
         "policy": "recovery-circle", "text_hash": "1dcfce458e9c6b55", "created_at": at(2),
         "delivered_at": None, "channel": None, "attempts": 1, "retry_at": at(2, 10)},
    ],
    "agreements": [
        {"platform": "matrix", "member_id": "@alice:example.org", "policy": "recovery-circle",
         "text_hash": "1dcfce458e9c6b55", "agreed_at": at(1, 10)},
        {"platform": "console", "member_id": "sam", "policy": "grief-group",
         "text_hash": "0b7e3d11aa90c2f4", "agreed_at": at(3)},
    ],
    "room_state": [
        {"platform": "matrix", "room_id": "!circle:example.org", "policy": "recovery-circle",
         "room_name": "#circle:example.org", "messages_since": 37, "last_reminded_at": at(4)},
    ],
    "audit_log": [
        {"id": 1, "at": at(5), "platform": "matrix", "actor_id": "@mod:example.org",
         "action": "policy.reload", "detail": "2 policies", "policy": "recovery-circle"},
        {"id": 2, "at": at(6), "platform": "discord", "actor_id": "445566778899001122",
         "action": "flag.resolve", "detail": "flag 1", "policy": "recovery-circle"},
        {"id": 3, "at": at(7), "platform": "matrix", "actor_id": "@alice:example.org",
         "action": "mydata", "detail": "export sent", "policy": None},
    ],
    "rules_messages": [
        {"platform": "discord", "room_id": "112233445566778899", "policy": "recovery-circle",
         "room_name": "recovery-circle", "content_hash": "9e1f0c2b7a6d5e4f",
         "post_key": "rules-1a2b3c", "message_id": "1234567890123456789",
         "updated_at": at(2), "posted_at": at(2)},
    ],
    "fingerprints": [
        {"fingerprint": -4611686018427387904, "scheme": "k11w2",
         "room_key": "matrix:!circle:example.org", "policy": "recovery-circle", "day": 20500,
         "author": keyed("alice"), "message": keyed("$event1"), "joined_to": None},
        {"fingerprint": 9007199254740993, "scheme": "k11w2",
         "room_key": "discord:112233445566778899", "policy": "recovery-circle", "day": 20501,
         "author": keyed("bob"), "message": keyed("1234"), "joined_to": None},
        {"fingerprint": 5764607523034234880, "scheme": "n2k11w2",
         "room_key": "discord:112233445566778899", "policy": "recovery-circle", "day": 20501,
         "author": keyed("bob"), "message": keyed("1235"), "joined_to": keyed("1234")},
    ],
    "leak_stoplist": [
        {"fingerprint": 1311768467463790320, "added_at": at(7)},
    ],
    "leak_flags": [
        {"id": 1, "platform": "discord", "room_id": "556677889900112233",
         "room_name": "general", "message_id": "1357913579135791357",
         "source_platform": "matrix", "source_room_id": "!circle:example.org",
         "source_room_name": "#circle:example.org", "policy": "recovery-circle",
         "signal": "quote", "matched": 3, "whole_message": 0,
         "poster_id": "998877665544332211", "status": "open", "copy_state": "held",
         "created_at": at(8), "updated_at": at(8, 11), "closed_by": None},
        {"id": 2, "platform": "matrix", "room_id": "!lobby:example.org", "room_name": None,
         "message_id": "$copy2", "source_platform": "matrix",
         "source_room_id": "!circle:example.org", "source_room_name": None,
         "policy": "recovery-circle", "signal": "link", "matched": 0, "whole_message": 0,
         "poster_id": "@bob:example.org", "status": "resolved", "copy_state": "deleted",
         "created_at": at(8), "updated_at": at(9), "closed_by": "matrix:@mod:example.org"},
    ],
    "leak_flag_parts": [
        {"flag_id": 1, "position": 0, "message_id": "1357913579135791350"},
        {"flag_id": 1, "position": 1, "message_id": "1357913579135791357"},
    ],
    "leak_flag_fingerprints": [
        {"flag_id": 1, "fingerprint": -4611686018427387904},
        {"flag_id": 1, "fingerprint": 9007199254740993},
    ],
    "checkin_consent_asked": [  # an intro awaiting agree/decline: ids and a policy name
        {"platform": "discord", "member_id": "811111111111111111", "policy": "circle",
         "asked_at": at(5, 20)},
        {"platform": "matrix", "member_id": "@rowan:example.org", "policy": "grief-circle",
         "asked_at": at(6, 7)},
    ],
    "checkin_consents": [
        {"platform": "matrix", "member_id": "@alice:example.org", "policy": "recovery-circle",
         "intro_hash": "b388fb9449b4560a", "agreed_at": at(10)},
    ],
    "checkins": [
        {"id": 1, "platform": "matrix", "member_id": "@alice:example.org",
         "policy": "recovery-circle", "status": "complete", "step": 4, "awaiting": "question",
         "crisis_shown": 0, "asked_contact": 0, "started_at": at(10),
         "updated_at": at(10, 10), "ended_at": at(10, 10)},
        {"id": 2, "platform": "console", "member_id": "sam", "policy": "grief-group",
         "status": "open", "step": 1, "awaiting": "contact", "crisis_shown": 1,
         "asked_contact": 1, "started_at": at(11), "updated_at": at(11), "ended_at": None},
    ],
    "checkin_answers": [
        {"checkin_id": 1, "question_id": "mood", "skipped": 0,
         "sealed": _SEAL.seal(1, "mood", 4), "answered_at": at(10)},
        {"checkin_id": 1, "question_id": "note", "skipped": 0,
         "sealed": _SEAL.seal(1, "note", "a quiet week"), "answered_at": at(10, 10)},
        {"checkin_id": 2, "question_id": "mood", "skipped": 1, "sealed": None,
         "answered_at": at(11)},
    ],
    "checkin_escalations": [
        {"id": 1, "checkin_id": 2, "platform": "console", "member_id": "sam",
         "policy": "grief-group", "reason": "threshold", "shared": 0, "created_at": at(11),
         "claimed_by": "console:sue", "claimed_at": at(11, 12)},
    ],
    "checkin_schedules": [
        {"platform": "matrix", "member_id": "@alice:example.org", "policy": "recovery-circle",
         "days": "0,3", "local_time": "09:00", "zone": "Europe/Berlin", "paused": 0,
         "snoozed_until": None, "last_fired": at(12, 8), "created_at": at(10)},
    ],
    "handled_replies": [
        {"platform": "matrix", "message_id": "$Kq3yv8Tn0aRb:example.org",
         "handled_at": at(12, 9)},
    ],
    "bot_threads": [
        {"platform": "discord", "thread_id": "1187654321098765432", "opened_at": at(13, 7)},
    ],
    "room_presence": [
        {"platform": "discord", "room_id": "1278463009812345678",
         "member_id": "1178462201556787201"},
    ],
    "room_presence_counted": [
        {"platform": "discord", "room_id": "1278463009812345678", "counted_at": at(12, 10)},
    ],
    "member_reports": [
        {"id": 1, "platform": "matrix", "policy": "recovery-circle",
         "member_key": keyed("report-alice"),
         "member_sealed": _SEAL.seal(1, "report-member/matrix", "@alice:example.org"),
         "named": 0, "room_id": None, "made_at": at(13, 21), "answered_at": at(14, 8),
         "answers": 1},
        {"id": 2, "platform": "discord", "policy": "recovery-circle",
         "member_key": keyed("report-dana"),
         "member_sealed": _SEAL.seal(2, "report-member/discord", "1178462201556787201"),
         "named": 1, "room_id": "1278463009812345678", "made_at": at(14, 9),
         "answered_at": None, "answers": 0},
    ],
    "held_copies": [
        {"flag_id": 1, "sealed": _SEAL.seal(1, "held-copy", "a held copy, sealed"),
         "expires_at": at(9, 8)},
    ],
    "confirmed_flags": [
        {"author": keyed("bob-author"), "policy": "recovery-circle", "flag_id": 2,
         "confirmed_at": at(9, 12)},
    ],
    "repeat_actions": [
        {"id": 1, "platform": "discord", "member_id": "998877665544332211",
         "policy": "recovery-circle", "kind": "timeout", "flag_id": 2, "status": "done",
         "minutes": 60, "until": at(9, 13), "created_at": at(9, 12), "updated_at": at(9, 12)},
        {"id": 2, "platform": "matrix", "member_id": "@bob:example.org",
         "policy": "recovery-circle", "kind": "remove", "flag_id": 2, "status": "proposed",
         "minutes": None, "until": None, "created_at": at(9, 12), "updated_at": at(9, 12)},
    ],
}  # fmt: skip

BOOKKEEPING = {"schema_migrations", "sqlite_sequence"}


def tables(db: sqlite3.Connection) -> list[str]:
    """Tables in creation order (parents before the tables that reference them)."""
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid"
    ).fetchall()
    return [name for (name,) in rows if name not in BOOKKEEPING]


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def schema(db: sqlite3.Connection) -> dict[str, object]:
    """Everything that makes two schemas the same: columns with types, nullability,
    defaults and keys; indexes with their columns; foreign keys."""
    found: dict[str, object] = {}
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        indexes = {
            row[1]: (row[2], [c[2] for c in db.execute(f"PRAGMA index_info({row[1]})")])
            for row in db.execute(f"PRAGMA index_list({table})")
            if not row[1].startswith("sqlite_autoindex")
        }
        found[table] = {
            "columns": [tuple(r[1:]) for r in db.execute(f"PRAGMA table_info({table})")],
            "indexes": indexes,
            "foreign_keys": sorted(
                tuple(r[2:]) for r in db.execute(f"PRAGMA foreign_key_list({table})")
            ),
        }
    return found


async def build_at(path: Path, version: int) -> None:
    db = await aiosqlite.connect(path)
    try:
        await db.execute("PRAGMA journal_mode=WAL")
        await apply_migrations(db, MIGRATIONS[:version], "2026-02-01T00:00:00+00:00")
    finally:
        await db.close()


def fill(path: Path) -> dict[str, list[dict[str, object]]]:
    """Every table of the database gets its rows from :data:`ROWS`; returns what went in."""
    seeded: dict[str, list[dict[str, object]]] = {}
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("PRAGMA foreign_keys=ON")
        for table in tables(db):
            assert table in ROWS, f"table {table} has no test data: add realistic rows to ROWS"
            have = columns(db, table)
            rows = [{c: row[c] for c in have if c in row} for row in ROWS[table]]
            for row in rows:
                missing = set(have) - set(row)
                assert not missing, f"{table}: give {sorted(missing)} realistic values in ROWS"
                marks = ",".join("?" * len(row))
                db.execute(
                    f"INSERT INTO {table} ({','.join(row)}) VALUES ({marks})", [*row.values()]
                )
            seeded[table] = rows
    return seeded


def _ordered(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return sorted(rows, key=repr)


@pytest.mark.parametrize("version", range(1, LATEST + 1))
async def test_every_row_survives_an_upgrade_from(version: int, tmp_path: Path) -> None:
    old, fresh = tmp_path / "old.db", tmp_path / "fresh.db"
    await build_at(old, version)
    seeded = fill(old)
    assert seeded and all(seeded.values())  # data in every table of that version

    store = await open_store(old, NOW)
    try:
        assert await store.schema_version() == LATEST
    finally:
        await store.close()
    await (await open_store(fresh, NOW)).close()

    with contextlib.closing(sqlite3.connect(old)) as db:
        now_there = set(tables(db))
        for table, rows in seeded.items():
            assert table in now_there, f"upgrading from {version} dropped {table} and its rows"
            kept = [c for c in rows[0] if c in columns(db, table)]
            got = db.execute(f"SELECT {','.join(kept)} FROM {table}").fetchall()
            want = [tuple(row[c] for c in kept) for row in rows]
            assert _ordered(got) == _ordered(want), f"{table} after upgrading from {version}"
        versions = [v for (v,) in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == list(range(1, LATEST + 1))
        upgraded = schema(db)
    with contextlib.closing(sqlite3.connect(fresh)) as db:
        assert upgraded == schema(db)


async def test_sealed_answers_still_open_after_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version = next(m.version for m in MIGRATIONS if "checkin_answers" in m.sql)
    await build_at(path, version)
    fill(path)
    store = await open_store(path, NOW)
    try:
        answers = {a.question_id: a for a in await store.checkin_answers(1)}
    finally:
        await store.close()
    assert _SEAL.open(1, "note", answers["note"].sealed) == "a quiet week"  # type: ignore[arg-type]
    assert _SEAL.open(1, "mood", answers["mood"].sealed) == 4  # type: ignore[arg-type]


def test_the_table_discovery_can_fail(tmp_path: Path) -> None:
    """A table without rows in ROWS is reported by name, not silently skipped."""
    path = tmp_path / "extra.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE member_notes (member_id TEXT NOT NULL)")
    with pytest.raises(AssertionError, match="member_notes has no test data"):
        fill(path)


# -- confidant migrate -----------------------------------------------------------------------


async def _deployment(tmp_path: Path, version: int) -> Path:
    write_policy(tmp_path / "policies")
    make_config(tmp_path)
    await build_at(tmp_path / "confidant.db", version)
    key = tmp_path / "confidant.key"
    key.write_text(KEY.hex() + "\n")
    key.chmod(0o600)
    return tmp_path / "config.yaml"


def _version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])


async def test_migrate_check_reports_pending_then_migrate_applies_after_a_backup(
    tmp_path: Path,
) -> None:
    assert LATEST >= 3
    config = await _deployment(tmp_path, LATEST - 2)
    database = tmp_path / "confidant.db"
    before = database.read_bytes()
    check = confidant("migrate", "--check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 1, check.stderr
    assert f"schema version of the database: {LATEST - 2}" in check.stdout
    assert f"schema version of this Confidant: {LATEST}" in check.stdout
    for migration in MIGRATIONS[LATEST - 2 :]:
        assert f"{migration.version:04d}" in check.stdout and migration.name in check.stdout
    assert f"{MIGRATIONS[LATEST - 3].version:04d}  " not in check.stdout
    assert database.read_bytes() == before and _version(database) == LATEST - 2  # untouched

    applied = confidant("migrate", "--config", str(config), cwd=tmp_path)
    assert applied.returncode == 0, applied.stderr
    assert "Backed up to" in applied.stdout and "before migrating" in applied.stdout
    [archive] = (tmp_path / "backups").glob("confidant-backup-*.tar")
    assert archive.stat().st_mode & 0o777 == 0o600
    assert _version(database) == LATEST
    again = confidant("migrate", "--check", "--config", str(config), cwd=tmp_path)
    assert again.returncode == 0 and "Up to date" in again.stdout
    # the backup taken first holds the old schema: restoring it undoes the upgrade
    restored = tmp_path / "restored"
    restored.mkdir()
    from bot.store.archive import restore_backup

    result = restore_backup(archive, restored / "c.db", restored / "c.key")
    assert result.manifest.schema_version == LATEST - 2
    assert _version(restored / "c.db") == LATEST - 2


async def test_migrate_refuses_a_newer_database_and_a_running_bot(tmp_path: Path) -> None:
    config = await _deployment(tmp_path, LATEST - 1)
    database = tmp_path / "confidant.db"
    with contextlib.closing(sqlite3.connect(database)) as held:  # someone has it open
        held.execute("SELECT 1 FROM schema_migrations").fetchall()
        busy = confidant("migrate", "--config", str(config), cwd=tmp_path)
    assert busy.returncode == 1 and "stop Confidant" in busy.stderr
    assert _version(database) == LATEST - 1 and not (tmp_path / "backups").exists()

    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
            (LATEST + 1, f"{LATEST + 1:04d}_from_the_future.sql", "2026-03-01T00:00:00+00:00"),
        )
    check = confidant("migrate", "--check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 2
    assert f"schema version of the database: {LATEST + 1}" in check.stdout
    assert "newer Confidant" in check.stderr
    apply = confidant("migrate", "--config", str(config), cwd=tmp_path)
    assert apply.returncode == 2 and _version(database) == LATEST + 1


# -- the same on PostgreSQL ------------------------------------------------------------------

PG_MIGRATIONS = packaged_migrations("postgresql")


def pg_tables(db: Any) -> list[str]:
    """Tables in creation order (a new table gets a higher oid on a fresh server)."""
    rows = db.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.oid"
    ).fetchall()
    return [name for (name,) in rows if name not in BOOKKEEPING]


def pg_columns(db: Any, table: str) -> list[str]:
    """Columns a row is written with: not those PostgreSQL always fills itself (the
    identity ``position`` that stands in for SQLite's rowid)."""
    rows = db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = %s AND identity_generation IS DISTINCT FROM"
        " 'ALWAYS' ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [name for (name,) in rows]


def pg_schema(db: Any) -> dict[str, object]:
    columns = db.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " ORDER BY table_name, ordinal_position"
    ).fetchall()
    indexes = db.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema() ORDER BY 1, 2"
    ).fetchall()
    constraints = db.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2"
    ).fetchall()
    return {"columns": columns, "indexes": indexes, "constraints": constraints}


def pg_fill(url: str) -> dict[str, list[dict[str, object]]]:
    import psycopg

    seeded: dict[str, list[dict[str, object]]] = {}
    with psycopg.connect(url) as db:
        for table in pg_tables(db):
            assert table in ROWS, f"table {table} has no test data: add realistic rows to ROWS"
            have = pg_columns(db, table)
            rows = [{c: row[c] for c in have if c in row} for row in ROWS[table]]
            for row in rows:
                missing = set(have) - set(row)
                assert not missing, f"{table}: give {sorted(missing)} realistic values in ROWS"
                marks = ",".join(["%s"] * len(row))
                db.execute(
                    f"INSERT INTO {table} ({','.join(row)}) VALUES ({marks})", [*row.values()]
                )
            seeded[table] = rows
    return seeded


@pytest.mark.parametrize("version", range(1, LATEST + 1))
async def test_every_row_survives_an_upgrade_on_postgresql_from(
    version: int, pg_server: Any
) -> None:
    import psycopg

    from bot.store.postgres import apply_pg_migrations

    old, fresh = new_database(pg_server), new_database(pg_server)
    try:
        await apply_pg_migrations(old, PG_MIGRATIONS[:version], "2026-02-01T00:00:00+00:00")
        seeded = pg_fill(old)
        assert seeded and all(seeded.values())

        store = await open_store(old, NOW)
        try:
            assert await store.schema_version() == LATEST
        finally:
            await store.close()
        await (await open_store(fresh, NOW)).close()

        with psycopg.connect(old) as db:
            now_there = set(pg_tables(db))
            for table, rows in seeded.items():
                assert table in now_there, f"upgrading from {version} dropped {table}"
                kept = [c for c in rows[0] if c in pg_columns(db, table)]
                got = db.execute(f"SELECT {','.join(kept)} FROM {table}").fetchall()
                want = [tuple(row[c] for c in kept) for row in rows]
                assert _ordered(got) == _ordered(want), f"{table} after upgrading from {version}"
            versions = db.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
            assert [v for (v,) in versions] == list(range(1, LATEST + 1))
            upgraded = pg_schema(db)
        with psycopg.connect(fresh) as db:
            assert upgraded == pg_schema(db)
    finally:
        drop_database(pg_server, old)
        drop_database(pg_server, fresh)


async def test_the_two_backends_have_the_same_tables_and_columns(
    tmp_path: Path, pg_database: str
) -> None:
    """The twins really are twins: same tables, same columns in the same order (besides
    PostgreSQL's ``position``, which is SQLite's rowid)."""
    import psycopg

    await (await open_store(tmp_path / "c.db", NOW)).close()
    await (await open_store(pg_database, NOW)).close()
    with contextlib.closing(sqlite3.connect(tmp_path / "c.db")) as db:
        lite = {t: columns(db, t) for t in tables(db)}
    with psycopg.connect(pg_database) as db:
        pg = {t: pg_columns(db, t) for t in pg_tables(db)}
    assert pg == lite


async def test_migrate_check_then_migrate_on_postgresql(
    tmp_path: Path, pg_database: str, pg_server: Any
) -> None:
    from bot.store.postgres import apply_pg_migrations

    await apply_pg_migrations(pg_database, PG_MIGRATIONS[: LATEST - 2], "2026-02-01T00:00:00Z")
    secret = "unused-but-secret-7702"  # the test server trusts the socket; never printed
    base, _, query = pg_database.partition("?")
    url = base.replace("postgres:@", "postgres:${CONFIDANT_DB_PASSWORD}@") + "?" + query
    write_policy(tmp_path / "policies")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {url}\nkey_file: confidant.key\npolicy_dir: policies\n"
        "adapters:\n  console:\n    enabled: true\n"
    )
    env = {"CONFIDANT_DB_PASSWORD": secret}
    check = confidant("migrate", "--check", "--config", str(config), cwd=tmp_path, env_extra=env)
    assert check.returncode == 1, check.stderr
    assert f"schema version of the database: {LATEST - 2}" in check.stdout
    assert f"schema version of this Confidant: {LATEST}" in check.stdout
    assert PG_MIGRATIONS[-1].name in check.stdout and "takes a backup first" in check.stdout
    key = tmp_path / "confidant.key"
    key.write_text(KEY.hex() + "\n")
    key.chmod(0o600)
    applied = confidant("migrate", "--config", str(config), cwd=tmp_path, env_extra=env)
    assert applied.returncode == 0, applied.stderr
    assert "Backed up to" in applied.stdout and "before migrating" in applied.stdout
    assert f"Applied migrations {LATEST - 1:04d}, {LATEST:04d}" in applied.stdout
    [archive] = (tmp_path / "backups").glob("confidant-backup-*.tar")
    assert archive.stat().st_mode & 0o777 == 0o600
    again = confidant("migrate", "--check", "--config", str(config), cwd=tmp_path, env_extra=env)
    assert again.returncode == 0 and "Up to date" in again.stdout
    for run in (check, applied, again):
        assert secret not in run.stdout + run.stderr and "postgres:***@" in run.stdout
    # the backup taken first holds the old schema: restoring it undoes the upgrade
    from bot.store.archive import restore_backup
    from bot.store.postgres import database_version

    older = new_database(pg_server)
    try:
        result = restore_backup(archive, older, tmp_path / "restored.key")
        assert result.manifest.schema_version == LATEST - 2
        assert await database_version(older) == LATEST - 2
    finally:
        drop_database(pg_server, older)
