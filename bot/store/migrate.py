"""Numbered migrations, each applied in its own transaction.

A database written by a newer Confidant is refused rather than guessed at: running old
code on a newer schema is how data gets silently lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import aiosqlite

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


class SchemaTooNew(RuntimeError):
    """The database was written by a newer version of Confidant."""


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands against this code: what ``confidant migrate --check`` tells
    an admin before an upgrade, so nothing is applied by surprise at the next start."""

    database: int
    code: int
    pending: tuple[Migration, ...]

    @property
    def too_new(self) -> bool:
        return self.database > self.code

    @property
    def up_to_date(self) -> bool:
        return self.database == self.code


def schema_status(database_version: int, migrations: list[Migration]) -> SchemaStatus:
    code = migrations[-1].version if migrations else 0
    pending = tuple(m for m in migrations if m.version > database_version)
    return SchemaStatus(database_version, code, pending)


def title(migration: Migration) -> str:
    """``0004_checkins.sql`` -> ``checkins``: the name an admin reads in a report."""
    return migration.name.removesuffix(".sql").split("_", 1)[1].replace("_", " ")


MIGRATION_FOLDERS = {"sqlite": "migrations", "postgresql": "migrations_pg"}
"""Each backend's numbered migrations: the same numbers and names in both folders (a test
fails when one has a file the other lacks), each file written in its database's dialect."""


def packaged_migrations(backend: str = "sqlite") -> list[Migration]:
    found: list[Migration] = []
    folder = MIGRATION_FOLDERS[backend]
    for entry in resources.files("bot.store").joinpath(folder).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


async def current_version(db: aiosqlite.Connection) -> int:
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    async with db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def apply_migrations(
    db: aiosqlite.Connection, migrations: list[Migration], now_iso: str
) -> list[int]:
    """Bring the schema up to date; returns the versions applied."""
    version = await current_version(db)
    await db.commit()
    latest = migrations[-1].version if migrations else 0
    if version > latest:
        raise SchemaTooNew(
            f"the database is at schema version {version} but this Confidant only knows "
            f"{latest}; upgrade Confidant or restore a backup"
        )
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= version:
            continue
        script = (
            "BEGIN;\n"
            f"{migration.sql}\n"
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES "
            f"({migration.version}, '{migration.name}', '{now_iso}');\n"
            "COMMIT;"
        )
        try:
            await db.executescript(script)
        except Exception:
            await db.rollback()
            raise
        applied.append(migration.version)
    return applied
