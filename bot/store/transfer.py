"""Copy every table between a SQLite file and a PostgreSQL database, counts checked.

One copier serves three commands: ``confidant backup`` of a PostgreSQL deployment writes
its tables into a SQLite file (so the archive keeps its one layout, ``confidant.db`` beside
the key, checked the same way, and restores onto either backend); ``restore`` onto
PostgreSQL and ``migrate-store`` copy a SQLite file into PostgreSQL. Why a logical copy
through the driver rather than pg_dump: pg_dump must be at least the server's major version
(an admin's server and the binaries a wheel ships rarely agree), its custom format restores
only onto PostgreSQL, and it needs the password handed to a child process; the twin
migrations already make the two schemas the same tables and columns, so the tables alone
are the whole state.

Each side is read in one transaction (PostgreSQL: repeatable read, read only; SQLite: one
read transaction, a WAL snapshot), so a copy taken while the bot writes is one moment. The
PostgreSQL side is written in one transaction, schema included (PostgreSQL's DDL is
transactional) and under the migrations' advisory lock: a copy that fails, or whose counts
differ, leaves the target database exactly as it was. Messages name tables and counts only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.store.migrate import packaged_migrations

Progress = Callable[[int, int], None]  # (rows copied, rows in total)
BATCH = 5000
_MIGRATION_LOCK = 0x436F6E66  # the lock bot/store/postgres.py applies migrations under
_SQLITE_BOOKKEEPING = {"sqlite_sequence"}


class TransferError(RuntimeError):
    """A copy that cannot go ahead or did not add up; nothing was changed on the target."""


# -- reading each side ----------------------------------------------------------------------


def sqlite_tables(db: sqlite3.Connection) -> list[str]:
    """Tables in creation order (parents before the tables referencing them)."""
    rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")
    return [name for (name,) in rows if name not in _SQLITE_BOOKKEEPING]


def sqlite_version(db: sqlite3.Connection) -> int:
    if "schema_migrations" not in sqlite_tables(db):
        return 0
    return int(db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0])


def pg_tables(conn: Any) -> list[str]:
    """Tables in creation order (a table made later has a higher oid)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.oid"
    ).fetchall()
    return [str(name) for (name,) in rows]


def pg_columns(conn: Any, table: str) -> tuple[list[str], list[str]]:
    """(columns a row is written with, BY DEFAULT identity columns whose sequence follows).

    A GENERATED ALWAYS identity (``position``) stands in for SQLite's rowid: it is not
    copied but regenerated in the same order."""
    rows = conn.execute(
        "SELECT column_name, identity_generation FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    written = [str(name) for name, kind in rows if kind != "ALWAYS"]
    follow = [str(name) for name, kind in rows if kind == "BY DEFAULT"]
    return written, follow


def _pg_order(conn: Any, table: str) -> str:
    """Rows in the order they were written where that order means something."""
    row = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = %s AND identity_generation = 'ALWAYS'",
        (table,),
    ).fetchone()
    return f' ORDER BY "{row[0]}"' if row else ""


def _sqlite_order(db: sqlite3.Connection, table: str) -> str:
    """By rowid (the order PostgreSQL's ``position`` is regenerated in), except for a
    WITHOUT ROWID table, whose primary key orders it already."""
    try:
        db.execute(f'SELECT rowid FROM "{table}" LIMIT 0')
    except sqlite3.OperationalError:
        return ""
    return " ORDER BY rowid"


