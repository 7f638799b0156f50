"""Join bursts: newcomers see the room's reminder within seconds while private ones queue.

Why: a private reminder costs a platform several writes (on Matrix: an invite, a room key,
an encrypted message), so when hundreds join at once the last one waited minutes. When the
adapter says its private-message queue is deeper than the policy's ``burst.queue_over`` (or
the platform is rate-limiting the bot), the join is part of a burst: the room gets one
reminder at most every ``burst.room_every_seconds``, naming (and notifying) every newcomer
waiting for theirs, and their private reminders go on in the background instead of holding
up the next joins, unless ``burst.room_is_enough`` says the room reminder is their reminder.
The gate (``gate: post``) holds them back until they agree, as for any newcomer.

Platform-free: the queue depth arrives with the join event (``MemberJoined.private_backlog``);
which newcomers wait and when each room last had a burst reminder live here, in memory (a
restart resends what the outbox still holds, privately).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import read_gate, texts
from bot.actions import Action, PostToRoom, SendPrivate
from bot.events import Member, MemberJoined, Room
from bot.mentions import member_token
from bot.policy import Policy
from bot.policy.model import BurstSpec

if TYPE_CHECKING:
    from bot.core import Core

# One room reminder names at most this many newcomers; the rest are named in the next one.
MAX_NAMED = 50
CHANNEL = "room_burst"  # how a reminder the room reminder stands for is recorded as delivered


def in_burst(event: MemberJoined, spec: BurstSpec) -> bool:
    return event.rate_limited or event.private_backlog > spec.queue_over


@dataclass
class _Waiting:
    room: Room
    policy: str
    members: list[Member] = field(default_factory=list)
    last_post: datetime | None = None


@dataclass
class Bursts:
    """Per room: the newcomers waiting to be named, and when the room was last reminded."""

    _rooms: dict[tuple[str, str], _Waiting] = field(default_factory=dict)
    # (platform, room, member) → the reminder's outbox key: delivered when named, if the
    # policy says the room reminder is enough
    _keys: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # (platform, room, member) named in a room reminder during a burst (this run): the
    # fallback for a private reminder left unread does not name them in the room again
    reminded_in_room: set[tuple[str, str, str]] = field(default_factory=set)

    def named_in(self, room: Room, member: Member) -> bool:
        return (room.platform, room.id, member.id) in self.reminded_in_room

    def waiting(self) -> bool:
        return any(entry.members for entry in self._rooms.values())

    def add(self, room: Room, member: Member, policy: str, key: str | None) -> None:
        entry = self._rooms.setdefault((room.platform, room.id), _Waiting(room, policy))
        entry.policy = policy
        if member not in entry.members:
            entry.members.append(member)
        if key is not None:
            self._keys[(room.platform, room.id, member.id)] = key

    def due(
        self, now: datetime, spec_of: Callable[[str], BurstSpec | None]
    ) -> list[tuple[Room, str, list[Member]]]:
        """Rooms whose reminder is due now, with the newcomers to name (taken off the list)."""
        found = []
        for entry in self._rooms.values():
            if not entry.members:
                continue
            spec = spec_of(entry.policy)
            if spec is None:  # the policy is gone: nothing to name them in
                entry.members.clear()
                continue
            every = timedelta(seconds=spec.room_every_seconds)
            if entry.last_post is not None and now - entry.last_post < every:
                continue
            named = entry.members[:MAX_NAMED]
            del entry.members[:MAX_NAMED]
            entry.last_post = now
            for member in named:
                self.reminded_in_room.add((entry.room.platform, entry.room.id, member.id))
            found.append((entry.room, entry.policy, named))
        return found

    def key_of(self, room: Room, member: Member) -> str | None:
        return self._keys.pop((room.platform, room.id, member.id), None)


def during_burst(
    core: Core, event: MemberJoined, policy: Policy, reminder: list[Action]
) -> list[Action]:
    """The newcomer's reminder actions as a burst changes them: their private reminder in
    the background (or none, if the room reminder is enough), their own room mention left
    out (the burst's room reminder names them), and the room reminder if one is due."""
    spec = policy.reminder.burst
    if (
        not reminder
        or not in_burst(event, spec)
        or read_gate.is_read_gated(policy)  # they cannot read the room: no room reminder
        or policy.reminder.delivery not in {"private", "both"}
    ):
        return reminder
    room, member = event.room, event.member
    kept: list[Action] = []
    key = None
    for action in reminder:
        if isinstance(action, SendPrivate) and action.member == member:
            key = action.idempotency_key
            if not spec.room_is_enough:
                kept.append(dataclasses.replace(action, background=True))
        elif not (isinstance(action, PostToRoom) and action.mention == member):
            kept.append(action)
    core.burst_waits.add(room, member, policy.name, key)
    return [*room_reminders(core), *kept]


def room_reminders(core: Core) -> list[Action]:
    """The burst room reminders due now (called on every burst join and every second)."""

    def spec_of(name: str) -> BurstSpec | None:
        policy = core.policies.current.by_name(name)
        return None if policy is None else policy.reminder.burst

    actions: list[Action] = []
    for room, name, named in core.burst_waits.due(core.clock.now(), spec_of):
        policy = core.policies.current.by_name(name)
        assert policy is not None
        reminder = policy.reminder
        text = texts.reminder_burst(
            [member_token(m.id) for m in named],
            reminder.text,
            core.prefix(room.platform),
            reminder.require_agreement,
            private_follows=not reminder.burst.room_is_enough,
        )
        actions.append(PostToRoom(room, text, mentions=tuple(named)))
    return actions


async def delivered(core: Core, action: Action) -> None:
    """A burst room reminder went out: where the policy says it is enough, it is the named
    newcomers' reminder, and their outbox entries are done."""
    if not isinstance(action, PostToRoom) or not action.mentions:
        return
    policy = core.policy_for(action.room)
    for member in action.mentions:
        key = core.burst_waits.key_of(action.room, member)
        if key is not None and policy is not None and policy.reminder.burst.room_is_enough:
            await core.reminder_delivered(key, CHANNEL)
