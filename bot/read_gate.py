"""The read gate (``reminder.gate: read``): nobody reads a room before promising to keep it.

In a meeting a newcomer hears the confidentiality statement before anyone shares; here a
newcomer asks to read the room (AccessRequested), gets the reminder privately, and is let
in (GrantAccess) only once they agreed. Access is recorded when the platform gave it, never
when it was only asked for, so nobody is told they can read a room that stayed closed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from bot import texts
from bot.actions import (
    Action,
    Button,
    CheckReadGate,
    GrantAccess,
    PostToRoom,
    RevokeAccess,
    SendPrivate,
)
from bot.events import AccessRequested, Member, PrivateReply, Room
from bot.i18n import t
from bot.identifiers import agree_choice_id, reminder_key
from bot.policy import Policy, PolicySet, ReminderSpec, RoomRef

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.core")

GRANTED = "agreed to the reminder"
GRANTED_EARLIER = "agreed to an earlier text and keeps access"
GRANTED_MODERATOR = "moderator of the room"
SUSPENDED = "the reminder changed and the policy suspends access until agreed again"


def is_read_gated(policy: Policy | None) -> bool:
    return policy is not None and policy.reminder.gate == "read"


async def on_access_requested(core: Core, event: AccessRequested) -> list[Action]:
    """Let in at once a member who agreed (to the current text, or, still holding access
    under ``reask: keep_access``, to an earlier one); remind anyone else, once per text."""
    room, member = event.room, event.member
    policy = core.policy_for(room)
    if member.is_bot:
        return []
    if policy is None or not is_read_gated(policy):
        if event.via == "request":  # asked by name: an answer, never silence
            # named as they named it: a room's name is not told to someone outside it
            asked = room.aliases[0] if room.aliases else room.id
            return [SendPrivate(member, texts.not_a_read_gated_room(asked))]
        return []
    await core.store.room_state(room.platform, room.id, policy.name, room.name, event.at)
    if core.is_moderator(member, policy):
        return [grant(core, room, member, policy, GRANTED_MODERATOR)]
    store = core.store
    check_hash = core.text_hash_for_checks(policy)
    if await store.has_agreed(member.platform, member.id, policy.name, check_hash):
        return [grant(core, room, member, policy, GRANTED)]
    holds = await store.has_access(room.platform, room.id, member.id)
    changed = await store.has_agreed(member.platform, member.id, policy.name, None)
    if holds and changed and policy.reminder.reask == "keep_access":
        return [grant(core, room, member, policy, GRANTED_EARLIER)]
    return await remind_to_enter(core, room, member, policy, changed)


async def remind_to_enter(
    core: Core, room: Room, member: Member, policy: Policy, changed: bool = False
) -> list[Action]:
    """The reminder to someone outside the room, recorded first (the reminders' outbox), so
    it goes out once per member, room and text, however often they ask and across restarts."""
    text_hash = policy.reminder_version
    key = reminder_key(room.platform, room.id, member.id, policy.name, text_hash)
    fresh = await core.store.add_reminder(
        key, room.platform, room.id, room.name, member.id, policy.name, text_hash, core.clock.now()
    )
    if not fresh:
        return []
    return entry_reminder(core, room, member, policy, key, changed)


def _buttons(core: Core, platform: str, policy: Policy) -> tuple[Button, ...]:
    if core.caps(platform).buttons:
        return (Button(agree_choice_id(policy.name), texts.agree_label()),)
    return ()


def welcome_room(ref: RoomRef) -> Room:
    """The policy's welcome room as the adapter resolves rooms (by id, alias or name)."""
    kind, value = ref.selector
    if kind == "alias":
        return Room(ref.platform, value, aliases=(value,))
    return Room(ref.platform, value, value if kind == "name" else None)


def entry_reminder(
    core: Core, room: Room, member: Member, policy: Policy, key: str, changed: bool = False
) -> list[Action]:
    """Privately, never in the room they cannot read; if their private messages are closed,
    in the policy's welcome room (visible to everyone) with a mention, where one is named."""
    reminder = policy.reminder
    prefix = core.prefix(room.platform)
    buttons = _buttons(core, room.platform, policy)
    text = texts.read_gate_reminder(room.label, reminder.text, prefix, bool(buttons))
    if changed:
        text = f"{texts.access_suspended(room.label)}\n\n{text}"
    fallback: tuple[Action, ...] = ()
    if reminder.welcome_room is not None:
        where = welcome_room(reminder.welcome_room)
        welcome_buttons = _buttons(core, where.platform, policy)
        said = texts.read_gate_in_welcome(room.label, reminder.text, prefix, bool(welcome_buttons))
        fallback = (
            PostToRoom(
                where,
                said,
                mention=member,
                idempotency_key=f"{key}/welcome",
                buttons=welcome_buttons,
            ),
        )
    return [SendPrivate(member, text, fallback=fallback, idempotency_key=key, buttons=buttons)]


def grant(core: Core, room: Room, member: Member, policy: Policy, reason: str) -> GrantAccess:
    """Access, and the private word that it was given, said only once it was (``then``)."""
    by_invite = core.caps(room.platform).access_by_invite
    told = SendPrivate(member, texts.access_granted(room.label, by_invite))
    return GrantAccess(
        room,
        member,
        core.grant_for(room, policy),
        policy=policy.name,
        reason=reason,
        then=(told,),
    )


async def grants_after_agreeing(
    core: Core, member: Member, policy: Policy, rooms: list[Room]
) -> list[Action]:
    """A member who just agreed is let into the read-gated rooms they asked to read (were
    reminded of) and are not in yet."""
    if not is_read_gated(policy):
        return []
    actions: list[Action] = []
    for room in rooms:
        store = core.store
        if await store.has_access(room.platform, room.id, member.id):
            continue
        if member.id in await store.room_member_ids(room.platform, room.id):
            continue  # added by hand: already reads it; the post gate lifts as before
        actions.append(grant(core, room, member, policy, GRANTED))
    return actions


async def suspend_changed(core: Core, policy: Policy) -> list[Action]:
    """A changed text under ``reask: suspend``: everyone let in who has not agreed to it is
    taken out until they do, and told why with the new reminder. Asked at every start and
    reload; a member whose access already ended is not asked again."""
    if not is_read_gated(policy) or policy.reminder.reask != "suspend":
        return []
    if not policy.reminder.reask_on_change:
        return []
    text_hash = policy.reminder_version
    actions: list[Action] = []
    for platform, room_id, name, member_id, _, ended in await core.store.access_rows(policy.name):
        if ended is not None:
            continue
        member = Member(platform, member_id)
        if core.is_moderator(member, policy):
            continue
        if await core.store.has_agreed(platform, member_id, policy.name, text_hash):
            continue
        room = Room(platform, room_id, name)
        actions.append(
            RevokeAccess(
                room,
                member,
                core.grant_for(room, policy),
                policy=policy.name,
                reason=SUSPENDED,
                notice=texts.access_suspended_notice(),
            )
        )
        actions += await remind_to_enter(core, room, member, policy, changed=True)
    return actions


async def delivered(core: Core, action: Action) -> None:
    """The platform did it: who holds access changes only now."""
    now = core.clock.now()
    if isinstance(action, GrantAccess):
        room, policy = action.room, action.policy or ""
        await core.store.access_granted(
            room.platform, room.id, room.name, action.member.id, policy, now
        )
    elif isinstance(action, RevokeAccess):
        await core.store.access_ended(action.room.platform, action.room.id, action.member.id, now)


async def on_leave(core: Core, room: Room, member: Member, at: datetime) -> None:
    """Leaving ends access: coming back asks again, admitted at once unless the text changed."""
    await core.store.access_ended(room.platform, room.id, member.id, at)


def check_rooms(core: Core, room: Room, policy: Policy | None) -> list[Action]:
    """When an adapter reports a read-gated room, it is asked to keep the room closed."""
    if policy is None or not is_read_gated(policy):
        return []
    return [check_action(core, room, policy)]


def check_action(core: Core, room: Room, policy: Policy) -> CheckReadGate:
    """What the adapter checks the room for, with the policy's settings it depends on: the
    role that may show it (Discord), history and a changed text's effect (Matrix)."""
    reminder = policy.reminder
    return CheckReadGate(
        room, core.grant_for(room, policy), history=reminder.history, reask=reminder.reask
    )


async def admitted_lines(core: Core, policy: Policy, platform: str, room_id: str) -> list[str]:
    """For /agreements: who was let in and when (and who was let in and is out again)."""
    rows = await core.store.access_rows(policy.name, platform, room_id)
    if not rows:
        return []
    inside = [f"{m} ({granted[:16].replace('T', ' ')})" for *_, m, granted, e in rows if e is None]
    out = [f"{m} (until {e[:16].replace('T', ' ')})" for *_, m, _, e in rows if e is not None]
    lines = [f"  admitted (read gate): {', '.join(inside) or 'nobody yet'}"]
    if out:
        lines.append(f"  admitted before, out now: {', '.join(out)}")
    return lines


AGREE_WORDS = frozenset({"agree", "i agree", "agreed"})


async def agrees_in_reply(core: Core, event: PrivateReply) -> bool:
    """A plain "agree" in the private chat where a read gate's reminder waits counts as
    /agree (someone who just asked to read a room answers the message in front of them)."""
    if event.member.is_bot or event.text.strip().rstrip(".!").casefold() not in AGREE_WORDS:
        return False
    member = event.member
    waiting = await core.store.policies_awaiting_agreement(member.platform, member.id)
    return any(is_read_gated(core.policies.current.by_name(name)) for name, _ in waiting)


def policy_lines(reminder: ReminderSpec) -> list[str]:
    """For /policy show: a read gate and what a changed text does to access."""
    if reminder.gate != "read":
        return []
    return [
        t(
            "read gate: newcomers read only after agreeing (changed text: {reask})",
            reask=reminder.reask,
        )
    ]


async def check_after_reload(core: Core, before: PolicySet) -> list[Action]:
    """A reload that makes a policy read-gated asks the adapters to close its rooms now,
    not at their next start: the rooms the bot has seen, and those named by id."""
    was = {policy.name for policy in before.policies if is_read_gated(policy)}
    actions: list[Action] = []
    known = await core.store.room_states()
    for policy in core.policies.current.policies:
        if not is_read_gated(policy) or policy.name in was:
            continue
        rooms = {
            (s.platform, s.room_id): Room(s.platform, s.room_id, s.room_name)
            for s in known
            if s.policy == policy.name
        }
        for ref in policy.rooms:
            if ref.id is not None:  # named otherwise: closed when the adapter reports it
                rooms.setdefault((ref.platform, ref.id), Room(ref.platform, ref.id, ref.name))
        actions += [check_action(core, room, policy) for room in rooms.values()]
    return actions
