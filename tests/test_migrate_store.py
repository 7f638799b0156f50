"""``confidant migrate-store``: every table of a SQLite deployment into PostgreSQL, counts
checked, one moment of a database the bot may still be writing, nothing kept on a failure.

Every table gets the realistic rows of tests/test_migrations_upgrade.py (:data:`ROWS`), so a
new table without a PostgreSQL twin, or a column the copy misses, fails here."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.store import open_store
from bot.store.migrate import packaged_migrations
from bot.store.postgres import apply_pg_migrations
from bot.store.transfer import TransferError, read_snapshot, sqlite_to_postgres
from tests.test_backup_restore import SECRET, pg_contents, with_password_ref
from tests.test_cli import confidant
from tests.test_migrations_upgrade import LATEST, ROWS, _ordered, build_at, fill, pg_tables


async def sqlite_deployment(path: Path, version: int = LATEST) -> dict[str, Any]:
    await build_at(path, version)
    return fill(path)


def migrate_store(tmp_path: Path, source: Path, url: str) -> Any:
    return confidant(
        "migrate-store", "--from", f"sqlite:{source}", "--to", with_password_ref(url),
        cwd=tmp_path, env_extra={"CONFIDANT_DB_PASSWORD": SECRET},
    )  # fmt: skip


async def test_every_table_arrives_with_its_rows_and_counts(
    tmp_path: Path, pg_database: str
) -> None:
    source = tmp_path / "confidant.db"
    seeded = await sqlite_deployment(source)
    result = migrate_store(tmp_path, source, pg_database)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr and "postgres:***@" in result.stdout
    for table, rows in seeded.items():
        assert f"  {table}: {len(rows)} rows (counts match)" in result.stdout
    assert f"at schema version {LATEST}" in result.stdout
    with psycopg.connect(pg_database) as db:
        assert set(pg_tables(db)) - {"schema_migrations"} == set(seeded)
        for table, rows in seeded.items():
            columns = list(rows[0])
            got = db.execute(f"SELECT {','.join(columns)} FROM {table}").fetchall()
            want = [tuple(row[c] for c in columns) for row in rows]
            assert _ordered(got) == _ordered(want), table
        versions = db.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert [v for (v,) in versions] == list(range(1, LATEST + 1))
        # the rowid order lives on as PostgreSQL's position (the leak index reads in it)
        order = db.execute("SELECT message FROM fingerprints ORDER BY position").fetchall()
        assert [bytes(m) for (m,) in order] == [r["message"] for r in ROWS["fingerprints"]]
    # the store opens it as it is, and new rows take ids after the copied ones
    now = datetime(2026, 3, 3, tzinfo=UTC)
    store = await open_store(pg_database, now)
    try:
        assert await store.schema_version() == LATEST
        await store.audit("console", "mod", "policy.reload", "1 policy", now, policy="grief-group")
        [newest, *_] = await store.audit_entries(5)
        assert newest.action == "policy.reload" and newest.at.startswith("2026-03-03")
    finally:
        await store.close()
    with psycopg.connect(pg_database) as db:
        assert db.execute("SELECT MAX(id) FROM audit_log").fetchone()[0] == 4


async def test_a_schema_version_mismatch_is_refused(tmp_path: Path, pg_database: str) -> None:
    source = tmp_path / "confidant.db"
    await sqlite_deployment(source, LATEST - 1)
    await apply_pg_migrations(pg_database, packaged_migrations("postgresql"), "2026-03-01")
    result = migrate_store(tmp_path, source, pg_database)
    assert result.returncode == 1
    assert "schema version mismatch" in result.stderr and "Nothing was copied" in result.stderr
    assert f"at {LATEST - 1}" in result.stderr and f"at {LATEST}" in result.stderr
    assert all(not rows for table, rows in pg_contents(pg_database).items()
               if table != "schema_migrations")  # fmt: skip


async def test_a_target_holding_data_is_refused_and_kept(tmp_path: Path, pg_database: str) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    await sqlite_deployment(first)
    await build_at(second, LATEST)
    with contextlib.closing(sqlite3.connect(second)) as db, db:
        db.execute(
            "INSERT INTO agreements VALUES ('console', 'zoe', 'grief-group', 'abc', '2026-03-01')"
        )
    assert migrate_store(tmp_path, first, pg_database).returncode == 0
    before = pg_contents(pg_database)
    again = migrate_store(tmp_path, second, pg_database)
    assert again.returncode == 1 and "already holds data" in again.stderr
    assert pg_contents(pg_database) == before


def test_wrong_arguments_are_refused_plainly(tmp_path: Path) -> None:
    no_scheme = confidant("migrate-store", "--from", "x.db", "--to", "postgresql://h/d",
                          cwd=tmp_path)  # fmt: skip
    assert no_scheme.returncode == 1 and "sqlite:PATH" in no_scheme.stderr
    missing = confidant("migrate-store", "--from", f"sqlite:{tmp_path}/none.db", "--to",
                        "postgresql://h/d", cwd=tmp_path)  # fmt: skip
    assert missing.returncode == 1 and "no such SQLite database" in missing.stderr
    assert not (tmp_path / "none.db").exists()  # never created by a typo
    unset = confidant("migrate-store", "--from", f"sqlite:{tmp_path}/none.db", "--to",
                      "postgresql://c:${NOT_SET_ANYWHERE_9}@h/d", cwd=tmp_path)  # fmt: skip
    assert unset.returncode == 1 and "NOT_SET_ANYWHERE_9 is not set" in unset.stderr


async def test_a_running_deployment_is_copied_as_one_moment(
    tmp_path: Path, pg_database: str
) -> None:
    """The bot writes between the copy's batches; the copy holds the moment it began."""
    source = tmp_path / "confidant.db"
    await sqlite_deployment(source)
    with contextlib.closing(sqlite3.connect(source)) as db, db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executemany(
            "INSERT INTO memberships VALUES ('console', 'recovery', ?, '2026-03-01', NULL)",
            ((f"m{n}",) for n in range(12_000)),
        )
    writer = sqlite3.connect(source, isolation_level=None)
    written: list[int] = []

    def progress(done: int, total: int) -> None:
        if len(written) < 10:  # bounded
            writer.execute(
                "INSERT INTO memberships VALUES ('console', 'recovery', ?, '2026-03-02', NULL)",
                (f"late{len(written)}",),
            )
            written.append(done)

    snapshot = read_snapshot(source)
    try:
        counts = sqlite_to_postgres(snapshot, pg_database, progress=progress)
    finally:
        snapshot.close()
        writer.close()
    assert len(written) >= 3  # really written to during the copy
    assert counts["memberships"] == 12_000 + len(ROWS["memberships"])
    with psycopg.connect(pg_database) as db:
        assert db.execute("SELECT COUNT(*) FROM memberships").fetchone()[0] == counts["memberships"]
        assert not db.execute("SELECT 1 FROM memberships WHERE member_id LIKE 'late%'").fetchall()


async def test_a_copy_that_fails_midway_leaves_the_target_as_it_was(
    tmp_path: Path, pg_database: str
) -> None:
    source = tmp_path / "confidant.db"
    await sqlite_deployment(source)

    def fail_midway(done: int, total: int) -> None:
        if done > total // 2:
            raise TransferError("the disk filled up")

    snapshot = read_snapshot(source)
    try:
        with pytest.raises(TransferError, match="disk filled up"):
            sqlite_to_postgres(snapshot, pg_database, progress=fail_midway)
    finally:
        snapshot.close()
    assert pg_contents(pg_database) == {}  # not even the schema: one transaction
