"""The admin's maintenance commands: ``confidant backup``, ``restore``, ``migrate`` and
``audit``.

They live apart from :mod:`bot.cli` (which only registers them) because they share one
concern: the state on disk, handled while the bot runs (backup) or while it must not
(restore, applying migrations), or read by the admin alone (the whole audit log). Each
returns a process exit code and prints paths, counts and versions, and ``audit`` the log's
ids, actions and counts; never content, nor anything of the key file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Config
from bot.progress import TextProgress
from bot.store.backup import DatabaseFileError, database_in_use, schema_version
from bot.store.migrate import SchemaStatus, packaged_migrations, schema_status, title
from bot.store.url import PostgresUrl

if TYPE_CHECKING:
    from bot.store.archive import BackupResult
    from bot.store.rows import AuditEntry

LoadConfig = Callable[[str | None], Config]

# ``migrate --check`` exit codes, for scripts that upgrade unattended.
UP_TO_DATE, PENDING, TOO_NEW = 0, 1, 2

ARCHIVE_WARNING = (
    "The archive holds the key file (created 0600): keep it as safe as the key itself."
)


def _fail(message: str) -> int:
    print(f"confidant: {message}", file=sys.stderr)
    return 1


def wrong_user(database: Path, euid: int) -> str | None:
    """Why this user must not write the bot's state, or None.

    Files that root (say) writes into the state directory, a restored database, a new
    write-ahead log, a backups folder, belong to root, and the bot's own user can then no
    longer open its database. So commands that write there run as the directory's owner."""
    folder = database.parent
    if not folder.exists():
        return None
    owner = folder.stat().st_uid
    if owner == euid:
        return None
    try:
        name = pwd.getpwuid(owner).pw_name
    except KeyError:
        name = str(owner)
    return (
        f"{folder} belongs to {name}: run this as {name} (sudo -u {name} ..., or see "
        "docs/admin.md), so that what it writes stays Confidant's"
    )


def _database(config: Config) -> Path | str:
    """What the archive functions take: the file, or the URL with its password."""
    database = config.database
    return database.reveal() if isinstance(database, PostgresUrl) else database


def _unit(config: Config) -> str:
    return "rows" if isinstance(config.database, PostgresUrl) else "pages"


def _backup(config: Config, target: Path) -> BackupResult:
    from bot.store.archive import create_backup  # tarfile: only for backup commands

    bar = TextProgress("backing up the database", _unit(config))
    try:
        return create_backup(
            _database(config), config.key_file, target, datetime.now(UTC), bar.update,
            shown=str(config.database),
        )  # fmt: skip
    finally:
        bar.finish()


def cmd_backup(args: argparse.Namespace, load: LoadConfig) -> int:
    from bot.store.archive import BackupError

    config = load(args.config)
    target = Path(args.path)
    try:
        if args.path.endswith(("/", os.sep)):  # a directory, made if need be (nightly runs)
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
        result = _backup(config, target)
    except (BackupError, OSError) as error:
        return _fail(str(error))
    size = sum(size for size, _ in result.manifest.files.values())
    print(
        f"Backed up {config.database} (schema {result.manifest.schema_version}, "
        f"{result.pages} {_unit(config)}) and {config.key_file} to {result.archive} "
        f"({size} bytes)."
    )
    print(ARCHIVE_WARNING)
    return 0


def cmd_restore(args: argparse.Namespace, load: LoadConfig) -> int:
    from bot.store.archive import BackupError, restore_backup

    config = load(args.config)
    # on PostgreSQL only the key file is written here, beside the config's other state
    written = config.database if isinstance(config.database, Path) else config.key_file
    if problem := wrong_user(written, os.geteuid()):
        return _fail(problem)
    bar = TextProgress("restoring the database", "rows")
    try:
        result = restore_backup(
            Path(args.path), _database(config), config.key_file, force=args.force,
            progress=bar.update, shown=str(config.database),
        )  # fmt: skip
    except (BackupError, OSError) as error:
        return _fail(str(error))
    finally:
        bar.finish()
    created = result.manifest.created_at.isoformat(timespec="seconds")
    print(
        f"Restored {config.database} (schema {result.manifest.schema_version}) and "
        f"{result.key_file} (both 0600) from the backup of {created}."
    )
    return 0


def cmd_migrate(args: argparse.Namespace, load: LoadConfig) -> int:
    config = load(args.config)
    database = config.database
    if isinstance(database, PostgresUrl):
        from bot.maintenance_pg import migrate_postgres

        return migrate_postgres(config, check=args.check, backup_to=args.backup_to)
    migrations = packaged_migrations()
    try:
        version = schema_version(database) if database.exists() else 0
    except DatabaseFileError as error:
        return _fail(str(error))
    status = schema_status(version, migrations)
    print(f"database: {database}" + ("" if database.exists() else " (not created yet)"))
    outcome = report_status(status)
    if outcome is not None:
        return outcome
    if args.check:
        print("Run `confidant migrate` to apply them (it takes a backup first).")
        return PENDING
    return _apply(config, args.backup_to, [m.version for m in status.pending])


