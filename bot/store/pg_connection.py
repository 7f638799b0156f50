"""A pool of PostgreSQL connections that the store's shared SQL uses like one aiosqlite
connection (:class:`bot.store.connection.Connection`).

The shared store writes ``execute, execute, ..., commit``: a transaction is the statements
one caller runs before it commits. With one SQLite connection every task shares that
transaction; here each asyncio task that writes borrows its own connection from the pool
until it commits or rolls back, so two tasks never mix their statements and a slow one does
not hold up the others. A read by a task holding no connection runs on any free connection
and ends at once. A task that ends (or is cancelled) still holding a connection has it
rolled back and returned: nothing half-written is ever committed on its behalf.

Placeholders: the shared SQL says ``?`` (SQLite's); psycopg wants ``%s`` (and a literal
``%`` doubled). :func:`pg_sql` translates, leaving quoted literals alone.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Generator, Iterable, Sequence
from functools import lru_cache
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


@lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s``, outside quoted literals and identifiers."""
    out: list[str] = []
    quote: str | None = None
    for char in sql:
        if quote is not None:
            if char == quote:
                quote = None
            out.append("%%" if char == "%" else char)
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
    return "".join(out)


class PgCursor:
    """A statement's result, read in full before the connection goes back to the pool."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, description: Any) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.description = description

    async def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[tuple[Any, ...]]:
        rest = self._rows[self._next :]
        self._next = len(self._rows)
        return rest


class PgResult:
    """What ``execute`` returns: awaited, or entered with ``async with``, like aiosqlite's."""

    def __init__(self, pending: Any) -> None:
        self._pending = pending

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._pending.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> PgCursor:
        return await self._pending  # type: ignore[no-any-return]

    async def __aexit__(self, *exc: object) -> None:
        return None


def _is_read(sql: str) -> bool:
    return sql.lstrip()[:6].upper() == "SELECT"


class PooledConnection:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._held: dict[asyncio.Task[Any], AsyncConnection[Any]] = {}
        # tasks whose end is watched already: a task that lives for hours and writes on
        # every event gets one done-callback, not one per transaction
        self._watched: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> PgResult:
        return PgResult(self._run(sql, parameters, many=False))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> PgCursor:
        return await self._run(sql, list(parameters), many=True)

    async def commit(self) -> None:
        conn = self._held.pop(_task(), None)
        if conn is None:
            return
        try:
            await conn.commit()
        except BaseException:
            await self._give_back(conn, rollback=True)
            raise
        await self._give_back(conn, rollback=False)

    async def rollback(self) -> None:
        conn = self._held.pop(_task(), None)
        if conn is not None:
            await self._give_back(conn, rollback=True)

    async def close(self) -> None:
        for task in list(self._held):
            await self._give_back(self._held.pop(task), rollback=True)
        await self._pool.close()

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> PgCursor:
        task = _task()
        statement = pg_sql(sql)
        conn = self._held.get(task)
        if conn is None and not many and _is_read(sql):
            async with self._pool.connection() as free:
                return await _read_alone(free, statement, parameters)
        if conn is None:
            conn = await self._pool.getconn()
            self._held[task] = conn
            if task not in self._watched:
                self._watched.add(task)
                task.add_done_callback(self._task_done)
        try:
            return await _execute(conn, statement, parameters, many=many)
        except BaseException:
            # PostgreSQL aborts the whole transaction on an error; the caller sees the
            # error and nothing of the transaction is kept (it was not committed).
            self._held.pop(task, None)
            await self._give_back(conn, rollback=True)
            raise

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        conn = self._held.pop(task, None)
        if conn is not None and not self._pool.closed:
            asyncio.get_running_loop().create_task(self._give_back(conn, rollback=True))

    async def _give_back(self, conn: AsyncConnection[Any], *, rollback: bool) -> None:
        try:
            if rollback and not conn.closed:
                await conn.rollback()
        finally:
            if not self._pool.closed:
                await self._pool.putconn(conn)


def _task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None, "the store is used from asyncio tasks only"
    return task


async def _read_alone(conn: AsyncConnection[Any], sql: str, parameters: Any) -> PgCursor:
    """A read outside any transaction of the task, in autocommit: one round trip to the
    server instead of three (BEGIN, the SELECT, and the ROLLBACK the pool sends when the
    connection comes back), the same snapshot either way (one statement). Autocommit is
    the client's setting, so switching it costs nothing; the leak check's confirmations
    are such reads."""
    await conn.set_autocommit(True)
    try:
        return await _execute(conn, sql, parameters, many=False)
    finally:
        if not conn.closed:
            await conn.set_autocommit(False)


async def _execute(
    conn: AsyncConnection[Any], sql: str, parameters: Any, *, many: bool
) -> PgCursor:
    async with conn.cursor() as cur:
        if many:
            await cur.executemany(sql, parameters)
            return PgCursor([], cur.rowcount, None)
        await cur.execute(sql, tuple(parameters))  # a tuple even when empty: ``%%`` stays ``%``
        description = None
        rows: list[tuple[Any, ...]] = []
        if cur.description is not None:
            description = [(column.name,) for column in cur.description]
            rows = await cur.fetchall()
        return PgCursor(rows, cur.rowcount, description)
