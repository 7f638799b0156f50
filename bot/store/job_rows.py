"""Leases on shared periodic jobs (table ``job_leases``, migration 0018), and the claims
that keep each item of those jobs exactly-once when two processes race on it.

Mixed into :class:`bot.store.sqlite.SqlStore`, so both backends run the same statements.

Why leased rows rather than PostgreSQL advisory locks: the same code must work on SQLite,
which has none; and a session-scoped advisory lock belongs to one connection, while the
PostgreSQL store lends its pooled connections to whichever task writes next, so the lock
would be held (or silently lost with a broken connection) by a connection the job is not
using. A row is visible to every process, survives a reconnect, expires by itself when its
holder dies, and carries an epoch that tells a replaced holder it was replaced.
"""

from __future__ import annotations

from datetime import datetime

from bot.store.connection import Connection


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def epoch_ms(at: datetime) -> int:
    """Lease times as integers (milliseconds since 1970): compared as numbers, so no
    formatting of a time zone or of fractions of a second can order them wrongly."""
    return int(at.timestamp() * 1000)


class JobRows:
    _db: Connection

    async def acquire_job_lease(
        self, name: str, holder: str, now: datetime, until: datetime
    ) -> int | None:
        """Take or renew the lease on job ``name`` until ``until``; its epoch if ``holder``
        holds it now, None if another holder's lease has not run out.

        One conditional statement, so two processes asking at once cannot both win: a new
        row, a renewal by the holder, or a takeover of a lease that ran out (the epoch then
        grows by one, which is how the replaced holder learns of it)."""
        async with self._db.execute(
            "INSERT INTO job_leases (name, holder, lease_until, epoch) VALUES (?,?,?,1)"
            " ON CONFLICT (name) DO UPDATE SET"
            " epoch = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.epoch"
            " ELSE job_leases.epoch + 1 END,"
            " holder = excluded.holder, lease_until = excluded.lease_until"
            " WHERE job_leases.holder = excluded.holder OR job_leases.lease_until <= ?"
            " RETURNING epoch",
            (name, holder, epoch_ms(until), epoch_ms(now)),
        ) as cur:
            row = await cur.fetchone()
        await self._db.commit()
        return None if row is None else int(row[0])

    async def job_lease_held(self, name: str, holder: str, epoch: int, now: datetime) -> bool:
        """The fence: whether ``holder`` still holds ``name`` at ``epoch`` and its lease has
        not run out. Read just before a job runs; a holder that was replaced (or let its
        lease run out, as a paused process does) stops there."""
        async with self._db.execute(
            "SELECT 1 FROM job_leases WHERE name = ? AND holder = ? AND epoch = ?"
            " AND lease_until > ?",
            (name, holder, epoch, epoch_ms(now)),
        ) as cur:
            return await cur.fetchone() is not None

    async def release_job_leases(self, holder: str, now: datetime) -> int:
        """A clean stop: the leases end now, so another process takes over at its next
        tick instead of waiting the lease out. The epoch is kept (a takeover still grows it)."""
        cur = await self._db.execute(
            "UPDATE job_leases SET lease_until = ? WHERE holder = ? AND lease_until > ?",
            (epoch_ms(now), holder, epoch_ms(now)),
        )
        await self._db.commit()
        return cur.rowcount

    # -- claims on single items: whoever changes the row first sends ----------------------
    async def claim_room_reminder(
        self, platform: str, room_id: str, policy: str, due_by: datetime, at: datetime
    ) -> bool:
        """A periodic room reminder is due (last one at or before ``due_by``): restart the
        period at ``at``; False if another process restarted it first."""
        cur = await self._db.execute(
            "UPDATE room_state SET messages_since = 0, last_reminded_at = ? WHERE platform = ?"
            " AND room_id = ? AND policy = ? AND last_reminded_at <= ?",
            (_iso(at), platform, room_id, policy, _iso(due_by)),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def claim_checkin_fire(
        self, platform: str, member_id: str, seen: datetime | None, fire: datetime | None
    ) -> bool:
        """A scheduled check-in fires: ``last_fired`` moves from ``seen`` (what the caller
        read) to ``fire``, committed before anything is sent; False if it moved meanwhile
        (another process fired it, or the member changed the schedule). Given back the same
        way (``fire`` the earlier value, None for never) when nothing of it went out."""
        if seen is None:
            cur = await self._db.execute(
                "UPDATE checkin_schedules SET last_fired = ? WHERE platform = ?"
                " AND member_id = ? AND last_fired IS NULL",
                (_iso(fire) if fire else None, platform, member_id),
            )
        else:
            cur = await self._db.execute(
                "UPDATE checkin_schedules SET last_fired = ? WHERE platform = ?"
                " AND member_id = ? AND last_fired = ?",
                (_iso(fire) if fire else None, platform, member_id, _iso(seen)),
            )
        await self._db.commit()
        return cur.rowcount == 1

    async def claim_reminder_resend(self, key: str, now: datetime, until: datetime) -> bool:
        """A pending reminder is resent by one process: not due again before ``until`` (the
        send under way has until then; a failure sets its own pause, a delivery ends it)."""
        cur = await self._db.execute(
            "UPDATE reminders SET retry_at = ? WHERE key = ? AND delivered_at IS NULL"
            " AND (retry_at IS NULL OR retry_at <= ?)",
            (_iso(until), key, _iso(now)),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def claim_alert(self, key: str, now: datetime, until: datetime) -> bool:
        """An owed moderator alert is sent again by one process: leased until ``until``."""
        cur = await self._db.execute(
            "UPDATE alert_outbox SET next_at = ? WHERE key = ? AND delivered_at IS NULL"
            " AND given_up_at IS NULL AND next_at <= ?",
            (_iso(until), key, _iso(now)),
        )
        await self._db.commit()
        return cur.rowcount == 1
