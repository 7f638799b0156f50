"""The PostgreSQL store: for a deployment that more than one process serves.

Same statements as SQLite (:class:`bot.store.sqlite.SqlStore`), through a psycopg 3
connection pool (:mod:`bot.store.pg_connection`); only what PostgreSQL says differently is
here. Why psycopg 3 and psycopg_pool rather than asyncpg: psycopg takes the DB-API shape the
shared SQL is written in (positional parameters, a cursor with ``rowcount`` and
``description``, ``executemany``), so one copy of the store's logic serves both backends,
where asyncpg's ``$1`` parameters and record API would need a second copy of every
statement; its binary wheel ships libpq, so a deployment installs nothing else; and it runs
several statements in one call, which the numbered migration files are.

Migrations are those of ``bot/store/migrations_pg/`` (the same numbers as SQLite's), applied
under an advisory lock, so two processes starting together never apply one twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, ClassVar

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bot.store.migrate import Migration, SchemaTooNew, packaged_migrations
from bot.store.pg_connection import PooledConnection
from bot.store.rows import IndexGroup
from bot.store.sqlite import _INDEX_ROWS, SqlStore, _iso

_MIGRATION_LOCK = 0x436F6E66  # "Conf": the advisory lock migrations are applied under
POOL_SIZE = 10
"""Connections per process: one per task writing at the same moment, each for the few
milliseconds of its transaction."""


def pg_migrations() -> list[Migration]:
    return packaged_migrations("postgresql")


async def _connect(url: str) -> AsyncConnection[Any]:
    return await AsyncConnection.connect(url, autocommit=True)


async def database_version(url: str) -> int:
    """The schema version the server is at (0: a new database), applying nothing: what
    ``confidant migrate --check`` compares with the code."""
    async with await _connect(url) as conn:
        cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        row = await cur.fetchone()
        if not row or not row[0]:
            return 0
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def apply_pg_migrations(url: str, migrations: list[Migration], now_iso: str) -> list[int]:
    """Bring the schema up to date, each migration in its own transaction (as on SQLite);
    returns the versions applied. A database newer than the code is refused."""
    async with await _connect(url) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            row = await cur.fetchone()
            version = int(row[0]) if row else 0
            latest = migrations[-1].version if migrations else 0
            if version > latest:
                raise SchemaTooNew(
                    f"the database is at schema version {version} but this Confidant only "
                    f"knows {latest}; upgrade Confidant or restore a backup"
                )
            applied: list[int] = []
            for migration in migrations:
                if migration.version <= version:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at)"
                        " VALUES (%s, %s, %s)",
                        (migration.version, migration.name, now_iso),
                    )
                applied.append(migration.version)
            return applied
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


class PostgresStore(SqlStore):
    """Open with :meth:`open`; ``url`` is a ``postgresql://`` URL (its password comes from
    the environment through the configuration, never from a file in the repository)."""

    _INSERTED: ClassVar[str] = "position"

    def __init__(self, db: PooledConnection) -> None:
        super().__init__(db)

    @classmethod
    async def open(cls, url: str, now: datetime) -> PostgresStore:
        await apply_pg_migrations(url, pg_migrations(), _iso(now))
        pool = AsyncConnectionPool(url, min_size=1, max_size=POOL_SIZE, open=False)
        await pool.open(wait=True)
        return cls(PooledConnection(pool))

    async def close(self) -> None:
        await self._db.close()

    async def index_groups(
        self, scheme: str, rows: int = _INDEX_ROWS
    ) -> AsyncIterator[list[IndexGroup]]:
        """As on SQLite (:meth:`bot.store.sqlite.SqliteStore.index_groups`), with the
        identity column for the rowid and an array for SQLite's ``group_concat``."""
        after = 0
        while True:
            async with self._db.execute(
                "SELECT room_key, day, author, array_agg(fingerprint), max(position)"
                " FROM (SELECT fingerprint, room_key, day, author, position"
                "       FROM fingerprints WHERE scheme = ? AND position > ?"
                "       ORDER BY position LIMIT ?) AS chunk"
                " GROUP BY room_key, day, author",
                (scheme, after, rows),
            ) as cur:
                found = await cur.fetchall()
            if not found:
                return
            after = max(row[4] for row in found)
            yield [
                (str(room), int(day), bytes(author), frozenset(values))
                for room, day, author, values, _ in found
            ]

    async def table_names(self) -> list[str]:
        async with self._db.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        ) as cur:
            return [str(row[0]) for row in await cur.fetchall()]
