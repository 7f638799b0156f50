"""Moderator alerts are kept until delivered: a room the bot cannot reach yet delays them.

An alert is how moderators learn that a room is not protected, that something may have
leaked, that a member asked for help. Losing one because its room was not joined yet (the
bot invited to the circle before the moderators' room), a rate limit, an outage or a crash
mid-send is the worst way to fail quietly. So every alert is written here before it goes
out (like reminders), tried again with growing pauses while it cannot be delivered, sent
again after a restart if a crash cut it off, and marked once its platform took it. A resend
carries the same key, which the adapters hand to their platform to drop a repeat (Matrix
transaction id, Discord nonce), so a moderator sees it once.

An alert never quotes a confidential room, but a contact request carries the check-in
answers a member chose to share with the supporters, and a report the reporter's words. So
the stored alert is sealed (AES-GCM under a key derived from the deployment key, as check-in
answers are), and one carrying a member's words names them only by a keyed hash, by which
their erase request removes it.

Depends only on a store of alert rows, a clock and the deployment key (no ``Core``).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.actions import AlertModerators
from bot.checkins.sealing import SealBroken, Sealer
from bot.clock import Clock
from bot.events import Member, MessageRef
from bot.i18n import current
from bot.leaks import author_key
from bot.logs import fields
from bot.store.alert_rows import OwedAlert

log = logging.getLogger("confidant.alerts")

LEASE = timedelta(minutes=10)
"""How long a send under way has before the outbox offers the alert again."""
PAUSES = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
"""Between failed attempts; the last one repeats until :data:`GIVE_UP_AFTER`."""
GIVE_UP_AFTER = timedelta(days=2)
"""An alert older than this is not sent any more (logged as an error): news that old is
misleading, and the moderators have heard of the room's trouble through /healthz and logs."""
KEPT = timedelta(days=7)
"""Delivered or given-up rows are purged after this."""


class AlertStore(Protocol):
    async def add_alert(
        self,
        key: str,
        platform: str,
        alert: bytes,
        member_key: bytes | None,
        at: datetime,
        lease_until: datetime,
    ) -> bool: ...
    async def alert_delivered(self, key: str, at: datetime) -> bool: ...
    async def alert_next_at(self, key: str, next_at: datetime, failed: bool) -> None: ...
    async def alert_row(self, key: str) -> OwedAlert | None: ...
    async def alert_given_up(self, key: str, at: datetime) -> None: ...
    async def owed_alerts(self, due_by: datetime | None = None) -> list[OwedAlert]: ...
    async def purge_alerts(self, before: datetime) -> int: ...
    async def erase_member_alerts(self, member_key: bytes) -> int: ...
    async def claim_alert(self, key: str, now: datetime, until: datetime) -> bool: ...


PURPOSE = "moderator-alert"
"""The sealing's associated data, with the alert's key: a sealed check-in answer or held copy
never opens as an alert, nor an alert moved to another row."""


def _ref(ref: MessageRef | None) -> dict[str, str | None] | None:
    if ref is None:
        return None
    return {
        "platform": ref.platform,
        "room_id": ref.room_id,
        "message_id": ref.message_id,
        "parent_id": ref.parent_id,
    }


def _unref(data: dict[str, str | None] | None) -> MessageRef | None:
    if data is None:
        return None
    return MessageRef(
        str(data["platform"]), str(data["room_id"]), data.get("message_id"), data.get("parent_id")
    )


def to_json(alert: AlertModerators) -> str:
    return json.dumps(
        {
            "room_selector": alert.room_selector,
            "text": alert.text,
            "about": _ref(alert.about),
            "source_room": _ref(alert.source_room),
            "about_label": alert.about_label,
            "language": alert.language,
            "earlier_parts": [_ref(part) for part in alert.earlier_parts],
            "concerns": None
            if alert.concerns is None
            else [alert.concerns.platform, alert.concerns.id],
        },
        sort_keys=True,
    )


def from_json(row: OwedAlert, text: str) -> AlertModerators:
    data = json.loads(text)
    concerns = data.get("concerns")
    return AlertModerators(
        row.platform,
        data["room_selector"],
        data["text"],
        about=_unref(data["about"]),
        source_room=_unref(data["source_room"]),
        about_label=data["about_label"],
        earlier_parts=tuple(p for p in map(_unref, data["earlier_parts"]) if p is not None),
        idempotency_key=row.key,
        concerns=None if concerns is None else Member(concerns[0], concerns[1]),
        language=data.get("language") or current(),  # rows written before: the deployment's
    )


