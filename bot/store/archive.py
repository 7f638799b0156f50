"""Backup archives: the database and the key file, together, checked on the way back.

A backup is only useful with both halves: the database without the key file cannot open a
single sealed check-in answer or match a single fingerprint, and the key alone holds no
data. So one archive carries both, as a plain tar an admin can inspect with ``tar tvf``:

- ``manifest.json``: format, schema version, creation time, size and SHA-256 of each file;
- ``confidant.db``: an online copy of the database (consistent even while the bot writes);
  on PostgreSQL its tables copied into a SQLite file of the same schema version
  (:mod:`bot.store.transfer`), so the archive has one layout whatever the backend, and
  restores onto either;
- ``confidant.key``: the key file as it is.

The archive holds key material, so it is created 0600 and must be kept like the key file
itself. A restore verifies every checksum and the database's integrity before touching
anything, refuses to overwrite an existing database (on PostgreSQL: one holding rows) or key
without ``force``, and refuses while the bot has the database open (on PostgreSQL: while
another session is connected to it), whatever ``force`` says.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from bot.keys import KeyFileError, load_or_create_key
from bot.store.backup import (
    DatabaseFileError,
    Progress,
    check_database,
    database_in_use,
    online_copy,
)
from bot.store.migrate import packaged_migrations
from bot.store.transfer import (
    TransferError,
    other_sessions,
    pg_rows,
    postgres_to_sqlite,
    read_snapshot,
    sqlite_to_postgres,
)

FORMAT = "confidant-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "confidant.db"
KEY = "confidant.key"
_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do.

    Messages name paths and archive members only, never file contents."""


Database = Path | str
"""A SQLite file, or a ``postgresql://`` URL (with its password: never put it in a message;
callers pass ``shown`` for that)."""


def _is_pg(database: Database) -> bool:
    return not isinstance(database, Path)


@contextlib.contextmanager
def _driver_errors(shown: str) -> Iterator[None]:
    """PostgreSQL's errors as BackupError naming the server as shown (password hidden)."""
    try:
        import psycopg
    except ImportError:  # a SQLite-only install never reaches PostgreSQL
        yield
        return
    try:
        yield
    except TransferError as error:
        raise BackupError(f"{shown}: {error}") from None
    except psycopg.Error as error:
        lines = str(error).strip().splitlines()
        raise BackupError(f"{shown}: {lines[-1] if lines else 'no answer'}") from None


@dataclass(frozen=True, slots=True)
class Manifest:
    schema_version: int
    created_at: datetime
    files: dict[str, tuple[int, str]]  # member name -> (size in bytes, sha256 hex)


@dataclass(frozen=True, slots=True)
class BackupResult:
    archive: Path
    manifest: Manifest
    pages: int  # SQLite pages copied, or on PostgreSQL rows


@dataclass(frozen=True, slots=True)
class RestoreResult:
    database: Database
    key_file: Path
    manifest: Manifest


def archive_name(folder: Path, now: datetime) -> Path:
    """A new file in ``folder`` named by the time, so nightly archives sort by date."""
    stem = f"confidant-backup-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    candidate = folder / f"{stem}.tar"
    for number in range(2, 100):  # two backups within one second get -2, -3, ...
        if not candidate.exists():
            break
        candidate = folder / f"{stem}-{number}.tar"
    return candidate


