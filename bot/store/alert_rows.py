"""The alert outbox's rows (table ``alert_outbox``, migration 0017).

One aggregate of the store in its own module, mixed into :class:`bot.store.sqlite.SqlStore`
(so into both backends): the store is meant to split this way per aggregate, behind the one
``Store`` protocol (:mod:`bot.store.protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.store.connection import Connection


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class OwedAlert:
    """An alert not yet taken by its platform: ``alert`` is sealed (see bot/alert_outbox)."""

    key: str
    platform: str
    alert: bytes
    created_at: datetime
    attempts: int


class AlertRows:
    _db: Connection

    async def add_alert(
        self,
        key: str,
        platform: str,
        alert: bytes,
        member_key: bytes | None,
        at: datetime,
        lease_until: datetime,
    ) -> bool:
        """Record an alert about to be sent; not due again before ``lease_until`` (the send
        under way has until then). False when the key exists (nothing new to record)."""
        cur = await self._db.execute(
            "INSERT INTO alert_outbox (key, platform, alert, member_key, created_at,"
            " next_at) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (key, platform, alert, member_key, _iso(at), _iso(lease_until)),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def alert_delivered(self, key: str, at: datetime) -> bool:
        """True the first time: a resend that raced the first send is not counted twice."""
        cur = await self._db.execute(
            "UPDATE alert_outbox SET delivered_at = ? WHERE key = ? AND delivered_at IS NULL",
            (_iso(at), key),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def alert_next_at(self, key: str, next_at: datetime, failed: bool) -> None:
        """Due again at ``next_at``: after a failed attempt (counted), or leased to a send
        under way (not counted)."""
        await self._db.execute(
            "UPDATE alert_outbox SET attempts = attempts + ?, next_at = ?"
            " WHERE key = ? AND delivered_at IS NULL",
            (1 if failed else 0, _iso(next_at), key),
        )
        await self._db.commit()

    async def alert_row(self, key: str) -> OwedAlert | None:
        """The alert if it is still owed (not delivered, not given up)."""
        async with self._db.execute(
            "SELECT key, platform, alert, created_at, attempts FROM alert_outbox"
            " WHERE key = ? AND delivered_at IS NULL AND given_up_at IS NULL",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return OwedAlert(
            str(row[0]), str(row[1]), bytes(row[2]), datetime.fromisoformat(str(row[3])),
            int(row[4]),
        )

    async def alert_given_up(self, key: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE alert_outbox SET given_up_at = ? WHERE key = ? AND delivered_at IS NULL",
            (_iso(at), key),
        )
        await self._db.commit()

    async def owed_alerts(self, due_by: datetime | None = None) -> list[OwedAlert]:
        """Alerts still to deliver, oldest first: all of them (at a start, where a crash may
        have cut a send off), or those due by ``due_by``."""
        sql = (
            "SELECT key, platform, alert, created_at, attempts FROM alert_outbox"
            " WHERE delivered_at IS NULL AND given_up_at IS NULL"
        )
        params: tuple[str, ...] = ()
        if due_by is not None:
            sql += " AND next_at <= ?"
            params = (_iso(due_by),)
        async with self._db.execute(sql + " ORDER BY created_at, key", params) as cur:
            rows = await cur.fetchall()
        return [
            OwedAlert(str(k), str(p), bytes(a), datetime.fromisoformat(str(c)), int(n))
            for k, p, a, c, n in rows
        ]

    async def erase_member_alerts(self, member_key: bytes) -> int:
        """A member's erase request: alerts carrying their words or answers, owed or not."""
        cur = await self._db.execute(
            "DELETE FROM alert_outbox WHERE member_key = ?", (member_key,)
        )
        await self._db.commit()
        return cur.rowcount

    async def purge_alerts(self, before: datetime) -> int:
        """Delivered or given-up alerts older than ``before``: nothing left to do with them."""
        cur = await self._db.execute(
            "DELETE FROM alert_outbox WHERE created_at < ?"
            " AND (delivered_at IS NOT NULL OR given_up_at IS NOT NULL)",
            (_iso(before),),
        )
        await self._db.commit()
        return cur.rowcount