def report_status(status: SchemaStatus) -> int | None:
    """Print where the database stands; the exit code when there is nothing to apply."""
    print(f"schema version of the database: {status.database}")
    print(f"schema version of this Confidant: {status.code}")
    if status.too_new:
        print(
            "The database was written by a newer Confidant: upgrade Confidant, or restore a "
            "backup taken before the upgrade. Nothing was changed.",
            file=sys.stderr,
        )
        return TOO_NEW
    if status.up_to_date:
        print("Up to date: no migrations pending.")
        return UP_TO_DATE
    print("pending migrations:")
    for migration in status.pending:
        print(f"  {migration.version:04d}  {title(migration)}  ({migration.name})")
    return None


def _apply(config: Config, backup_to: str | None, pending: list[int]) -> int:
    from bot.store import open_store
    from bot.store.archive import BackupError

    database = config.database
    assert isinstance(database, Path)
    if problem := wrong_user(database, os.geteuid()):
        return _fail(problem)
    try:
        if database_in_use(database):
            return _fail(f"{database} is open in another process: stop Confidant before migrating")
    except DatabaseFileError as error:
        return _fail(str(error))
    if database.exists():
        target = Path(backup_to) if backup_to else database.parent / "backups"
        if backup_to is None:
            target.mkdir(mode=0o700, exist_ok=True)
        try:
            result = _backup(config, target)
        except (BackupError, OSError) as error:
            return _fail(f"{error}; nothing was migrated")
        print(f"Backed up to {result.archive} before migrating. {ARCHIVE_WARNING}")
    else:
        print("No database yet, so nothing to back up; it is created now.")

    async def open_and_close() -> int:
        store = await open_store(database, datetime.now(UTC))
        try:
            return await store.schema_version()
        finally:
            await store.close()

    reached = asyncio.run(open_and_close())
    applied = ", ".join(f"{v:04d}" for v in pending)
    print(f"Applied migrations {applied}; the database is at schema version {reached}.")
    return 0


def cmd_audit(args: argparse.Namespace, load: LoadConfig) -> int:
    """The whole audit log, newest first, each entry with its policy (``-``: none).

    Moderators read their own communities' entries with /audit; entries of no policy, a
    member's /mydata and /forgetme and every entry older than the policy column, are read
    here only, by the admin. An entry holds ids, an action and counts, never content.
    Safe while Confidant runs (a read in WAL mode); a database that still needs migrating
    is left alone rather than upgraded by a command that only reads."""
    from bot.store import open_store

    config = load(args.config)
    database = config.database
    if isinstance(database, PostgresUrl):
        from bot.maintenance_pg import postgres_status

        status = postgres_status(database)
    else:
        if not database.exists():
            return _fail(f"{database} does not exist yet")
        try:
            status = schema_status(schema_version(database), packaged_migrations())
        except DatabaseFileError as error:
            return _fail(str(error))
        if problem := wrong_user(database, os.geteuid()):
            return _fail(problem)
    if not status.up_to_date:
        return _fail(
            f"{database} is at schema version {status.database}, this Confidant at "
            f"{status.code}: run `confidant migrate --check` first"
        )

    async def read() -> list[AuditEntry]:
        store = await open_store(database, datetime.now(UTC))
        try:
            return await store.audit_entries(args.limit, policies=args.policy)
        finally:
            await store.close()

    entries = asyncio.run(read())
    for entry in entries:
        detail = f" ({entry.detail})" if entry.detail else ""
        print(
            f"{entry.at}  {entry.policy or '-'}  {entry.platform}:{entry.actor_id}  "
            f"{entry.action}{detail}"
        )
    if not entries:
        print("No audit entries" + (" of these policies." if args.policy else "."))
    return 0


Subcommands = argparse._SubParsersAction  # argparse has no public name for it


def add_commands(sub: Subcommands, load: LoadConfig) -> None:  # type: ignore[type-arg]
    """Register the subcommands on ``confidant``'s parser."""
    backup = sub.add_parser(
        "backup", help="copy the database and key file into an archive (safe while running)"
    )
    backup.add_argument(
        "path", help="the archive to write, or a directory to put it in (ending in /: made)"
    )
    backup.add_argument("--config", help="path to config.yaml")
    backup.set_defaults(func=lambda args: cmd_backup(args, load))
    restore = sub.add_parser("restore", help="restore a backup archive (Confidant stopped)")
    restore.add_argument("path", help="the archive written by `confidant backup`")
    restore.add_argument("--config", help="path to config.yaml")
    restore.add_argument(
        "--force", action="store_true", help="replace an existing database and key file"
    )
    restore.set_defaults(func=lambda args: cmd_restore(args, load))
    migrate = sub.add_parser(
        "migrate", help="apply pending database migrations, after a backup (Confidant stopped)"
    )
    migrate.add_argument("--config", help="path to config.yaml")
    migrate.add_argument(
        "--check",
        action="store_true",
        help="only report: exit 0 up to date, 1 migrations pending, 2 database newer than code",
    )
    migrate.add_argument(
        "--backup-to",
        help="where the backup taken before migrating goes (default: backups/ beside the database)",
    )
    migrate.set_defaults(func=lambda args: cmd_migrate(args, load))
    audit = sub.add_parser(
        "audit", help="the whole audit log with each entry's policy, newest first (for admins)"
    )
    audit.add_argument("--config", help="path to config.yaml")
    audit.add_argument("--limit", type=int, default=50, help="entries to show (default 50)")
    audit.add_argument(
        "--policy", action="append", help="only entries of this policy (may be repeated)"
    )
    audit.set_defaults(func=lambda args: cmd_audit(args, load))
