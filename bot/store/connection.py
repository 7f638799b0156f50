"""What the store's shared SQL asks of a database connection.

The subset of :mod:`aiosqlite`'s connection that :class:`bot.store.sqlite.SqlStore` uses, so
the PostgreSQL store can hand it a pooled connection that behaves the same way
(:class:`bot.store.pg_connection.PooledConnection`): ``execute`` is both awaited
(``cur = await db.execute(...)``) and entered (``async with db.execute(...) as cur``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Connection(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ...) -> Any:
        """Awaitable to a :class:`Cursor`, and an async context manager giving one."""
        ...

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Any: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...