class AlertOutbox:
    def __init__(self, store: AlertStore, clock: Clock, key: bytes | None) -> None:
        self.store = store
        self.clock = clock
        self._key = key
        self._sealer = Sealer(key) if key is not None else None

    def _seal(self, key: str, text: str) -> bytes:
        if self._sealer is None:  # no deployment key: no check-ins, no reports, plain words
            return text.encode()
        return self._sealer.seal(0, f"{PURPOSE}/{key}", text)

    def _open(self, row: OwedAlert) -> AlertModerators | None:
        if self._sealer is None:
            return from_json(row, row.alert.decode())
        try:
            opened = self._sealer.open(0, f"{PURPOSE}/{row.key}", row.alert)
        except SealBroken:  # another key file: it cannot be sent; say so once, drop it
            log.error("an owed moderator alert does not open with this key file; dropped")
            return None
        return from_json(row, str(opened))

    def _member_key(self, member: Member | None) -> bytes | None:
        if member is None or self._key is None:
            return None
        return author_key(self._key, member.platform, member.id)

    async def _opened(self, rows: list[OwedAlert]) -> list[AlertModerators]:
        alerts = []
        for row in rows:
            alert = self._open(row)
            if alert is None:
                await self.store.alert_given_up(row.key, self.clock.now())
            else:
                alerts.append(alert)
        return alerts

    async def erase(self, member: Member) -> int:
        """The member's erase request: owed alerts carrying their words or answers."""
        member_key = self._member_key(member)
        return await self.store.erase_member_alerts(member_key) if member_key else 0

    async def queued(self, alert: AlertModerators) -> AlertModerators:
        """The alert as it goes out: recorded (once) under its key."""
        if alert.idempotency_key is not None:
            return alert  # from the outbox already
        now = self.clock.now()
        key = f"alert-{uuid.uuid4().hex}"
        await self.store.add_alert(
            key,
            alert.platform,
            self._seal(key, to_json(alert)),
            self._member_key(alert.concerns),
            now,
            now + LEASE,
        )
        return replace(alert, idempotency_key=key)

    async def delivered(self, alert: AlertModerators) -> None:
        if alert.idempotency_key is not None:
            await self.store.alert_delivered(alert.idempotency_key, self.clock.now())

    async def not_now(self, alert: AlertModerators) -> None:
        """Tried and not delivered: again after a pause, or given up when it is too old."""
        key = alert.idempotency_key
        row = await self.store.alert_row(key) if key is not None else None
        if key is None or row is None:
            return
        now = self.clock.now()
        attempts = row.attempts + 1
        if now - row.created_at >= GIVE_UP_AFTER:
            await self.store.alert_given_up(key, now)
            log.error(
                "a moderator alert could not be delivered in %s and is dropped",
                GIVE_UP_AFTER,
                extra=fields("alert_given_up", platform=alert.platform, attempts=attempts),
            )
            return
        pause = PAUSES[min(attempts, len(PAUSES)) - 1]
        await self.store.alert_next_at(key, now + pause, failed=True)
        log.warning(
            "a moderator alert is not delivered yet; trying again in %s",
            pause,
            extra=fields("alert_not_delivered", platform=alert.platform, attempts=attempts),
        )

    async def dropped(self, alert: AlertModerators) -> None:
        """Not to be sent at all (its platform is not run here)."""
        if alert.idempotency_key is not None:
            await self.store.alert_given_up(alert.idempotency_key, self.clock.now())

    async def due(
        self, mine: Callable[[str], Awaitable[bool]] | None = None, purge: bool = True
    ) -> list[AlertModerators]:
        """Alerts whose pause is over (the tick sends them again), purging old rows. With
        several processes (bot/jobs.py): those of the platforms that are this process's
        (``mine``), the purge where ``purge``; each alert is claimed, so one process sends it."""
        now = self.clock.now()
        if purge:
            await self.store.purge_alerts(now - KEPT)
        claimed = []
        for row in await self.store.owed_alerts(due_by=now):
            if mine is not None and not await mine(row.platform):
                continue
            if await self.store.claim_alert(row.key, now, now + LEASE):  # leased to this send
                claimed.append(row)
        return await self._opened(claimed)

    async def owed_at_start(self) -> list[AlertModerators]:
        """Every alert not delivered when the last run ended, whatever its pause: a crash
        may have cut a send off, and the key makes a resend of a delivered one harmless."""
        return await self._opened(await self.store.owed_alerts())

    async def waiting_since(self) -> datetime | None:
        """When the oldest alert still owed was raised (for /healthz)."""
        rows = await self.store.owed_alerts()
        return rows[0].created_at if rows else None
