"""All of Confidant's SQL lives in this package.

The core types against :class:`Store` (a protocol, :mod:`bot.store.protocol`) and opens one
with :func:`open_store`, which picks the backend from the ``database`` setting: a file path
is SQLite (:mod:`bot.store.sqlite`, the embedded default), a ``postgresql://`` URL is
PostgreSQL (:mod:`bot.store.postgres`, imported only then, so a SQLite deployment never
needs the PostgreSQL driver).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.store.protocol import Store
from bot.store.rows import AgreementReport, PendingReminder, RoomState

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: Path | str) -> bool:
    """Whether the ``database`` setting names a PostgreSQL server rather than a file."""
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


async def open_store(database: Path | str, now: datetime) -> Store:
    """Open the configured store, applying pending migrations (see bot/store/migrate.py)."""
    if is_postgres(database):
        from bot.store.postgres import PostgresStore

        return await PostgresStore.open(str(database), now)
    from bot.store.sqlite import SqliteStore

    return await SqliteStore.open(Path(database), now)


__all__ = [
    "AgreementReport",
    "PendingReminder",
    "RoomState",
    "Store",
    "is_postgres",
    "open_store",
]
