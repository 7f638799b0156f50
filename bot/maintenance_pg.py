"""``confidant migrate [--check]`` (and the schema check of ``audit``) on PostgreSQL.

As on SQLite (:mod:`bot.maintenance`): ``--check`` says where the database stands and what
would be applied, changing nothing; ``migrate`` applies the pending migrations, each in its
own transaction under an advisory lock, so a process starting meanwhile waits rather than
applying one twice. Unlike SQLite no backup is taken first (``confidant backup`` does not
speak PostgreSQL yet): the admin is told to take one with pg_dump. Only the URL with its
password hidden is ever printed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.store.migrate import SchemaStatus, SchemaTooNew, schema_status
from bot.store.url import PostgresUrl


def postgres_status(database: PostgresUrl) -> SchemaStatus:
    from bot.store.postgres import database_version, pg_migrations

    version = asyncio.run(database_version(database.reveal()))
    return schema_status(version, pg_migrations())


def migrate_postgres(database: PostgresUrl, *, check: bool) -> int:
    import psycopg

    from bot.maintenance import PENDING, TOO_NEW, report_status
    from bot.store.postgres import apply_pg_migrations, pg_migrations

    try:
        status = postgres_status(database)
    except psycopg.OperationalError as error:
        # libpq names the server and the user, never the password
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else "no answer"
        print(f"confidant: cannot reach {database}: {reason}", file=sys.stderr)
        return 1
    print(f"database: {database}")
    outcome = report_status(status)
    if outcome is not None:
        return outcome
    if check:
        print(
            "Run `confidant migrate` to apply them; take a backup with pg_dump first "
            "(`confidant backup` does not speak PostgreSQL yet)."
        )
        return PENDING
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        applied = asyncio.run(apply_pg_migrations(database.reveal(), pg_migrations(), now))
    except SchemaTooNew as error:
        print(f"confidant: {error}", file=sys.stderr)
        return TOO_NEW
    reached = postgres_status(database).database
    shown = ", ".join(f"{v:04d}" for v in applied) or "none (another process applied them)"
    print(f"Applied migrations {shown}; the database is at schema version {reached}.")
    return 0
