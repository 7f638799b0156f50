"""``confidant migrate [--check]`` (and the schema check of ``audit``) on PostgreSQL.

As on SQLite (:mod:`bot.maintenance`): ``--check`` says where the database stands and what
would be applied, changing nothing; ``migrate`` applies the pending migrations, each in its
own transaction under an advisory lock, so a process starting meanwhile waits rather than
applying one twice. As on SQLite a backup archive is taken first (``backups/`` beside the
key file unless ``--backup-to`` says otherwise), and nothing is migrated if it fails. Only
the URL with its password hidden is ever printed.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.store.migrate import SchemaStatus, SchemaTooNew, schema_status
from bot.store.url import PostgresUrl

if TYPE_CHECKING:
    from bot.config import Config


def postgres_status(database: PostgresUrl) -> SchemaStatus:
    from bot.store.postgres import database_version, pg_migrations

    version = asyncio.run(database_version(database.reveal()))
    return schema_status(version, pg_migrations())


def migrate_postgres(config: Config, *, check: bool, backup_to: str | None = None) -> int:
    import psycopg

    from bot.maintenance import ARCHIVE_WARNING, PENDING, TOO_NEW, _backup, report_status
    from bot.store.archive import BackupError
    from bot.store.postgres import apply_pg_migrations, pg_migrations

    database = config.database
    assert isinstance(database, PostgresUrl)

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
        print("Run `confidant migrate` to apply them (it takes a backup first).")
        return PENDING
    if status.database > 0:
        target = Path(backup_to) if backup_to else config.key_file.parent / "backups"
        if backup_to is None:
            target.mkdir(mode=0o700, exist_ok=True)
        try:
            result = _backup(config, target)
        except (BackupError, OSError) as error:
            print(f"confidant: {error}; nothing was migrated", file=sys.stderr)
            return 1
        print(f"Backed up to {result.archive} before migrating. {ARCHIVE_WARNING}")
    else:
        print("No tables yet, so nothing to back up; they are created now.")
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
