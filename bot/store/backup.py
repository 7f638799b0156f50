"""SQLite work on a database *file*, for admin commands run beside (or instead of) the bot.

The running bot owns its connection through :class:`bot.store.sqlite.Store`; the backup,
restore and migrate commands are separate processes that must neither disturb it nor be
fooled by it. So this module holds the few statements they need on a file: an online copy
through SQLite's backup API, a probe for "is the bot using this database right now", the
schema version and an integrity check. Plain :mod:`sqlite3` is used on purpose: these are
short, blocking, one-shot operations of a command-line tool, not part of the event loop.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

# Pages copied per backup step: small enough for a progress bar that moves, large enough that
# a backup of a large database is not thousands of tiny steps.
MIN_STEP_PAGES = 256
STEPS = 100

Progress = Callable[[int, int], None]  # (pages copied, pages in total)


class DatabaseFileError(RuntimeError):
    """The file is missing, not a SQLite database, or damaged."""


def _connect_existing(path: Path, timeout: float) -> sqlite3.Connection:
    """Open ``path`` read-write without ever creating it (a typo must not make a new,
    empty database that a restore or a migration would then happily work on)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=rw"
    try:
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.OperationalError as error:
        raise DatabaseFileError(f"{path}: cannot open the database ({error})") from None


def database_in_use(path: Path) -> bool:
    """Whether another connection (the running bot) has the database open.

    In WAL mode every open connection holds a shared lock on the database file for as long
    as it is open, idle or not; asking for an exclusive lock without waiting therefore fails
    exactly while some process has it open. The probe never waits and never writes."""
    if not path.exists():
        return False
    db = _connect_existing(path, timeout=0)
    try:
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("BEGIN EXCLUSIVE")
        db.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return True
        raise DatabaseFileError(f"{path}: {error}") from None
    except sqlite3.DatabaseError as error:
        raise DatabaseFileError(f"{path}: not a usable SQLite database ({error})") from None
    finally:
        db.close()
    return False


def online_copy(source: Path, target: Path, progress: Progress | None = None) -> int:
    """Copy ``source`` to a new file ``target`` (created 0600) while the bot may be writing.

    The copy runs in steps for the progress bar, inside one read transaction held on the
    source: in WAL mode that pins a consistent snapshot (writers carry on; only the
    checkpoint waits), so the copy never restarts and never mixes two moments. Returns the
    number of pages copied."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = _connect_existing(source, timeout=10)
    dst = sqlite3.connect(target)
    try:
        src.execute("BEGIN")
        src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # starts the snapshot
        total = int(src.execute("PRAGMA page_count").fetchone()[0])
        step = max(MIN_STEP_PAGES, total // STEPS)

        def report(_status: int, remaining: int, pages: int) -> None:
            if progress is not None:
                progress(pages - remaining, pages)

        src.backup(dst, pages=step, progress=report)
        src.execute("COMMIT")
    except sqlite3.DatabaseError as error:
        raise DatabaseFileError(f"{source}: the backup failed ({error})") from None
    finally:
        dst.close()
        src.close()
    if progress is not None:
        progress(total, total)
    return total


def check_database(path: Path) -> int:
    """Integrity-check a database file at rest and return its schema version (0: none).

    Used on a backup before it is trusted: a copy that does not pass ``integrity_check`` is
    refused rather than restored over a working (if older) database."""
    db = _connect_existing(path, timeout=10)
    try:
        verdict = db.execute("PRAGMA integrity_check").fetchone()
        if not verdict or verdict[0] != "ok":
            raise DatabaseFileError(f"{path}: the database fails SQLite's integrity check")
        return _schema_version(db)
    except sqlite3.DatabaseError as error:
        raise DatabaseFileError(f"{path}: not a usable SQLite database ({error})") from None
    finally:
        db.close()


def schema_version(path: Path) -> int:
    """The schema version recorded in a database file, read without changing anything
    (``migrate --check`` must not even create the bookkeeping table)."""
    db = _connect_existing(path, timeout=10)
    try:
        return _schema_version(db)
    except sqlite3.DatabaseError as error:
        raise DatabaseFileError(f"{path}: not a usable SQLite database ({error})") from None
    finally:
        db.close()


def _schema_version(db: sqlite3.Connection) -> int:
    known = db.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not known:
        return 0
    row = db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
