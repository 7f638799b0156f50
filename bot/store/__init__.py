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
from bot.store.url import PostgresUrl, looks_like_postgres

Database = Path | PostgresUrl | str
"""The ``database`` setting: a SQLite file, or a PostgreSQL server (``PostgresUrl`` from
the config, or the plain URL string tests and tools pass)."""


def is_postgres(database: Database) -> bool:
    """Whether the ``database`` setting names a PostgreSQL server rather than a file."""
    return isinstance(database, PostgresUrl) or looks_like_postgres(database)


def postgres_url(database: Database) -> str:
    """The URL the driver connects with (password included: never print it)."""
    return database.reveal() if isinstance(database, PostgresUrl) else str(database)


async def open_store(database: Database, now: datetime) -> Store:
    """Open the configured store, applying pending migrations (see bot/store/migrate.py)."""
    if is_postgres(database):
        try:
            from bot.store.postgres import PostgresStore
        except ImportError as error:
            raise RuntimeError(
                "database: postgresql://... needs the PostgreSQL driver: install Confidant "
                "with its postgresql extra (pip install -e '.[postgresql]')"
            ) from error

        return await PostgresStore.open(postgres_url(database), now)
    from bot.store.sqlite import SqliteStore

    return await SqliteStore.open(Path(database), now)


__all__ = [
    "AgreementReport",
    "Database",
    "PendingReminder",
    "PostgresUrl",
    "RoomState",
    "Store",
    "is_postgres",
    "open_store",
    "postgres_url",
]
