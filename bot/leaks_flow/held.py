"""Copies taken down for review, kept sealed so one moderator can read one once.

``hold_for_review`` takes a suspected copy down before anyone has judged it; a moderator
who cannot see what was removed can only guess. So the removed text is sealed with the
check-in answers' sealing (AES-GCM under a key derived from the deployment key, never
stored in the database) and kept for at most the policy's ``review_hours``. It is opened
only by ``/flag show`` for a moderator of the source room's policy, and removed in the same
step; closing the flag or the end of the review time removes it unread. Nothing else reads
it: not alerts, logs, exports or the flag list.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.checkins.sealing import SealBroken, Sealer
from bot.policy.model import Policy
from bot.store.sqlite import Store

log = logging.getLogger("confidant.leaks")

# The associated data's second part: a check-in question id is [a-z][a-z0-9_]*, so no
# sealed answer opens as a held copy (or the other way round), though they share the key.
PURPOSE = "held-copy"


class HeldCopies:
    def __init__(self, store: Store, key: bytes) -> None:
        self._store = store
        self._sealer = Sealer(key)

    async def keep(self, flag_id: int, text: str, policy: Policy, now: datetime) -> None:
        until = now + timedelta(hours=policy.leaks.review_hours)
        await self._store.hold_copy(flag_id, self._sealer.seal(flag_id, PURPOSE, text), until)

    async def take(self, flag_id: int, now: datetime) -> str | None:
        """The copy's text, gone from the store once this returns; None if there is none
        (read before, flag closed, time up) or it does not open (another key file)."""
        sealed = await self._store.take_held_copy(flag_id, now)
        if sealed is None:
            return None
        try:
            text = self._sealer.open(flag_id, PURPOSE, sealed)
        except SealBroken:
            log.warning("the held copy of flag %d did not open (another key file?)", flag_id)
            return None
        return str(text)

    async def drop(self, flag_id: int) -> bool:
        return await self._store.drop_held_copy(flag_id)

    async def purge(self, now: datetime) -> int:
        removed = await self._store.purge_held_copies(now)
        if removed:
            log.info("%d held copies reached the end of their review time, unread", removed)
        return removed