def pg_version(conn: Any) -> int:
    if "schema_migrations" not in pg_tables(conn):
        return 0
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def _count(db: Any, table: str) -> int:
    return int(db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


# -- PostgreSQL into a SQLite file (backup) -------------------------------------------------


def _build_sqlite(db: sqlite3.Connection, version: int) -> None:
    """The SQLite schema at ``version`` (its bookkeeping rows come with the copy)."""
    db.execute(
        "CREATE TABLE schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for migration in packaged_migrations()[:version]:
        db.executescript(f"BEGIN;\n{migration.sql}\nCOMMIT;")


def postgres_to_sqlite(url: str, target: Path, progress: Progress | None = None) -> int:
    """Write every table of the PostgreSQL database into a new SQLite file ``target``
    (created 0600) at the same schema version; returns the rows copied."""
    import psycopg

    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            version = pg_version(conn)
            if version == 0:
                raise TransferError("the PostgreSQL database has no Confidant tables yet")
            if version > len(packaged_migrations()):
                raise TransferError(
                    f"the database is at schema version {version}, newer than this "
                    f"Confidant ({len(packaged_migrations())}); back it up with the newer one"
                )
            tables = pg_tables(conn)
            counts = {table: _count(conn, table) for table in tables}
            total = sum(counts.values())
            out = sqlite3.connect(target, isolation_level=None)
            try:
                _build_sqlite(out, version)
                missing = set(tables) - set(sqlite_tables(out))
                if missing:
                    raise TransferError(
                        f"tables {sorted(missing)} have no SQLite twin at schema {version}"
                    )
                done = 0
                out.execute("BEGIN")
                for table in tables:
                    columns, _ = pg_columns(conn, table)
                    names = ",".join(f'"{c}"' for c in columns)
                    marks = ",".join("?" * len(columns))
                    insert = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
                    with conn.cursor(name=f"confidant_copy_{table}") as cur:
                        cur.execute(f'SELECT {names} FROM "{table}"{_pg_order(conn, table)}')
                        while batch := cur.fetchmany(BATCH):
                            out.executemany(insert, batch)
                            done += len(batch)
                            if progress is not None:
                                progress(done, total)
                    if (copied := _count(out, table)) != counts[table]:
                        raise TransferError(f"{table}: copied {copied} rows of {counts[table]}")
                out.execute("COMMIT")
            finally:
                out.close()
    if progress is not None:
        progress(total, total)
    return total


# -- a SQLite file into PostgreSQL (restore, migrate-store) ---------------------------------


def other_sessions(url: str) -> int:
    """Connections to the database besides this one: a running Confidant holds some."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
        return int(row[0]) if row else 0


def pg_rows(url: str) -> dict[str, int]:
    """Rows per table of the PostgreSQL database (empty: no tables)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return {t: _count(conn, t) for t in pg_tables(conn) if t != "schema_migrations"}


def sqlite_to_postgres(
    source: sqlite3.Connection,
    url: str,
    *,
    replace: bool = False,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Copy every table of ``source`` (read inside the caller's read transaction) into the
    PostgreSQL database at ``url``; returns the rows per table, checked on both sides.

    The target must be new (no tables: the schema is made at the source's version), or at
    the source's schema version with no rows. ``replace`` drops whatever is there and
    rebuilds it; all in one transaction, so a failure loses nothing."""
    import psycopg

    version = sqlite_version(source)
    if version == 0:
        raise TransferError("the SQLite database has no Confidant tables")
    tables = [t for t in sqlite_tables(source) if t != "schema_migrations"]
    counts = {table: _count(source, table) for table in tables}
    total = sum(counts.values())
    with psycopg.connect(url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        there = pg_tables(conn)
        target_version = pg_version(conn)
        holding = sorted(t for t in there if t != "schema_migrations" and _count(conn, t))
        if holding and not replace:
            raise TransferError(
                f"the PostgreSQL database already holds data ({', '.join(holding)}); "
                "restoring would replace it all"
            )
        if there and target_version not in (0, version) and not replace:
            raise TransferError(
                f"schema version mismatch: the SQLite database is at {version}, the "
                f"PostgreSQL database at {target_version}; bring both to the same version "
                "with `confidant migrate` first"
            )
        build = replace or target_version == 0
        if build:
            for table in reversed(there):
                conn.execute(f'DROP TABLE IF EXISTS "{table}" CASCADE')
            _build_postgres(conn, version)
            migrations = source.execute(
                "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
            ).fetchall()
            with conn.cursor().copy(
                "COPY schema_migrations (version, name, applied_at) FROM STDIN"
            ) as copy:
                for row in migrations:
                    copy.write_row(row)
        missing = set(tables) - set(pg_tables(conn))
        if missing:
            raise TransferError(f"tables {sorted(missing)} have no PostgreSQL twin")
        done = 0
        for table in tables:
            columns, follow = pg_columns(conn, table)
            names = ",".join(f'"{c}"' for c in columns)
            rows = source.execute(f'SELECT {names} FROM "{table}"{_sqlite_order(source, table)}')
            with conn.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                while batch := rows.fetchmany(BATCH):
                    for row in batch:
                        copy.write_row(row)
                    done += len(batch)
                    if progress is not None:
                        progress(done, total)
            for column in follow:  # the next id after the copied ones, as on SQLite
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s),"
                    f' COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)',
                    (table, column),
                )
            copied = _count(conn, table)
            if copied != counts[table]:
                raise TransferError(
                    f"{table}: {copied} rows arrived of {counts[table]}; nothing was kept"
                )
    if progress is not None:
        progress(total, total)
    return counts


def _build_postgres(conn: Any, version: int) -> None:
    conn.execute(
        "CREATE TABLE schema_migrations ("
        " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for migration in packaged_migrations("postgresql")[:version]:
        conn.execute(migration.sql)


def read_snapshot(path: Path) -> sqlite3.Connection:
    """A connection to an existing SQLite file inside one read transaction (a WAL snapshot:
    the bot may keep writing; the copy sees one moment). Never creates the file."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True, timeout=10, isolation_level=None)
        db.execute("BEGIN")
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # starts the snapshot
    except sqlite3.DatabaseError as error:
        raise TransferError(f"{path}: not a usable SQLite database ({error})") from None
    return db
