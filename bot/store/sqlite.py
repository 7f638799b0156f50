"""The store's SQL, and the SQLite store (the embedded default).

It records facts needed to keep promises across restarts (who was reminded of which policy
text, who agreed, who is in which room) and never any message text. :class:`SqlStore` holds
the statements both backends run alike; :class:`SqliteStore` adds the SQLite file and the
few statements only SQLite can say. The rows it returns are in :mod:`bot.store.rows`
(re-exported here, so ``from bot.store.sqlite import LeakFlag`` keeps working).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import aiosqlite

from bot.store.alert_rows import AlertRows
from bot.store.connection import Connection
from bot.store.job_rows import JobRows
from bot.store.migrate import apply_migrations, packaged_migrations
from bot.store.rows import (
    AgreementReport,
    AuditEntry,
    Checkin,
    CheckinSchedule,
    Escalation,
    IndexGroup,
    LeakFlag,
    MemberReport,
    NewFingerprint,
    OwedAlert,
    PendingReminder,
    RepeatAction,
    RoomState,
    RulesMessage,
    SealedAnswer,
    StoredFingerprint,
)

__all__ = [
    "AgreementReport",
    "AuditEntry",
    "Checkin",
    "CheckinSchedule",
    "Escalation",
    "IndexGroup",
    "LeakFlag",
    "MemberReport",
    "OwedAlert",
    "PendingReminder",
    "RepeatAction",
    "RoomState",
    "RulesMessage",
    "SealedAnswer",
    "SqlStore",
    "SqliteStore",
    "Store",
    "StoredFingerprint",
]


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


def _opt_iso(at: datetime | None) -> str | None:
    return None if at is None else _iso(at)


def _opt_dt(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


_CHUNK = 500  # fingerprints per IN (...) list, well under SQLite's variable limit
_INDEX_ROWS = 20_000  # rows per read while the leak index loads: bounded memory, few awaits


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class SqlStore(AlertRows, JobRows):
    """The statements SQLite and PostgreSQL run alike (``?`` placeholders, ``ON CONFLICT``,
    ``RETURNING``): one copy of the store's logic for both backends. What only one of them
    can say (SQLite's rowid, PostgreSQL's arrays) lives in :class:`SqliteStore` and
    :class:`bot.store.postgres.PostgresStore`.

    Every write commits before returning, so a crash right after a call never loses what
    the call recorded."""

    _INSERTED: ClassVar[str] = "rowid"
    """The column that orders a table's rows as they were written (SQLite's rowid; the
    PostgreSQL tables that need it have an identity column ``position``)."""

    def __init__(self, db: Connection) -> None:
        self._db = db

    async def _insert_id(self, sql: str, params: Sequence[object]) -> int:
        """Run an INSERT and return the new row's ``id`` (``RETURNING``: both backends say
        it the same way, where only SQLite has ``lastrowid``). Not committed."""
        async with self._db.execute(sql + " RETURNING id", params) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT MAX(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # -- membership -------------------------------------------------------------------
    async def record_join(self, platform: str, room_id: str, member_id: str, at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO memberships (platform, room_id, member_id, joined_at) VALUES (?,?,?,?)"
            " ON CONFLICT (platform, room_id, member_id)"
            " DO UPDATE SET joined_at = excluded.joined_at, left_at = NULL",
            (platform, room_id, member_id, _iso(at)),
        )
        await self._db.execute(
            "INSERT INTO room_presence (platform, room_id, member_id) VALUES (?,?,?)"
            " ON CONFLICT DO NOTHING",
            (platform, room_id, member_id),
        )
        await self._db.commit()

    async def record_leave(self, platform: str, room_id: str, member_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE memberships SET left_at = ? WHERE platform = ? AND room_id = ?"
            " AND member_id = ?",
            (_iso(at), platform, room_id, member_id),
        )
        await self._db.execute(
            "DELETE FROM room_presence WHERE platform = ? AND room_id = ? AND member_id = ?",
            (platform, room_id, member_id),
        )
        await self._db.commit()

    async def room_presence(self, platform: str, room_id: str) -> frozenset[str] | None:
        """Who could see the room at its last complete count, kept current by joins and
        leaves since; None if it was never counted."""
        async with self._db.execute(
            "SELECT 1 FROM room_presence_counted WHERE platform = ? AND room_id = ?",
            (platform, room_id),
        ) as cur:
            if await cur.fetchone() is None:
                return None
        async with self._db.execute(
            "SELECT member_id FROM room_presence WHERE platform = ? AND room_id = ?",
            (platform, room_id),
        ) as cur:
            return frozenset(str(r[0]) for r in await cur.fetchall())

    async def room_counted_at(self, platform: str, room_id: str) -> datetime | None:
        """When the room's last complete count was taken (None: never): who joined the
        server after it and cannot see a read-gated room may have joined unheard."""
        async with self._db.execute(
            "SELECT counted_at FROM room_presence_counted WHERE platform = ? AND room_id = ?",
            (platform, room_id),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _opt_dt(row[0])

    async def replace_room_presence(
        self, platform: str, room_id: str, member_ids: Iterable[str], at: datetime
    ) -> None:
        """A complete count of who can see the room replaces the last one (one commit)."""
        await self._db.execute(
            "DELETE FROM room_presence WHERE platform = ? AND room_id = ?", (platform, room_id)
        )
        await self._db.executemany(
            "INSERT INTO room_presence (platform, room_id, member_id) VALUES (?,?,?)"
            " ON CONFLICT DO NOTHING",
            [(platform, room_id, m) for m in member_ids],
        )
        await self._db.execute(
            "INSERT INTO room_presence_counted (platform, room_id, counted_at) VALUES (?,?,?)"
            " ON CONFLICT (platform, room_id) DO UPDATE SET counted_at = excluded.counted_at",
            (platform, room_id, _iso(at)),
        )
        await self._db.commit()

    # -- reminders (also the outbox for reminder delivery) ----------------------------
    async def was_reminded(
        self, platform: str, room_id: str, member_id: str, policy: str, text_hash: str | None
    ) -> bool:
        """Whether this member was reminded here of this text (any text when hash is None)."""
        sql = (
            "SELECT 1 FROM reminders WHERE platform = ? AND room_id = ? AND member_id = ?"
            " AND policy = ?"
        )
        params: list[str] = [platform, room_id, member_id, policy]
        if text_hash is not None:
            sql += " AND text_hash = ?"
            params.append(text_hash)
        async with self._db.execute(sql + " LIMIT 1", params) as cur:
            return await cur.fetchone() is not None

    async def add_reminder(
        self,
        key: str,
        platform: str,
        room_id: str,
        room_name: str | None,
        member_id: str,
        policy: str,
        text_hash: str,
        at: datetime,
    ) -> bool:
        """Record a reminder about to be sent; False when one exists (nothing to send)."""
        cur = await self._db.execute(
            "INSERT INTO reminders (key, platform, room_id, room_name, member_id,"
            " policy, text_hash, created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (key, platform, room_id, room_name, member_id, policy, text_hash, _iso(at)),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def renew_reminder(
        self,
        key: str,
        platform: str,
        room_id: str,
        member_id: str,
        policy: str,
        text_hash: str,
        at: datetime,
    ) -> bool:
        """The reminder of this text here becomes a new one to send under ``key`` (a member
        who never agreed came back); False when it already is (a replayed join)."""
        cur = await self._db.execute(
            "UPDATE reminders SET key = ?, delivered_at = NULL, channel = NULL, attempts = 0,"
            " retry_at = NULL, created_at = ? WHERE platform = ? AND room_id = ?"
            " AND member_id = ? AND policy = ? AND text_hash = ? AND key != ?",
            (key, _iso(at), platform, room_id, member_id, policy, text_hash, key),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def mark_reminder_delivered(self, key: str, channel: str, at: datetime) -> bool:
        """True the first time only: a reminder sent on two channels is one reminder."""
        cursor = await self._db.execute(
            "UPDATE reminders SET delivered_at = ?, channel = ? WHERE key = ?"
            " AND delivered_at IS NULL",
            (_iso(at), channel, key),
        )
        await self._db.commit()
        return cursor.rowcount > 0

    async def pending_reminders(
        self,
        older_than: datetime | None = None,
        *,
        due_at: datetime | None = None,
        max_attempts: int | None = None,
    ) -> list[PendingReminder]:
        """Reminders recorded but not confirmed sent, optionally only those created before
        ``older_than`` (younger ones may still be on their way), whose pause after a failed
        attempt is over by ``due_at``, and that failed fewer than ``max_attempts`` times."""
        cutoff = _iso(older_than) if older_than else "9999"
        due = _iso(due_at) if due_at else "9999"
        attempts = max_attempts if max_attempts is not None else 2**31
        async with self._db.execute(
            "SELECT key, platform, room_id, room_name, member_id, policy, text_hash"
            " FROM reminders WHERE delivered_at IS NULL AND created_at < ?"
            " AND attempts < ? AND (retry_at IS NULL OR retry_at <= ?)"
            " ORDER BY created_at, key",
            (cutoff, attempts, due),
        ) as cur:
            rows = await cur.fetchall()
        return [PendingReminder(*row) for row in rows]

    async def reminder_attempt_failed(self, key: str) -> int:
        """Count a failed attempt at a pending reminder; returns the attempts so far (0 when
        no such reminder is pending)."""
        await self._db.execute(
            "UPDATE reminders SET attempts = attempts + 1 WHERE key = ? AND delivered_at IS NULL",
            (key,),
        )
        await self._db.commit()
        async with self._db.execute(
            "SELECT attempts FROM reminders WHERE key = ? AND delivered_at IS NULL", (key,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def retry_reminder_at(self, key: str, at: datetime) -> None:
        """Not before ``at``: the pause after a failed attempt."""
        await self._db.execute(
            "UPDATE reminders SET retry_at = ? WHERE key = ? AND delivered_at IS NULL",
            (_iso(at), key),
        )
        await self._db.commit()

    async def forget_pending_reminder(self, key: str) -> bool:
        """Drop a reminder that can reach nobody (the member left): not owed any more, and
        a later join reminds afresh. Delivered reminders are kept."""
        cursor = await self._db.execute(
            "DELETE FROM reminders WHERE key = ? AND delivered_at IS NULL", (key,)
        )
        await self._db.commit()
        return cursor.rowcount > 0

    async def has_left(self, platform: str, room_id: str, member_id: str) -> bool:
        """True when the member is known to have left the room (and not come back)."""
        async with self._db.execute(
            "SELECT 1 FROM memberships WHERE platform = ? AND room_id = ? AND member_id = ?"
            " AND left_at IS NOT NULL",
            (platform, room_id, member_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def reminder_by_key(self, key: str) -> PendingReminder | None:
        async with self._db.execute(
            "SELECT key, platform, room_id, room_name, member_id, policy, text_hash"
            " FROM reminders WHERE key = ?",
            (key,),
        ) as cur:
            row = await cur.fetchone()
        return PendingReminder(*row) if row else None

    async def members_to_reask(
        self, policy: str, text_hash: str
    ) -> list[tuple[str, str, str | None, str]]:
        """(platform, room_id, room_name, member_id) still in a room, reminded of an older
        text of ``policy`` and neither reminded of nor agreed to the current one."""
        async with self._db.execute(
            "SELECT DISTINCT r.platform, r.room_id, r.room_name, r.member_id FROM reminders r"
            " JOIN memberships m ON m.platform = r.platform AND m.room_id = r.room_id"
            "  AND m.member_id = r.member_id AND m.left_at IS NULL"
            " WHERE r.policy = ? AND r.text_hash != ?"
            " AND NOT EXISTS (SELECT 1 FROM reminders c WHERE c.platform = r.platform"
            "  AND c.room_id = r.room_id AND c.member_id = r.member_id AND c.policy = r.policy"
            "  AND c.text_hash = ?)"
            " AND NOT EXISTS (SELECT 1 FROM agreements a WHERE a.platform = r.platform"
            "  AND a.member_id = r.member_id AND a.policy = r.policy AND a.text_hash = ?)"
            " ORDER BY r.platform, r.room_id, r.member_id",
            (policy, text_hash, text_hash, text_hash),
        ) as cur:
            rows = await cur.fetchall()
        return [(str(a), str(b), c, str(d)) for a, b, c, d in rows]

    async def rooms_reminded(
        self, platform: str, member_id: str, policy: str
    ) -> list[tuple[str, str | None]]:
        """(room_id, room_name) where a member was reminded of ``policy``."""
        async with self._db.execute(
            "SELECT DISTINCT room_id, room_name FROM reminders WHERE platform = ?"
            " AND member_id = ? AND policy = ? ORDER BY room_id",
            (platform, member_id, policy),
        ) as cur:
            return [(str(a), b) for a, b in await cur.fetchall()]

    async def policies_reminded(self, platform: str, member_id: str) -> list[str]:
        async with self._db.execute(
            "SELECT DISTINCT policy FROM reminders WHERE platform = ? AND member_id = ?"
            " ORDER BY policy",
            (platform, member_id),
        ) as cur:
            return [str(row[0]) for row in await cur.fetchall()]

    async def policies_awaiting_agreement(
        self, platform: str, member_id: str
    ) -> list[tuple[str, str]]:
        """(policy, text_hash) pairs a member was reminded of and has not agreed to."""
        async with self._db.execute(
            "SELECT DISTINCT r.policy, r.text_hash FROM reminders r WHERE r.platform = ?"
            " AND r.member_id = ? AND NOT EXISTS (SELECT 1 FROM agreements a"
            "  WHERE a.platform = r.platform AND a.member_id = r.member_id"
            "  AND a.policy = r.policy AND a.text_hash = r.text_hash)"
            " ORDER BY r.policy",
            (platform, member_id),
        ) as cur:
            return [(str(a), str(b)) for a, b in await cur.fetchall()]

    async def owed_reminders(self, platform: str, member_id: str) -> list[PendingReminder]:
        """A member's reminders not confirmed delivered, oldest first: with the policy's
        ``next_interaction`` fallback (or when nothing else reached them) these wait for the
        member's next command."""
        async with self._db.execute(
            "SELECT key, platform, room_id, room_name, member_id, policy, text_hash, attempts"
            " FROM reminders WHERE delivered_at IS NULL AND platform = ? AND member_id = ?"
            " ORDER BY created_at, key",
            (platform, member_id),
        ) as cur:
            rows = await cur.fetchall()
        return [PendingReminder(*row) for row in rows]

    async def member_rooms_for_policy(
        self, platform: str, member_id: str, policy: str
    ) -> list[tuple[str, str | None]]:
        """(room_id, room_name) of the rooms under ``policy`` the member is in now."""
        async with self._db.execute(
            "SELECT s.room_id, s.room_name FROM room_state s JOIN memberships m"
            " ON m.platform = s.platform AND m.room_id = s.room_id AND m.left_at IS NULL"
            " WHERE s.platform = ? AND m.member_id = ? AND s.policy = ? ORDER BY s.room_id",
            (platform, member_id, policy),
        ) as cur:
            return [(str(a), b) for a, b in await cur.fetchall()]

    # -- standing rules messages -------------------------------------------------------
    async def rules_message(self, platform: str, room_id: str, policy: str) -> RulesMessage | None:
        async with self._db.execute(
            f"SELECT {_RULES_COLUMNS} FROM rules_messages WHERE platform = ? AND room_id = ?"
            " AND policy = ?",
            (platform, room_id, policy),
        ) as cur:
            row = await cur.fetchone()
        return _rules_row(row) if row else None

    async def rules_messages(self, policy: str | None = None) -> list[RulesMessage]:
        sql = f"SELECT {_RULES_COLUMNS} FROM rules_messages"
        params: tuple[str, ...] = ()
        if policy is not None:
            sql += " WHERE policy = ?"
            params = (policy,)
        async with self._db.execute(sql + " ORDER BY platform, room_id, policy", params) as cur:
            return [_rules_row(row) for row in await cur.fetchall()]

    async def save_rules_message(self, message: RulesMessage, at: datetime) -> None:
        """Record what the room's rules message is about to say (before it goes out)."""
        await self._db.execute(
            "INSERT INTO rules_messages (platform, room_id, policy, room_name, content_hash,"
            " post_key, message_id, updated_at, posted_at) VALUES (?,?,?,?,?,?,?,?,NULL)"
            " ON CONFLICT (platform, room_id, policy) DO UPDATE SET"
            " room_name = excluded.room_name, content_hash = excluded.content_hash,"
            " post_key = excluded.post_key, message_id = excluded.message_id,"
            " updated_at = excluded.updated_at, posted_at = NULL",
            (
                message.platform,
                message.room_id,
                message.policy,
                message.room_name,
                message.content_hash,
                message.post_key,
                message.message_id,
                _iso(at),
            ),
        )
        await self._db.commit()

    async def rules_message_posted(self, post_key: str, message_id: str, at: datetime) -> bool:
        """The adapter reported the id of the post made under ``post_key``."""
        cur = await self._db.execute(
            "UPDATE rules_messages SET message_id = ?, posted_at = ? WHERE post_key = ?",
            (message_id, _iso(at), post_key),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def rules_message_out(self, post_key: str, at: datetime) -> None:
        """The post went out though its id may be unknown (a platform that cannot say)."""
        await self._db.execute(
            "UPDATE rules_messages SET posted_at = COALESCE(posted_at, ?) WHERE post_key = ?",
            (_iso(at), post_key),
        )
        await self._db.commit()

    async def forget_rules_message(
        self, platform: str, room_id: str, message_id: str
    ) -> RulesMessage | None:
        """Someone deleted a rules message: forget it, so it is posted again."""
        async with self._db.execute(
            f"SELECT {_RULES_COLUMNS} FROM rules_messages WHERE platform = ? AND room_id = ?"
            " AND message_id = ?",
            (platform, room_id, message_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        await self._db.execute(
            "DELETE FROM rules_messages WHERE platform = ? AND room_id = ? AND message_id = ?",
            (platform, room_id, message_id),
        )
        await self._db.commit()
        return _rules_row(row)

    # -- agreements -------------------------------------------------------------------
    async def record_agreement(
        self, platform: str, member_id: str, policy: str, text_hash: str, at: datetime
    ) -> bool:
        """True when this is a new agreement (False: already agreed to this text)."""
        cur = await self._db.execute(
            "INSERT INTO agreements (platform, member_id, policy, text_hash, agreed_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (platform, member_id, policy, text_hash, _iso(at)),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def has_agreed(
        self, platform: str, member_id: str, policy: str, text_hash: str | None
    ) -> bool:
        sql = "SELECT 1 FROM agreements WHERE platform = ? AND member_id = ? AND policy = ?"
        params: list[str] = [platform, member_id, policy]
        if text_hash is not None:
            sql += " AND text_hash = ?"
            params.append(text_hash)
        async with self._db.execute(sql + " LIMIT 1", params) as cur:
            return await cur.fetchone() is not None

    async def agreement_report(
        self, platform: str, room_id: str, policy: str, text_hash: str | None
    ) -> AgreementReport:
        """Current members of a room split by whether they agreed to the text."""
        hash_clause = " AND a.text_hash = ?" if text_hash is not None else ""
        params: list[str] = [policy] + ([text_hash] if text_hash else []) + [platform, room_id]
        async with self._db.execute(
            "SELECT m.member_id, EXISTS (SELECT 1 FROM agreements a WHERE"
            " a.platform = m.platform AND a.member_id = m.member_id AND a.policy = ?"
            f"{hash_clause}) FROM memberships m WHERE m.platform = ? AND m.room_id = ?"
            " AND m.left_at IS NULL ORDER BY m.member_id",
            params,
        ) as cur:
            rows = await cur.fetchall()
        agreed = tuple(str(m) for m, ok in rows if ok)
        not_agreed = tuple(str(m) for m, ok in rows if not ok)
        return AgreementReport(agreed, not_agreed)

    async def room_member_ids(self, platform: str, room_id: str) -> list[str]:
        """Who is in the room as far as the bot knows: joins it saw (and no leave since),
        and the last complete count the adapter reported (members there before the bot)."""
        async with self._db.execute(
            "SELECT member_id FROM memberships WHERE platform = ? AND room_id = ?"
            " AND left_at IS NULL UNION SELECT member_id FROM room_presence"
            " WHERE platform = ? AND room_id = ? ORDER BY 1",
            (platform, room_id, platform, room_id),
        ) as cur:
            return [str(r[0]) for r in await cur.fetchall()]

    async def latest_agreements(self, platform: str, policy: str) -> dict[str, tuple[str, str]]:
        """Per member, the text version they agreed to last and when (ISO time)."""
        async with self._db.execute(
            "SELECT member_id, text_hash, agreed_at FROM agreements WHERE platform = ?"
            " AND policy = ? ORDER BY agreed_at",
            (platform, policy),
        ) as cur:
            rows = await cur.fetchall()
        return {str(m): (str(h), str(at)) for m, h, at in rows}

    # -- read-gated rooms: who was let in ----------------------------------------------
    async def access_granted(
        self,
        platform: str,
        room_id: str,
        room_name: str | None,
        member_id: str,
        policy: str,
        at: datetime,
    ) -> None:
        """The platform gave the member access to a read-gated room (a new grant after an
        ended one starts afresh)."""
        await self._db.execute(
            "INSERT INTO room_access (platform, room_id, member_id, policy, room_name,"
            " granted_at) VALUES (?,?,?,?,?,?) ON CONFLICT (platform, room_id, member_id,"
            " policy) DO UPDATE SET granted_at = excluded.granted_at, ended_at = NULL,"
            " room_name = excluded.room_name",
            (platform, room_id, member_id, policy, room_name, _iso(at)),
        )
        await self._db.commit()

    async def access_ended(self, platform: str, room_id: str, member_id: str, at: datetime) -> bool:
        """Access taken away, or the member left; True if they had it."""
        cur = await self._db.execute(
            "UPDATE room_access SET ended_at = ? WHERE platform = ? AND room_id = ?"
            " AND member_id = ? AND ended_at IS NULL",
            (_iso(at), platform, room_id, member_id),
        )
        await self._db.commit()
        return cur.rowcount > 0

    async def has_access(self, platform: str, room_id: str, member_id: str) -> bool:
        async with self._db.execute(
            "SELECT 1 FROM room_access WHERE platform = ? AND room_id = ? AND member_id = ?"
            " AND ended_at IS NULL LIMIT 1",
            (platform, room_id, member_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def access_rows(
        self, policy: str, platform: str | None = None, room_id: str | None = None
    ) -> list[tuple[str, str, str | None, str, str, str | None]]:
        """(platform, room_id, room_name, member_id, granted_at, ended_at) of ``policy``'s
        read-gated rooms (one room where given), oldest grant first."""
        sql = (
            "SELECT platform, room_id, room_name, member_id, granted_at, ended_at"
            " FROM room_access WHERE policy = ?"
        )
        params: list[str] = [policy]
        if platform is not None and room_id is not None:
            sql += " AND platform = ? AND room_id = ?"
            params += [platform, room_id]
        async with self._db.execute(sql + " ORDER BY granted_at, member_id", params) as cur:
            rows = await cur.fetchall()
        return [(str(a), str(b), c, str(d), str(e), f) for a, b, c, d, e, f in rows]

    # -- periodic in-room reminders ---------------------------------------------------
    async def room_state(
        self, platform: str, room_id: str, policy: str, room_name: str | None, at: datetime
    ) -> RoomState:
        """The room's counters, created on first sight with the clock starting now."""
        await self._db.execute(
            "INSERT INTO room_state (platform, room_id, policy, room_name,"
            " last_reminded_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (platform, room_id, policy, room_name, _iso(at)),
        )
        await self._db.commit()
        async with self._db.execute(
            "SELECT platform, room_id, policy, room_name, messages_since, last_reminded_at"
            " FROM room_state WHERE platform = ? AND room_id = ? AND policy = ?",
            (platform, room_id, policy),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return _room_state(row)

    async def count_room_message(self, platform: str, room_id: str, policy: str) -> int:
        await self._db.execute(
            "UPDATE room_state SET messages_since = messages_since + 1 WHERE platform = ?"
            " AND room_id = ? AND policy = ?",
            (platform, room_id, policy),
        )
        await self._db.commit()
        async with self._db.execute(
            "SELECT messages_since FROM room_state WHERE platform = ? AND room_id = ?"
            " AND policy = ?",
            (platform, room_id, policy),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def reset_room_reminder(
        self, platform: str, room_id: str, policy: str, at: datetime
    ) -> None:
        await self._db.execute(
            "UPDATE room_state SET messages_since = 0, last_reminded_at = ? WHERE platform = ?"
            " AND room_id = ? AND policy = ?",
            (_iso(at), platform, room_id, policy),
        )
        await self._db.commit()

    async def room_states(self) -> list[RoomState]:
        async with self._db.execute(
            "SELECT platform, room_id, policy, room_name, messages_since, last_reminded_at"
            " FROM room_state ORDER BY platform, room_id, policy"
        ) as cur:
            return [_room_state(row) for row in await cur.fetchall()]

    # -- leak fingerprints ----------------------------------------------------------
    async def add_fingerprints(self, rows: Iterable[StoredFingerprint]) -> int:
        cur = await self._db.executemany(
            "INSERT INTO fingerprints (fingerprint, scheme, room_key, policy, day, author,"
            " message, joined_to) VALUES (?,?,?,?,?,?,?,?)",
            [
                (r.fingerprint, r.scheme, r.room_key, r.policy, r.day, r.author, r.message,
                 r.joined_to)
                for r in rows
            ],
        )
        await self._db.commit()
        return cur.rowcount

    async def fingerprints(self, scheme: str | None = None) -> list[StoredFingerprint]:
        """Every stored fingerprint row (of one scheme), whole: for checks and tests; the
        in-memory index loads through :meth:`index_groups`."""
        sql = (
            "SELECT fingerprint, scheme, room_key, policy, day, author, message, joined_to"
            " FROM fingerprints"
        )
        params: tuple[str, ...] = ()
        if scheme is not None:
            sql += " WHERE scheme = ?"
            params = (scheme,)
        async with self._db.execute(sql, params) as cur:
            return [
                StoredFingerprint(
                    int(a), str(b), str(c), str(d), int(e), bytes(f), bytes(g),
                    None if h is None else bytes(h),
                )
                for a, b, c, d, e, f, g, h in await cur.fetchall()
            ]

    async def matching_fingerprints(
        self, scheme: str, room_key: str, values: Iterable[int], not_author: bytes | None
    ) -> set[int]:
        """Which of ``values`` are stored for the room (optionally by someone other than
        ``not_author``): the store confirms what the in-memory index suggests."""
        found: set[int] = set()
        wanted = sorted(set(values))
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            sql = (
                "SELECT DISTINCT fingerprint FROM fingerprints WHERE room_key = ? AND scheme = ?"
                f" AND fingerprint IN ({marks})"
            )
            params: list[object] = [room_key, scheme, *chunk]
            if not_author is not None:
                sql += " AND author != ?"
                params.append(not_author)
            async with self._db.execute(sql, params) as cur:
                found.update(int(row[0]) for row in await cur.fetchall())
        return found

    # Other processes' fingerprints, for the in-memory index (bot/leaks_flow/sync.py).
    async def fingerprint_position(self) -> int:
        """The position of the last fingerprint row written (0: none): where an index
        loaded now starts catching up from."""
        async with self._db.execute(
            f"SELECT COALESCE(MAX({self._INSERTED}), 0) FROM fingerprints"
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def count_fingerprints(self) -> int:
        """Every stored fingerprint row: fewer than an index has read means another
        process deleted some, and the index is due a reload (once a day, not per delete)."""
        async with self._db.execute("SELECT COUNT(*) FROM fingerprints") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def fingerprints_after(self, position: int, limit: int) -> list[NewFingerprint]:
        """Up to ``limit`` rows written after ``position``, in the order they were written.
        One short read on the primary key (the rowid, or the identity column)."""
        async with self._db.execute(
            f"SELECT {self._INSERTED}, fingerprint, scheme, room_key, day, author"
            f" FROM fingerprints WHERE {self._INSERTED} > ? ORDER BY {self._INSERTED} LIMIT ?",
            (position, limit),
        ) as cur:
            return [_new_fingerprint(row) for row in await cur.fetchall()]

    async def fingerprints_at(self, positions: Sequence[int]) -> list[NewFingerprint]:
        """The rows at ``positions`` that exist now: holes an earlier read left (a write
        another process had not committed yet), looked at again."""
        found: list[NewFingerprint] = []
        for chunk in _chunks(sorted(set(positions))):
            marks = ",".join("?" * len(chunk))
            async with self._db.execute(
                f"SELECT {self._INSERTED}, fingerprint, scheme, room_key, day, author"
                f" FROM fingerprints WHERE {self._INSERTED} IN ({marks})",
                list(chunk),
            ) as cur:
                found += [_new_fingerprint(row) for row in await cur.fetchall()]
        return found

    async def near_matches(
        self, scheme: str, room_key: str, values: Iterable[int], not_author: bytes | None
    ) -> list[list[int]]:
        """Per stored message of the room (optionally by someone other than ``not_author``),
        which of ``values`` it holds, in the order they were stored: near-quote confirmation
        groups by the keyed message hash, so only one message's shingles count together."""
        by_message: dict[bytes, list[tuple[int, int]]] = {}
        wanted = sorted(set(values))
        for chunk in _chunks(wanted):
            marks = ",".join("?" * len(chunk))
            sql = (
                f"SELECT message, {self._INSERTED}, fingerprint FROM fingerprints"
                " WHERE room_key = ?"
                f" AND scheme = ? AND fingerprint IN ({marks})"
            )
            params: list[object] = [room_key, scheme, *chunk]
            if not_author is not None:
                sql += " AND author != ?"
                params.append(not_author)
            async with self._db.execute(sql, params) as cur:
                for message, position, value in await cur.fetchall():
                    by_message.setdefault(bytes(message), []).append((int(position), int(value)))
        return [[value for _, value in sorted(rows)] for rows in by_message.values()]

    async def delete_message_fingerprints(self, message: bytes) -> int:
        """A message's own fingerprints, and those of words running from it into the
        member's next message (every row of that value there, whichever earlier message
        each names: the words of this one are in all of them)."""
        cur = await self._db.execute(
            f"DELETE FROM fingerprints WHERE message = ? OR {self._INSERTED} IN ("
            f" SELECT f.{self._INSERTED} FROM fingerprints AS j JOIN fingerprints AS f"
            " ON f.message = j.message AND f.fingerprint = j.fingerprint"
            " WHERE j.joined_to = ?)",
            (message, message),
        )
        await self._db.commit()
        return cur.rowcount

    async def delete_author_fingerprints(self, author: bytes) -> int:
        cur = await self._db.execute("DELETE FROM fingerprints WHERE author = ?", (author,))
        await self._db.commit()
        return cur.rowcount

    async def count_author_fingerprints(self, author: bytes) -> int:
        async with self._db.execute(
            "SELECT COUNT(*) FROM fingerprints WHERE author = ?", (author,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def purge_fingerprints(self, cutoffs: dict[str, int], default_cutoff: int) -> int:
        """Retention: drop rows older than their policy's cutoff day (``default_cutoff`` for
        policies no longer loaded)."""
        removed = 0
        for policy, day in cutoffs.items():
            cur = await self._db.execute(
                "DELETE FROM fingerprints WHERE policy = ? AND day < ?", (policy, day)
            )
            removed += cur.rowcount
        others = ""
        if cutoffs:  # ``NOT IN ()`` is SQLite's; PostgreSQL refuses it
            others = f" AND policy NOT IN ({','.join('?' * len(cutoffs))})"
        cur = await self._db.execute(
            f"DELETE FROM fingerprints WHERE day < ?{others}", (default_cutoff, *cutoffs)
        )
        removed += cur.rowcount
        await self._db.commit()
        return removed

    async def stoplist(self) -> set[int]:
        async with self._db.execute("SELECT fingerprint FROM leak_stoplist") as cur:
            return {int(row[0]) for row in await cur.fetchall()}

    async def add_to_stoplist(self, values: Iterable[int], at: datetime) -> int:
        cur = await self._db.executemany(
            "INSERT INTO leak_stoplist (fingerprint, added_at) VALUES (?,?)"
            " ON CONFLICT DO NOTHING",
            [(value, _iso(at)) for value in sorted(set(values))],
        )
        await self._db.commit()
        return cur.rowcount

    # -- leak flags -------------------------------------------------------------------
    async def save_flag(
        self,
        flag: LeakFlag,
        fingerprints: Iterable[int] = (),
        copy_state: str | None = None,
    ) -> tuple[LeakFlag, bool]:
        """Record a flag, or update the one for the same copy and source room; returns the
        stored flag and whether it is new. ``id``, status and times of ``flag`` are ignored."""
        at = _iso(flag.updated_at)
        existing = await self._flag_where(
            "platform = ? AND room_id = ? AND message_id = ? AND source_platform = ?"
            " AND source_room_id = ?",
            (flag.platform, flag.room_id, flag.message_id, flag.source_platform,
             flag.source_room_id),
        )
        if existing:
            flag_id = existing[0].id
            await self._db.execute(
                "UPDATE leak_flags SET signal = ?, matched = ?, whole_message = ?,"
                " updated_at = ?, copy_state = COALESCE(?, copy_state) WHERE id = ?",
                (flag.signal, flag.matched, int(flag.whole_message), at, copy_state, flag_id),
            )
            await self._db.execute(
                "DELETE FROM leak_flag_fingerprints WHERE flag_id = ?", (flag_id,)
            )
        else:
            flag_id = await self._insert_id(
                "INSERT INTO leak_flags (platform, room_id, room_name, message_id,"
                " source_platform, source_room_id, source_room_name, policy, signal, matched,"
                " whole_message, poster_id, copy_state, created_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    flag.platform, flag.room_id, flag.room_name, flag.message_id,
                    flag.source_platform, flag.source_room_id, flag.source_room_name,
                    flag.policy, flag.signal, flag.matched, int(flag.whole_message),
                    flag.poster_id, copy_state or "posted", at, at,
                ),
            )
        await self._db.executemany(
            "INSERT INTO leak_flag_fingerprints (flag_id, fingerprint) VALUES (?,?)"
            " ON CONFLICT DO NOTHING",
            [(flag_id, value) for value in sorted(set(fingerprints))],
        )
        if flag.parts:  # a later re-check of the copy alone keeps the parts it had
            await self._db.execute("DELETE FROM leak_flag_parts WHERE flag_id = ?", (flag_id,))
            await self._db.executemany(
                "INSERT INTO leak_flag_parts (flag_id, position, message_id) VALUES (?,?,?)",
                [(flag_id, n, part) for n, part in enumerate(flag.parts)],
            )
        await self._db.commit()
        stored = await self.flag(flag_id)
        assert stored is not None
        return stored, not existing

    async def add_flag_part(self, flag_id: int, message_id: str, flagged: str) -> None:
        """A later message of a quote posted in parts, added to the flag an earlier part
        raised; ``flagged`` (the flag's own message) is listed first if it had no parts."""
        async with self._db.execute(
            "SELECT COUNT(*) FROM leak_flag_parts WHERE flag_id = ?", (flag_id,)
        ) as cur:
            row = await cur.fetchone()
        count = int(row[0]) if row else 0
        rows = [] if count else [(flag_id, 0, flagged)]
        rows.append((flag_id, max(count, 1), message_id))
        await self._db.executemany(
            "INSERT INTO leak_flag_parts (flag_id, position, message_id)"
            " VALUES (?,?,?) ON CONFLICT DO NOTHING",
            rows,
        )
        await self._db.commit()

    async def flag(self, flag_id: int) -> LeakFlag | None:
        found = await self._flag_where("id = ?", (flag_id,))
        return found[0] if found else None

    async def flags_for_copy(self, platform: str, room_id: str, message_id: str) -> list[LeakFlag]:
        return await self._flag_where(
            "platform = ? AND room_id = ? AND message_id = ?", (platform, room_id, message_id)
        )

    async def open_flags(self, limit: int = 20) -> list[LeakFlag]:
        """Open flags, newest first."""
        return await self._flag_where("status = 'open'", (), limit)

    async def set_copy_state(
        self, platform: str, room_id: str, message_id: str, state: str, at: datetime
    ) -> int:
        cur = await self._db.execute(
            "UPDATE leak_flags SET copy_state = ?, updated_at = ? WHERE platform = ?"
            " AND room_id = ? AND message_id = ?",
            (state, _iso(at), platform, room_id, message_id),
        )
        await self._db.commit()
        return cur.rowcount

    async def close_flag(self, flag_id: int, status: str, by: str, at: datetime) -> bool:
        """Resolve a flag or mark it a false positive; False if there is no open flag."""
        cur = await self._db.execute(
            "UPDATE leak_flags SET status = ?, closed_by = ?, updated_at = ? WHERE id = ?"
            " AND status = 'open'",
            (status, by, _iso(at), flag_id),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def flag_fingerprints(self, flag_id: int) -> set[int]:
        async with self._db.execute(
            "SELECT fingerprint FROM leak_flag_fingerprints WHERE flag_id = ?", (flag_id,)
        ) as cur:
            return {int(row[0]) for row in await cur.fetchall()}

    # -- repeat leakers (keyed author hashes, ids only) ---------------------------------
    async def record_confirmed_flag(
        self, author: bytes, policy: str, flag_id: int, at: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO confirmed_flags (author, policy, flag_id, confirmed_at)"
            " VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
            (author, policy, flag_id, _iso(at)),
        )
        await self._db.commit()

    async def confirmed_flags(
        self, author: bytes, policies: Sequence[str], since: datetime | None = None
    ) -> list[tuple[int, str, datetime]]:
        """(flag id, policy, confirmed at) of the member's confirmed flags, newest first."""
        if not policies:
            return []
        marks = ",".join("?" * len(policies))
        async with self._db.execute(
            "SELECT flag_id, policy, confirmed_at FROM confirmed_flags WHERE author = ?"
            f" AND policy IN ({marks}) AND confirmed_at >= ? ORDER BY confirmed_at DESC",
            (author, *policies, _iso(since) if since else ""),
        ) as cur:
            return [
                (int(r[0]), str(r[1]), datetime.fromisoformat(str(r[2])))
                for r in await cur.fetchall()
            ]

    async def delete_author_confirmed_flags(self, author: bytes) -> int:
        cur = await self._db.execute("DELETE FROM confirmed_flags WHERE author = ?", (author,))
        await self._db.commit()
        return cur.rowcount

    async def add_repeat_action(self, action: RepeatAction) -> RepeatAction:
        action_id = await self._insert_id(
            "INSERT INTO repeat_actions (platform, member_id, policy, kind, flag_id, status,"
            " minutes, until, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                action.platform, action.member_id, action.policy, action.kind, action.flag_id,
                action.status, action.minutes, _opt_iso(action.until),
                _iso(action.created_at), _iso(action.created_at),
            ),
        )
        await self._db.commit()
        return replace(action, id=action_id)

    async def repeat_action(self, action_id: int) -> RepeatAction | None:
        found = await self._repeat_where("id = ?", (action_id,))
        return found[0] if found else None

    async def member_repeat_actions(self, platform: str, member_id: str) -> list[RepeatAction]:
        return await self._repeat_where("platform = ? AND member_id = ?", (platform, member_id))

    async def repeat_actions_due(self, now: datetime) -> list[RepeatAction]:
        """Timeouts done whose end has come: their restoration is owed (also after a restart)."""
        return await self._repeat_where(
            "status = 'done' AND kind = 'timeout' AND until <= ?", (_iso(now),)
        )

    async def set_repeat_action(
        self, action_id: int, status: str, before: str, at: datetime, until: datetime | None = None
    ) -> bool:
        """Move an action on from ``before`` (so a second confirm does nothing)."""
        cur = await self._db.execute(
            "UPDATE repeat_actions SET status = ?, until = COALESCE(?, until), updated_at = ?"
            " WHERE id = ? AND status = ?",
            (status, _opt_iso(until), _iso(at), action_id, before),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def _repeat_where(self, where: str, params: tuple[object, ...]) -> list[RepeatAction]:
        async with self._db.execute(
            "SELECT id, platform, member_id, policy, kind, flag_id, status, minutes, until,"
            f" created_at FROM repeat_actions WHERE {where} ORDER BY id",
            params,
        ) as cur:
            return [
                RepeatAction(
                    int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]),
                    str(r[6]), None if r[7] is None else int(r[7]), _opt_dt(r[8]),
                    datetime.fromisoformat(str(r[9])),
                )
                for r in await cur.fetchall()
            ]

    async def _flag_where(
        self, where: str, params: tuple[object, ...], limit: int = 1000
    ) -> list[LeakFlag]:
        async with self._db.execute(
            f"SELECT {_FLAG_COLUMNS} FROM leak_flags WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ) as cur:
            flags = [_flag_row(row) for row in await cur.fetchall()]
        parts: dict[int, list[str]] = {}
        for chunk in _chunks([flag.id for flag in flags]):
            marks = ",".join("?" * len(chunk))
            async with self._db.execute(
                "SELECT flag_id, message_id FROM leak_flag_parts"
                f" WHERE flag_id IN ({marks}) ORDER BY flag_id, position",
                chunk,
            ) as cur:
                for flag_id, message_id in await cur.fetchall():
                    parts.setdefault(int(flag_id), []).append(str(message_id))
        return [replace(f, parts=tuple(parts[f.id])) if f.id in parts else f for f in flags]


    # -- copies held for review, sealed (never plaintext) ------------------------------
    async def hold_copy(self, flag_id: int, sealed: bytes, expires_at: datetime) -> None:
        """Keep a removed copy, sealed by the caller, until ``expires_at`` at the latest."""
        await self._db.execute(
            "INSERT INTO held_copies (flag_id, sealed, expires_at) VALUES (?,?,?)"
            " ON CONFLICT (flag_id) DO UPDATE SET sealed = excluded.sealed,"
            " expires_at = excluded.expires_at",
            (flag_id, sealed, _iso(expires_at.astimezone(UTC))),
        )
        await self._db.commit()

    async def take_held_copy(self, flag_id: int, now: datetime) -> bytes | None:
        """The sealed copy, removed in the same step so it is read at most once; None when
        there is none (already read, closed) or its time is up (then it is removed too)."""
        try:
            async with self._db.execute(
                "DELETE FROM held_copies WHERE flag_id = ? RETURNING sealed, expires_at",
                (flag_id,),
            ) as cur:
                row = await cur.fetchone()
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        if row is None or datetime.fromisoformat(str(row[1])) <= now:
            return None
        return bytes(row[0])

    async def drop_held_copy(self, flag_id: int) -> bool:
        cur = await self._db.execute("DELETE FROM held_copies WHERE flag_id = ?", (flag_id,))
        await self._db.commit()
        return cur.rowcount == 1

    async def purge_held_copies(self, now: datetime) -> int:
        """Copies whose review time is up: gone, read or not."""
        cur = await self._db.execute(
            "DELETE FROM held_copies WHERE expires_at <= ?", (_iso(now.astimezone(UTC)),)
        )
        await self._db.commit()
        return cur.rowcount

    async def held_copy_ids(self) -> list[int]:
        """The flags that still have a held copy (ids only), for tests and the admin."""
        async with self._db.execute("SELECT flag_id FROM held_copies ORDER BY flag_id") as cur:
            return [int(row[0]) for row in await cur.fetchall()]

    # -- private messages already taken (a replay after a crash is not taken twice) ----
    async def claim_reply(self, platform: str, message_id: str, at: datetime) -> bool:
        """Claim a private message before acting on it; False when it was claimed before
        (the message is a replay). Committed on its own: a crash right after loses the
        message, which was not acknowledged, rather than taking it twice."""
        cur = await self._db.execute(
            "INSERT INTO handled_replies (platform, message_id, handled_at)"
            " VALUES (?,?,?) ON CONFLICT DO NOTHING",
            (platform, message_id, _iso(at)),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def forget_replies(self, before: datetime) -> int:
        cur = await self._db.execute(
            "DELETE FROM handled_replies WHERE handled_at < ?", (_iso(before),)
        )
        await self._db.commit()
        return cur.rowcount

    # -- threads the bot opened (reminder threads), known across restarts -------------
    async def add_bot_thread(self, platform: str, thread_id: str, at: datetime) -> None:
        await self._db.execute(
            "INSERT INTO bot_threads (platform, thread_id, opened_at) VALUES (?,?,?)"
            " ON CONFLICT DO NOTHING",
            (platform, thread_id, _iso(at)),
        )
        await self._db.commit()

    async def bot_threads(self, platform: str) -> set[str]:
        async with self._db.execute(
            "SELECT thread_id FROM bot_threads WHERE platform = ?", (platform,)
        ) as cur:
            return {str(row[0]) for row in await cur.fetchall()}

    async def forget_bot_thread(self, platform: str, thread_id: str) -> None:
        """The thread is gone (deleted on Discord); its id means nothing any more."""
        await self._db.execute(
            "DELETE FROM bot_threads WHERE platform = ? AND thread_id = ?", (platform, thread_id)
        )
        await self._db.commit()

    # -- check-ins --------------------------------------------------------------------
    async def checkin_consent(self, platform: str, member_id: str, policy: str) -> str | None:
        """The intro hash the member agreed to for ``policy``, if any."""
        async with self._db.execute(
            "SELECT intro_hash FROM checkin_consents WHERE platform = ? AND member_id = ?"
            " AND policy = ?",
            (platform, member_id, policy),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def ask_checkin_consent(
        self, platform: str, member_id: str, policy: str, at: datetime
    ) -> None:
        """The member was shown ``policy``'s check-in intro and their agree or decline is
        awaited; kept here so whichever process their reply reaches knows (a sharded Discord
        bot gets direct messages on shard 0 only). A newer intro replaces an older one."""
        await self._db.execute(
            "INSERT INTO checkin_consent_asked (platform, member_id, policy, asked_at)"
            " VALUES (?,?,?,?) ON CONFLICT (platform, member_id) DO UPDATE SET"
            " policy = excluded.policy, asked_at = excluded.asked_at",
            (platform, member_id, policy, _iso(at)),
        )
        await self._db.commit()

    async def checkin_consent_asked(self, platform: str, member_id: str) -> str | None:
        """The policy whose intro awaits the member's answer, if any."""
        async with self._db.execute(
            "SELECT policy FROM checkin_consent_asked WHERE platform = ? AND member_id = ?",
            (platform, member_id),
        ) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def forget_checkin_consent_asked(self, platform: str, member_id: str) -> None:
        await self._db.execute(
            "DELETE FROM checkin_consent_asked WHERE platform = ? AND member_id = ?",
            (platform, member_id),
        )
        await self._db.commit()

    async def record_checkin_consent(
        self, platform: str, member_id: str, policy: str, intro_hash: str, at: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO checkin_consents (platform, member_id, policy, intro_hash, agreed_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT (platform, member_id, policy) DO UPDATE SET"
            " intro_hash = excluded.intro_hash, agreed_at = excluded.agreed_at",
            (platform, member_id, policy, intro_hash, _iso(at)),
        )
        await self._db.commit()

    async def start_checkin(
        self, platform: str, member_id: str, policy: str, at: datetime
    ) -> Checkin:
        checkin_id = await self._insert_id(
            "INSERT INTO checkins (platform, member_id, policy, started_at, updated_at)"
            " VALUES (?,?,?,?,?)",
            (platform, member_id, policy, _iso(at), _iso(at)),
        )
        await self._db.commit()
        found = await self.checkin(checkin_id)
        assert found is not None
        return found

    async def checkin(self, checkin_id: int) -> Checkin | None:
        found = await self._checkins_where("id = ?", (checkin_id,))
        return found[0] if found else None

    async def open_checkin(self, platform: str, member_id: str) -> Checkin | None:
        found = await self._checkins_where(
            "platform = ? AND member_id = ? AND status = 'open'", (platform, member_id)
        )
        return found[0] if found else None

    async def open_checkins(self) -> list[Checkin]:
        return await self._checkins_where("status = 'open'", ())

    async def member_checkins(self, platform: str, member_id: str, limit: int) -> list[Checkin]:
        """Newest first."""
        return await self._checkins_where(
            "platform = ? AND member_id = ?", (platform, member_id), limit
        )

    async def checkins_of_policies(self, policies: Sequence[str]) -> list[Checkin]:
        if not policies:  # ``IN ()`` is SQLite's; PostgreSQL refuses it
            return []
        marks = ",".join("?" * len(policies))
        return await self._checkins_where(f"policy IN ({marks})", tuple(policies), 100_000)

    async def save_answer(
        self,
        checkin_id: int,
        question_id: str,
        sealed: bytes | None,
        at: datetime,
        next_step: int,
    ) -> None:
        """One answer (``sealed`` None: skipped) and the step after it, in one commit, so a
        crash never loses an answer nor asks a question twice."""
        await self._db.execute(
            "INSERT INTO checkin_answers (checkin_id, question_id, skipped, sealed, answered_at)"
            " VALUES (?,?,?,?,?) ON CONFLICT (checkin_id, question_id) DO UPDATE SET"
            " skipped = excluded.skipped, sealed = excluded.sealed,"
            " answered_at = excluded.answered_at",
            (checkin_id, question_id, int(sealed is None), sealed, _iso(at)),
        )
        await self._db.execute(
            "UPDATE checkins SET step = ?, updated_at = ? WHERE id = ?",
            (next_step, _iso(at), checkin_id),
        )
        await self._db.commit()

    async def update_checkin(
        self,
        checkin_id: int,
        at: datetime,
        *,
        awaiting: str | None = None,
        crisis_shown: bool | None = None,
        asked_contact: bool | None = None,
    ) -> None:
        await self._db.execute(
            "UPDATE checkins SET updated_at = ?, awaiting = COALESCE(?, awaiting),"
            " crisis_shown = COALESCE(?, crisis_shown),"
            " asked_contact = COALESCE(?, asked_contact) WHERE id = ?",
            (
                _iso(at),
                awaiting,
                None if crisis_shown is None else int(crisis_shown),
                None if asked_contact is None else int(asked_contact),
                checkin_id,
            ),
        )
        await self._db.commit()

    async def end_checkin(self, checkin_id: int, status: str, at: datetime) -> bool:
        """Close an open check-in; False when it was closed already (by a timeout, say)."""
        cur = await self._db.execute(
            "UPDATE checkins SET status = ?, ended_at = ?, updated_at = ? WHERE id = ?"
            " AND status = 'open'",
            (status, _iso(at), _iso(at), checkin_id),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def checkin_answers(self, checkin_id: int) -> list[SealedAnswer]:
        async with self._db.execute(
            "SELECT question_id, skipped, sealed, answered_at FROM checkin_answers"
            f" WHERE checkin_id = ? ORDER BY answered_at, {self._INSERTED}",
            (checkin_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            SealedAnswer(str(q), bool(k), None if b is None else bytes(b),
                         datetime.fromisoformat(str(t)))
            for q, k, b, t in rows
        ]

    async def purge_checkins(self, policy: str, before: datetime) -> int:
        """Retention: check-ins started before ``before`` go, with their answers."""
        cur = await self._db.execute(
            "DELETE FROM checkins WHERE policy = ? AND started_at < ? AND status != 'open'",
            (policy, _iso(before)),
        )
        await self._db.commit()
        return cur.rowcount

    async def _checkins_where(
        self, where: str, params: tuple[object, ...], limit: int = 1000
    ) -> list[Checkin]:
        async with self._db.execute(
            "SELECT id, platform, member_id, policy, status, step, awaiting, crisis_shown,"
            " asked_contact, started_at, updated_at, ended_at FROM checkins"
            f" WHERE {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [
            Checkin(
                int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]), str(r[6]),
                bool(r[7]), bool(r[8]), datetime.fromisoformat(str(r[9])),
                datetime.fromisoformat(str(r[10])),
                None if r[11] is None else datetime.fromisoformat(str(r[11])),
            )
            for r in rows
        ]

    # -- recurring check-in schedules ---------------------------------------------------
    async def save_checkin_schedule(self, schedule: CheckinSchedule) -> None:
        """Set (or replace) the member's one schedule; a replaced one starts afresh."""
        s = schedule
        await self._db.execute(
            "INSERT INTO checkin_schedules (platform, member_id, policy, days, local_time, zone,"
            " paused, snoozed_until, last_fired, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (platform, member_id) DO UPDATE SET policy = excluded.policy,"
            " days = excluded.days, local_time = excluded.local_time, zone = excluded.zone,"
            " paused = excluded.paused, snoozed_until = excluded.snoozed_until,"
            " last_fired = excluded.last_fired, created_at = excluded.created_at",
            (
                s.platform, s.member_id, s.policy, ",".join(str(d) for d in sorted(s.days)),
                s.local_time, s.zone, int(s.paused), _opt_iso(s.snoozed_until),
                _opt_iso(s.last_fired), _iso(s.created_at),
            ),
        )
        await self._db.commit()

    async def checkin_schedule(self, platform: str, member_id: str) -> CheckinSchedule | None:
        found = await self._schedules_where(
            "platform = ? AND member_id = ?", (platform, member_id)
        )
        return found[0] if found else None

    async def checkin_schedules(self) -> list[CheckinSchedule]:
        return await self._schedules_where("1 = 1", ())

    async def update_checkin_schedule(
        self,
        platform: str,
        member_id: str,
        *,
        paused: bool | None = None,
        snoozed_until: datetime | None = None,
        clear_snooze: bool = False,
        last_fired: datetime | None = None,
    ) -> bool:
        """Change one schedule; False when the member has none."""
        cur = await self._db.execute(
            "UPDATE checkin_schedules SET paused = COALESCE(?, paused),"
            " snoozed_until = CASE WHEN ? = 1 THEN NULL ELSE COALESCE(?, snoozed_until) END,"
            " last_fired = COALESCE(?, last_fired) WHERE platform = ? AND member_id = ?",
            (
                None if paused is None else int(paused), int(clear_snooze),
                _opt_iso(snoozed_until), _opt_iso(last_fired), platform, member_id,
            ),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def delete_checkin_schedule(self, platform: str, member_id: str) -> bool:
        cur = await self._db.execute(
            "DELETE FROM checkin_schedules WHERE platform = ? AND member_id = ?",
            (platform, member_id),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def _schedules_where(
        self, where: str, params: tuple[object, ...]
    ) -> list[CheckinSchedule]:
        async with self._db.execute(
            "SELECT platform, member_id, policy, days, local_time, zone, paused, snoozed_until,"
            f" last_fired, created_at FROM checkin_schedules WHERE {where}"
            " ORDER BY platform, member_id",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [
            CheckinSchedule(
                str(r[0]), str(r[1]), str(r[2]),
                frozenset(int(d) for d in str(r[3]).split(",") if d), str(r[4]), str(r[5]),
                bool(r[6]), _opt_dt(r[7]), _opt_dt(r[8]), datetime.fromisoformat(str(r[9])),
            )
            for r in rows
        ]

    # -- escalations to peer supporters ------------------------------------------------
    async def add_escalation(
        self,
        checkin_id: int | None,
        platform: str,
        member_id: str,
        policy: str,
        reason: str,
        shared: bool,
        at: datetime,
    ) -> int:
        escalation_id = await self._insert_id(
            "INSERT INTO checkin_escalations (checkin_id, platform, member_id, policy, reason,"
            " shared, created_at) VALUES (?,?,?,?,?,?,?)",
            (checkin_id, platform, member_id, policy, reason, int(shared), _iso(at)),
        )
        await self._db.commit()
        return escalation_id

    async def escalation(self, escalation_id: int) -> Escalation | None:
        found = await self._escalations_where("id = ?", (escalation_id,))
        return found[0] if found else None

    async def member_escalations(self, platform: str, member_id: str) -> list[Escalation]:
        return await self._escalations_where(
            "platform = ? AND member_id = ?", (platform, member_id)
        )

    async def escalations_of_policies(self, policies: Sequence[str]) -> list[Escalation]:
        if not policies:
            return []
        marks = ",".join("?" * len(policies))
        return await self._escalations_where(f"policy IN ({marks})", tuple(policies))

    async def claim_escalation(self, escalation_id: int, by: str, at: datetime) -> bool:
        """Exactly one supporter wins: the UPDATE only matches while nobody has claimed."""
        cur = await self._db.execute(
            "UPDATE checkin_escalations SET claimed_by = ?, claimed_at = ? WHERE id = ?"
            " AND claimed_by IS NULL",
            (by, _iso(at), escalation_id),
        )
        await self._db.commit()
        return cur.rowcount == 1

    async def _escalations_where(
        self, where: str, params: tuple[object, ...]
    ) -> list[Escalation]:
        async with self._db.execute(
            "SELECT id, checkin_id, platform, member_id, policy, reason, shared, created_at,"
            f" claimed_by FROM checkin_escalations WHERE {where} ORDER BY id",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [
            Escalation(
                int(r[0]), None if r[1] is None else int(r[1]), str(r[2]), str(r[3]),
                str(r[4]), str(r[5]), bool(r[6]), datetime.fromisoformat(str(r[7])), r[8],
            )
            for r in rows
        ]

    # -- members' reports to moderators ------------------------------------------------
    async def add_member_report(
        self,
        platform: str,
        policy: str,
        member_key: bytes,
        named: bool,
        at: datetime,
        seal: Callable[[int], bytes],
        room_id: str | None = None,
    ) -> int:
        """A new report; ``seal`` seals the member for the row's own id, known only once
        the row exists, so the sealed id is written in the same transaction."""
        try:
            report_id = await self._insert_id(
                "INSERT INTO member_reports (platform, policy, member_key, member_sealed, named,"
                " made_at, room_id) VALUES (?,?,?,?,?,?,?)",
                (platform, policy, member_key, b"", int(named), _iso(at), room_id),
            )
            await self._db.execute(
                "UPDATE member_reports SET member_sealed = ? WHERE id = ?",
                (seal(report_id), report_id),
            )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return report_id

    async def member_report(self, report_id: int) -> MemberReport | None:
        found = await self._member_reports_where("id = ?", (report_id,))
        return found[0] if found else None

    async def member_reports_of(self, member_key: bytes) -> list[MemberReport]:
        return await self._member_reports_where("member_key = ?", (member_key,))

    async def count_member_reports_since(self, member_key: bytes, since: datetime) -> int:
        async with self._db.execute(
            "SELECT COUNT(*) FROM member_reports WHERE member_key = ? AND made_at >= ?",
            (member_key, _iso(since)),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def oldest_member_report_since(
        self, member_key: bytes, since: datetime
    ) -> datetime | None:
        """When the oldest report in the window was made (the limit frees up after it)."""
        async with self._db.execute(
            "SELECT MIN(made_at) FROM member_reports WHERE member_key = ? AND made_at >= ?",
            (member_key, _iso(since)),
        ) as cur:
            row = await cur.fetchone()
        return _opt_dt(row[0]) if row else None

    async def member_report_answered(self, report_id: int, at: datetime) -> None:
        await self._db.execute(
            "UPDATE member_reports SET answered_at = ?, answers = answers + 1 WHERE id = ?",
            (_iso(at), report_id),
        )
        await self._db.commit()

    async def erase_member_reports(self, member_key: bytes) -> int:
        cur = await self._db.execute(
            "DELETE FROM member_reports WHERE member_key = ?", (member_key,)
        )
        await self._db.commit()
        return cur.rowcount

    async def _member_reports_where(
        self, where: str, params: tuple[object, ...]
    ) -> list[MemberReport]:
        async with self._db.execute(
            "SELECT id, platform, policy, member_key, member_sealed, named, made_at,"
            f" answered_at, answers, room_id FROM member_reports WHERE {where} ORDER BY id",
            params,
        ) as cur:
            rows = await cur.fetchall()
        return [
            MemberReport(
                int(r[0]), str(r[1]), str(r[2]), bytes(r[3]), bytes(r[4]), bool(r[5]),
                datetime.fromisoformat(str(r[6])), _opt_dt(r[7]), int(r[8]),
                None if r[9] is None else str(r[9]),
            )
            for r in rows
        ]

    # -- a member's data: export and erase ---------------------------------------------
    async def member_records(self, platform: str, member_id: str) -> dict[str, list[dict]]:  # type: ignore[type-arg]
        """Every plain row that names the member (check-ins are exported by the caller,
        which can unseal them)."""
        queries = {
            "memberships": (
                "SELECT room_id, joined_at, left_at FROM memberships"
                " WHERE platform = ? AND member_id = ?"
            ),
            "room_presence": (
                "SELECT room_id FROM room_presence WHERE platform = ? AND member_id = ?"
            ),
            "room_access": (
                "SELECT room_id, room_name, policy, granted_at, ended_at FROM room_access"
                " WHERE platform = ? AND member_id = ?"
            ),
            "reminders": (
                "SELECT room_id, room_name, policy, text_hash, created_at, delivered_at, channel"
                " FROM reminders WHERE platform = ? AND member_id = ?"
            ),
            "agreements": (
                "SELECT policy, text_hash, agreed_at FROM agreements"
                " WHERE platform = ? AND member_id = ?"
            ),
            "checkin_consents": (
                "SELECT policy, intro_hash, agreed_at FROM checkin_consents"
                " WHERE platform = ? AND member_id = ?"
            ),
            "checkin_consent_asked": (
                "SELECT policy, asked_at FROM checkin_consent_asked"
                " WHERE platform = ? AND member_id = ?"
            ),
            "checkin_schedules": (
                "SELECT policy, days, local_time, zone, paused, snoozed_until, last_fired,"
                " created_at FROM checkin_schedules WHERE platform = ? AND member_id = ?"
            ),
            "leak_flags_as_poster": (
                "SELECT id FROM leak_flags WHERE platform = ? AND poster_id = ?"
            ),
            "audit_log": (
                "SELECT at, action, detail, policy FROM audit_log"
                " WHERE platform = ? AND actor_id = ?"
            ),
            "repeat_actions": (
                "SELECT id, policy, kind, status, until, created_at FROM repeat_actions"
                " WHERE platform = ? AND member_id = ?"
            ),
        }
        found: dict[str, list[dict]] = {}  # type: ignore[type-arg]
        for name, sql in queries.items():
            async with self._db.execute(sql + " ORDER BY 1", (platform, member_id)) as cur:
                columns = [d[0] for d in cur.description]
                found[name] = [dict(zip(columns, row, strict=True)) for row in await cur.fetchall()]
        return found

    async def erase_member(self, platform: str, member_id: str) -> dict[str, int]:
        """Everything that names the member, in one transaction. Leak flags about a copy
        they posted stay for the moderators with the poster blanked; rows they wrote as a
        moderator or supporter keep the action but not their name."""
        gone = "(erased)"
        statements = {
            "checkins": "DELETE FROM checkins WHERE platform = ? AND member_id = ?",
            "checkin_escalations": (
                "DELETE FROM checkin_escalations WHERE platform = ? AND member_id = ?"
            ),
            "checkin_consents": "DELETE FROM checkin_consents WHERE platform = ? AND member_id = ?",
            "checkin_consent_asked": (
                "DELETE FROM checkin_consent_asked WHERE platform = ? AND member_id = ?"
            ),
            "checkin_schedules": (
                "DELETE FROM checkin_schedules WHERE platform = ? AND member_id = ?"
            ),
            "memberships": "DELETE FROM memberships WHERE platform = ? AND member_id = ?",
            "room_presence": "DELETE FROM room_presence WHERE platform = ? AND member_id = ?",
            "reminders": "DELETE FROM reminders WHERE platform = ? AND member_id = ?",
            "agreements": "DELETE FROM agreements WHERE platform = ? AND member_id = ?",
            "room_access": "DELETE FROM room_access WHERE platform = ? AND member_id = ?",
            "audit_log": "DELETE FROM audit_log WHERE platform = ? AND actor_id = ?",
            "held_copies": (
                "DELETE FROM held_copies WHERE flag_id IN"
                " (SELECT id FROM leak_flags WHERE platform = ? AND poster_id = ?)"
            ),
            "leak_flags": (
                f"UPDATE leak_flags SET poster_id = '{gone}' WHERE platform = ? AND poster_id = ?"
            ),
            # A timeout still running keeps the id its restoration needs; the rest go.
            "repeat_actions": (
                "DELETE FROM repeat_actions WHERE platform = ? AND member_id = ?"
                " AND NOT (status = 'done' AND kind = 'timeout')"
            ),
        }
        counts: dict[str, int] = {}
        try:
            for name, sql in statements.items():
                cur = await self._db.execute(sql, (platform, member_id))
                counts[name] = cur.rowcount
            await self._db.execute(
                f"UPDATE checkin_escalations SET claimed_by = '{gone}' WHERE claimed_by = ?",
                (f"{platform}:{member_id}",),
            )
            await self._db.execute(
                f"UPDATE leak_flags SET closed_by = '{gone}' WHERE closed_by = ?",
                (f"{platform}:{member_id}",),
            )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return counts

    # -- audit ------------------------------------------------------------------------
    async def audit(
        self,
        platform: str,
        actor_id: str,
        action: str,
        detail: str,
        at: datetime,
        policy: str | None = None,
    ) -> None:
        """``policy`` is the community the action concerned; None for a member's own data
        rights, which no moderator may read in /audit."""
        await self._db.execute(
            "INSERT INTO audit_log (at, platform, actor_id, action, detail, policy)"
            " VALUES (?,?,?,?,?,?)",
            (_iso(at), platform, actor_id, action, detail, policy),
        )
        await self._db.commit()

    async def audit_entries(
        self, limit: int = 50, policies: Iterable[str] | None = None
    ) -> list[AuditEntry]:
        """Newest first. With ``policies``, only entries recorded for one of them: a
        moderator's view, so entries of no policy (data rights, rows older than the column)
        are never in it. Without, the whole log: the admin's view (``confidant audit``)."""
        where = ""
        params: tuple[str, ...] = ()
        if policies is not None:
            names = tuple(dict.fromkeys(policies))
            if not names:
                return []
            where = f" WHERE policy IN ({','.join('?' * len(names))})"
            params = names
        async with self._db.execute(
            "SELECT at, platform, actor_id, action, detail, policy FROM audit_log"
            f"{where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ) as cur:
            return [
                AuditEntry(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), r[5])
                for r in await cur.fetchall()
            ]


class SqliteStore(SqlStore):
    """The embedded default: one file, one connection. Open with :meth:`open`."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        super().__init__(db)
        self.path = path

    @classmethod
    async def open(cls, path: Path, now: datetime) -> SqliteStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        new_file = not path.exists()
        db = await aiosqlite.connect(path)
        if new_file:
            os.chmod(path, 0o600)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=FULL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            await apply_migrations(db, packaged_migrations(), _iso(now))
        except BaseException:
            await db.close()
            raise
        return cls(db, path)

    async def close(self) -> None:
        await self._db.close()

    async def index_groups(
        self, scheme: str, rows: int = _INDEX_ROWS
    ) -> AsyncIterator[list[IndexGroup]]:
        """The fingerprints of ``scheme`` for the in-memory index, ``rows`` rows at a time in
        the order they were written, each chunk grouped by room, day and author.

        Why not one list of rows: a million rows at once cost hundreds of MB of short-lived
        objects, most of which the process kept after they were freed. Each chunk is its own
        short query that resumes after the last row it saw, so no read stays open across an
        await, and SQLite groups the chunk, so Python builds one tuple per room, day and
        author (about one per message) instead of one per row, and the only per-row objects
        are the fingerprint ints the index keeps anyway. A group cut by a chunk boundary
        comes in two parts.
        """
        after = 0
        while True:
            async with self._db.execute(
                "SELECT room_key, day, author, group_concat(fingerprint), max(position)"
                " FROM (SELECT fingerprint, room_key, day, author, rowid AS position"
                "       FROM fingerprints WHERE scheme = ? AND rowid > ?"
                "       ORDER BY rowid LIMIT ?)"
                " GROUP BY room_key, day, author",
                (scheme, after, rows),
            ) as cur:
                found = await cur.fetchall()
            if not found:
                return
            after = max(row[4] for row in found)
            yield [
                (str(room), int(day), bytes(author), frozenset(map(int, str(values).split(","))))
                for room, day, author, values, _ in found
            ]

    async def table_names(self) -> list[str]:
        async with self._db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ) as cur:
            return [str(row[0]) for row in await cur.fetchall()]


Store = SqliteStore
"""The name callers used before the protocol existed (``bot.store.Store`` is the protocol
now; ``bot.store.open_store`` opens whichever backend the configuration names)."""


_RULES_COLUMNS = (
    "platform, room_id, policy, room_name, content_hash, post_key, message_id,"
    " posted_at IS NOT NULL"
)


def _rules_row(row: aiosqlite.Row | tuple) -> RulesMessage:  # type: ignore[type-arg]
    return RulesMessage(
        platform=str(row[0]),
        room_id=str(row[1]),
        policy=str(row[2]),
        room_name=row[3],
        content_hash=str(row[4]),
        post_key=str(row[5]),
        message_id=None if row[6] is None else str(row[6]),
        posted=bool(row[7]),
    )


_FLAG_COLUMNS = (
    "id, platform, room_id, room_name, message_id, source_platform, source_room_id,"
    " source_room_name, policy, signal, matched, whole_message, poster_id, status, copy_state,"
    " created_at, updated_at, closed_by"
)


def _flag_row(row: aiosqlite.Row | tuple) -> LeakFlag:  # type: ignore[type-arg]
    return LeakFlag(
        id=int(row[0]),
        platform=str(row[1]),
        room_id=str(row[2]),
        room_name=row[3],
        message_id=str(row[4]),
        source_platform=str(row[5]),
        source_room_id=str(row[6]),
        source_room_name=row[7],
        policy=str(row[8]),
        signal=str(row[9]),
        matched=int(row[10]),
        whole_message=bool(row[11]),
        poster_id=str(row[12]),
        status=str(row[13]),
        copy_state=str(row[14]),
        created_at=datetime.fromisoformat(str(row[15])),
        updated_at=datetime.fromisoformat(str(row[16])),
        closed_by=row[17],
    )


def _new_fingerprint(row: Sequence[object]) -> NewFingerprint:
    position, value, scheme, room, day, author = row
    return (int(position), int(value), str(scheme), str(room), int(day),  # type: ignore[call-overload]
            bytes(author))  # type: ignore[call-overload]


def _room_state(row: aiosqlite.Row | tuple) -> RoomState:  # type: ignore[type-arg]
    return RoomState(
        platform=str(row[0]),
        room_id=str(row[1]),
        policy=str(row[2]),
        room_name=row[3],
        messages_since=int(row[4]),
        last_reminded_at=datetime.fromisoformat(str(row[5])),
    )