def _sha256(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@contextlib.contextmanager
def _private_workdir(beside: Path) -> Iterator[Path]:
    """A 0700 scratch directory on the same filesystem as ``beside`` (so the final step is
    an atomic rename, and a large database never has to fit in /tmp)."""
    beside.mkdir(parents=True, exist_ok=True, mode=0o700)
    work = Path(tempfile.mkdtemp(prefix=".confidant-", dir=beside))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _add(tar: tarfile.TarFile, name: str, data: IO[bytes], size: int, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o600
    info.mtime = int(mtime)
    tar.addfile(info, data)


def create_backup(
    database: Database,
    key_file: Path,
    target: Path,
    now: datetime,
    progress: Progress | None = None,
    shown: str = "",
) -> BackupResult:
    """Write a backup archive to ``target`` (a new file, or a directory to put it in)."""
    if target.is_dir():
        target = archive_name(target, now)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file or a directory")
    if isinstance(database, Path) and not database.exists():
        raise BackupError(f"no database at {database}: nothing to back up")
    if not key_file.exists():
        raise BackupError(
            f"no key file at {key_file}: without it a backup could not be read; "
            "check the config's key_file"
        )
    try:
        load_or_create_key(key_file)  # refuses a key file that others can read or is not ours
    except KeyFileError as error:
        raise BackupError(str(error)) from None
    with _private_workdir(target.parent) as work:
        copy = work / DATABASE
        try:
            if isinstance(database, Path):
                pages = online_copy(database, copy, progress)
            else:
                with _driver_errors(shown or "the PostgreSQL database"):
                    pages = postgres_to_sqlite(database, copy, progress)
            schema = check_database(copy)
        except DatabaseFileError as error:
            raise BackupError(str(error)) from None
        key_copy = work / KEY
        shutil.copyfile(key_file, key_copy)
        os.chmod(key_copy, 0o600)
        manifest = Manifest(schema, now, {DATABASE: _sha256(copy), KEY: _sha256(key_copy)})
        partial = work / "archive.tar"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
            body = _manifest_json(manifest)
            _add(tar, MANIFEST, io.BytesIO(body), len(body), now.timestamp())
            for name, path in ((DATABASE, copy), (KEY, key_copy)):
                with path.open("rb") as member:
                    _add(tar, name, member, manifest.files[name][0], now.timestamp())
        with partial.open("rb") as done:
            os.fsync(done.fileno())
        os.replace(partial, target)
    return BackupResult(target, manifest, pages)


def _manifest_json(manifest: Manifest) -> bytes:
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_version": manifest.schema_version,
        "created_at": manifest.created_at.astimezone(UTC).isoformat(timespec="seconds"),
        "files": {
            name: {"bytes": size, "sha256": digest}
            for name, (size, digest) in manifest.files.items()
        },
    }
    return (json.dumps(document, indent=2) + "\n").encode()


def _parse_manifest(archive: Path, raw: bytes) -> Manifest:
    damaged = BackupError(f"{archive}: the manifest is damaged or not a Confidant manifest")
    try:
        document = json.loads(raw)
        if document.get("format") != FORMAT:
            raise damaged
        if document.get("format_version") != FORMAT_VERSION:
            raise BackupError(
                f"{archive}: backup format {document.get('format_version')!r} is not one this "
                f"Confidant reads ({FORMAT_VERSION}); restore it with the version that wrote it"
            )
        files = {
            name: (int(entry["bytes"]), str(entry["sha256"]))
            for name, entry in document["files"].items()
        }
        manifest = Manifest(
            int(document["schema_version"]), datetime.fromisoformat(document["created_at"]), files
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        raise damaged from None
    if set(files) != {DATABASE, KEY}:
        raise damaged
    return manifest


def _extract_checked(
    archive: Path, tar: tarfile.TarFile, name: str, expected: tuple[int, str], to: Path
) -> None:
    """Stream one member to ``to`` (0600), hashing as it goes; never trusts a member's own
    path or mode (only the two names this format defines are ever read)."""
    try:
        member = tar.getmember(name)
    except KeyError:
        raise BackupError(f"{archive}: {name} is missing from the archive") from None
    source = tar.extractfile(member) if member.isfile() else None
    if source is None:
        raise BackupError(f"{archive}: {name} in the archive is not a regular file")
    digest = hashlib.sha256()
    size = 0
    fd = os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if (size, digest.hexdigest()) != expected:
        raise BackupError(
            f"{archive}: {name} does not match the checksum in the manifest; the archive is "
            "damaged. Nothing was restored."
        )


def restore_backup(
    archive: Path,
    database: Database,
    key_file: Path,
    force: bool = False,
    progress: Progress | None = None,
    shown: str = "",
) -> RestoreResult:
    """Put an archive's database and key file in place, after checking all of it.

    On PostgreSQL (``database`` a URL; ``shown`` it with the password hidden) the archive's
    tables are copied into the database in one transaction, counts checked per table."""
    if not archive.is_file():
        raise BackupError(f"{archive}: no such backup archive")
    shown = shown or str(database)
    existing = [str(p) for p in (database, key_file) if isinstance(p, Path) and p.exists()]
    if isinstance(database, str):
        with _driver_errors(shown):
            holding = sum(pg_rows(database).values())
        if holding:
            existing.insert(0, f"{shown} ({holding} rows)")
    if existing and not force:
        names = " and ".join(existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise BackupError(
            f"{names} already {verb}; restoring would replace it all. "
            "Take a backup of them first, then run restore again with --force"
        )
    _refuse_if_running(database, shown)
    scratch = key_file.parent if isinstance(database, str) else database.parent
    try:
        with tarfile.open(archive, mode="r:") as tar:
            try:
                manifest_member = tar.extractfile(MANIFEST)
            except KeyError:
                manifest_member = None
            if manifest_member is None:
                raise BackupError(f"{archive}: not a Confidant backup (no {MANIFEST})")
            manifest = _parse_manifest(archive, manifest_member.read(1 << 16))
            _check_schema(archive, manifest)
            with _private_workdir(scratch) as work:
                db_copy = work / DATABASE
                _extract_checked(archive, tar, DATABASE, manifest.files[DATABASE], db_copy)
                _check_copy(archive, db_copy, manifest)
                with _private_workdir(key_file.parent) as key_work:
                    key_copy = key_work / KEY
                    _extract_checked(archive, tar, KEY, manifest.files[KEY], key_copy)
                    try:
                        load_or_create_key(key_copy)
                    except KeyFileError:
                        raise BackupError(
                            f"{archive}: {KEY} in the archive is not a Confidant key file"
                        ) from None
                    _refuse_if_running(database, shown)  # again: the last moment before
                    if isinstance(database, Path):
                        _install_database(db_copy, database)
                    else:
                        _install_postgres(db_copy, database, force, progress, shown)
                    os.replace(key_copy, key_file)
    except (tarfile.TarError, EOFError):
        raise BackupError(
            f"{archive}: not a readable Confidant backup (damaged or truncated archive)"
        ) from None
    if isinstance(database, Path):
        os.chmod(database, 0o600)
    os.chmod(key_file, 0o600)
    return RestoreResult(database, key_file, manifest)


def _refuse_if_running(database: Database, shown: str) -> None:
    if isinstance(database, str):
        with _driver_errors(shown):
            running = other_sessions(database) > 0
    else:
        try:
            running = database_in_use(database)
        except DatabaseFileError:
            running = False  # a broken database is exactly what a forced restore replaces
    if running:
        where = (
            "has other connections" if isinstance(database, str) else "is open in another process"
        )
        raise BackupError(
            f"{shown} {where}: Confidant seems to be running. "
            "Stop it first (for example: systemctl stop confidant), then restore"
        )


def _install_postgres(
    copy: Path, url: str, force: bool, progress: Progress | None, shown: str
) -> None:
    source = read_snapshot(copy)
    try:
        with _driver_errors(shown):
            sqlite_to_postgres(source, url, replace=force, progress=progress)
    except BackupError as error:
        raise BackupError(f"{error}. Nothing was restored.") from None
    finally:
        source.close()


def _check_schema(archive: Path, manifest: Manifest) -> None:
    code = len(packaged_migrations())
    if manifest.schema_version > code:
        raise BackupError(
            f"{archive}: the backup is at schema version {manifest.schema_version}, newer than "
            f"this Confidant ({code}); restore it with the version that wrote it"
        )


def _check_copy(archive: Path, copy: Path, manifest: Manifest) -> None:
    try:
        version = check_database(copy)
    except DatabaseFileError:
        raise BackupError(
            f"{archive}: the database in the archive fails SQLite's integrity check"
        ) from None
    if version != manifest.schema_version:
        raise BackupError(
            f"{archive}: the database is at schema version {version} but the manifest says "
            f"{manifest.schema_version}; the archive is not consistent"
        )


def _install_database(copy: Path, database: Path) -> None:
    """Replace the database file; a WAL or shared-memory file left by the old database
    would otherwise be replayed over the restored one at the next open."""
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.replace(copy, database)
