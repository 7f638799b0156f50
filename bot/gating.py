"""The agreement gate: agreeing, and what happens to posts of members who have not.

Posting rights follow agreement to the current text; a post that slips through is held
back without the bot ever repeating what was written.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import read_gate, reminding, texts
from bot.actions import (
    Action,
    Button,
    CheckGrant,
    DeleteMessage,
    PostToRoom,
    ReplyToInvoker,
    SendPrivate,
)
from bot.events import (
    ChoiceMade,
    CommandInvoked,
    Member,
    MessagePosted,
    Room,
)
from bot.identifiers import AGREE_CHOICE
from bot.policy import Policy, PolicySet, RoomRef

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.core")


async def on_message(core: Core, event: MessagePosted) -> list[Action]:
    if event.author.is_bot:
        return []
    policy = core.policy_for(event.room)
    if policy is None:
        return []
    actions = await gate(core, event, policy)
    await core.store.room_state(
        event.room.platform, event.room.id, policy.name, event.room.name, event.at
    )
    count = await core.store.count_room_message(event.room.platform, event.room.id, policy.name)
    repeat = policy.reminder.repeat
    if repeat is not None and repeat.every_messages is not None and count >= repeat.every_messages:
        actions += await reminding.periodic_reminder(core, event.room, policy)
    return actions


async def gate(core: Core, event: MessagePosted, policy: Policy) -> list[Action]:
    reminder = policy.reminder
    member, room = event.author, event.room
    if not reminder.require_agreement or core.is_moderator(member, policy):
        return []
    if (
        read_gate.is_read_gated(policy)
        and reminder.reask == "keep_access"
        and await core.store.has_access(room.platform, room.id, member.id)
    ):
        return []  # let in after agreeing; a changed text does not hold them back here
    if await core.store.has_agreed(
        member.platform, member.id, policy.name, core.text_hash_for_checks(policy)
    ):
        return []
    prefix = core.prefix(room.platform)
    caps = core.caps(room.platform)
    delete = reminder.unagreed_posts == "hide" and caps.deletes
    if not delete and not _remind_due(core, member, room, policy, event.at):
        return []  # the post stays; they were reminded of agreeing in this period already
    if reminder.delivery == "rules_message":  # no private message, ever
        told = notice(core, room, member, policy, texts.post_held_back_rules(prefix, caps.buttons))
        removed = told
    else:
        buttons = reminding.agree_buttons(core, room.platform, policy)
        in_room = texts.post_held_back_in_room(prefix, bool(buttons))

        def note(deleted: bool) -> tuple[Action, ...]:
            text = texts.post_held_back(room.label, reminder.text, prefix, deleted, bool(buttons))
            fallback = notice(core, room, member, policy, in_room, buttons)
            return (SendPrivate(member, text, fallback=fallback, buttons=buttons),)

        told, removed = note(False), note(True)
    if not delete:
        return list(told)
    # the member hears that the post was removed only once it was
    reason = "posted before agreeing to the reminder"
    return [
        DeleteMessage(
            room, event.message_id, member, policy.name, reason, then=removed, otherwise=told
        )
    ]


REMIND_PERIOD = timedelta(days=1)  # unagreed_posts: remind, without a repeat period of its own


def _remind_due(core: Core, member: Member, room: Room, policy: Policy, at: datetime) -> bool:
    """A post that stays in the room (``unagreed_posts: remind``, or a platform that cannot
    remove it) is answered with a reminder once per member and room per period (the
    policy's ``repeat.every_days``, else a day), not after every post: a member who keeps
    talking before agreeing is not told the same thing after each message. Kept for the
    run only; a restart may remind once more, which does no harm."""
    repeat = policy.reminder.repeat
    days = repeat.every_days if repeat is not None and repeat.every_days else None
    period = timedelta(days=days) if days else REMIND_PERIOD
    key = (room.platform, room.id, member.id, policy.name)
    last = core.unagreed_reminded.get(key)
    if last is not None and at - last < period:
        return False
    core.unagreed_reminded[key] = at
    return True


def notice(
    core: Core,
    room: Room,
    member: Member,
    policy: Policy,
    text: str,
    buttons: tuple[Button, ...] = (),
) -> tuple[Action, ...]:
    """A held-back post is always explained: in a private thread if the policy says so,
    else with a mention in the room (deleted later if the policy says so)."""
    if policy.reminder.fallback == "private_thread":
        return reminding.fallback_actions(core, room, member, policy, text, text, None, buttons)
    minutes = policy.reminder.fallback_delete_after_minutes
    delete_after = minutes * 60.0 if minutes is not None else None
    return (PostToRoom(room, text, mention=member, delete_after_s=delete_after, buttons=buttons),)


async def cmd_agree(
    core: Core, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    """In a room: its policy. In a private chat: the reminder waiting for this member, named
    in the answer; where several wait, the member is asked which (``/agree <policy>``)."""
    member = event.invoker
    prefix = core.prefix(event.room.platform)
    policy = core.policy_for(event.room)
    if policy is not None:
        targets = [policy]
    else:  # in a private chat: the reminders this member is waiting on
        waiting = await core.store.policies_awaiting_agreement(member.platform, member.id)
        targets = [
            p
            for p in core.policies.current.policies
            if (p.name, p.reminder_version) in set(waiting)
        ]
        named = args.get("policy")
        # a reminder that asks for no agreement is no reason to ask "which one?"
        asking = [p for p in targets if p.reminder.require_agreement] or targets
        if isinstance(named, str):
            targets = [p for p in targets if p.name == named]
        elif len(asking) > 1:
            choices = [(p.name, await _reminded_labels(core, member, p)) for p in asking]
            return [core.reply(event, texts.agree_which(choices, prefix))]
        else:
            targets = asking
    if not targets:
        return [core.reply(event, texts.nothing_to_agree(prefix))]
    here = event.room if policy is not None else None
    new, labels, actions = await agree(core, member, targets, here, event.at)
    # in a private chat the answer says which promise this was
    named = [p.name for p in targets] if event.room.is_private_chat else []
    reply = texts.agreed(labels, named) if new else texts.already_agreed()
    return [*actions, core.reply(event, reply)]


async def _reminded_labels(core: Core, member: Member, policy: Policy) -> list[str]:
    rooms = await core.store.rooms_reminded(member.platform, member.id, policy.name)
    return sorted({name or room_id for room_id, name in rooms})


async def agree(
    core: Core, member: Member, targets: list[Policy], here: Room | None, at: datetime
) -> tuple[bool, list[str], list[Action]]:
    """Record agreement to each policy and let the member post in its rooms.
    Returns (any new agreement, room labels, actions); ``here`` is the covered room the
    member agreed in, if any."""
    actions: list[Action] = []
    labels: list[str] = []
    new = False
    for target in targets:
        new |= await core.store.record_agreement(
            member.platform, member.id, target.name, target.reminder_version, at
        )
        rooms = await core.store.rooms_reminded(member.platform, member.id, target.name)
        if target.reminder.delivery == "rules_message":  # no reminders: rooms they are in
            rooms += await core.store.member_rooms_for_policy(
                member.platform, member.id, target.name
            )
        if here is not None:
            rooms.append((here.id, here.name))
        seen: set[str] = set()
        agreed_for: list[Room] = []
        for room_id, room_name in rooms:
            if room_id in seen:
                continue
            seen.add(room_id)
            room = here if here is not None and room_id == here.id else None
            room = room or Room(member.platform, room_id, room_name)
            labels.append(room.label)
            agreed_for.append(room)
            if target.reminder.require_agreement and core.caps(member.platform).posting_permission:
                actions.append(core.posting(room, member, True, target))
        # read gates: let in where they asked to read and are not in yet
        actions += await read_gate.grants_after_agreeing(core, member, target, agreed_for)
    return new, sorted(set(labels)), actions


async def choice_agree(core: Core, event: ChoiceMade) -> list[Action]:
    """The Agree button of a rules message: as /agree, answered with the reminder."""
    policy = core.policies.current.by_name(event.choice_id[len(AGREE_CHOICE) :])
    if policy is None:
        return [ReplyToInvoker(event.room, event.member, texts.choice_gone(), event.reply_handle)]
    here = event.room if core.policy_for(event.room) == policy else None
    new, labels, actions = await agree(core, event.member, [policy], here, event.at)
    reply = texts.agreed_with_reminder(new, labels, policy.reminder.text)
    return [*actions, ReplyToInvoker(event.room, event.member, reply, event.reply_handle)]


async def check_new_grants(core: Core, before: PolicySet) -> list[Action]:
    """After a reload, check the roles that rooms name afresh (or name differently);
    unchanged ones were checked when the adapter reported the room."""
    old = {
        (policy.name, ref.platform, ref.selector, ref.agreed_role)
        for policy in before.policies
        for ref in policy.rooms
    }
    wanted: list[tuple[Policy, RoomRef]] = [
        (policy, ref)
        for policy in core.policies.current.policies
        if policy.reminder.require_agreement
        for ref in policy.rooms
        if ref.agreed_role is not None
        and (policy.name, ref.platform, ref.selector, ref.agreed_role) not in old
        and core.caps(ref.platform).posting_permission
    ]
    if not wanted:
        return []
    known = await core.store.room_states()
    actions: list[Action] = []
    for policy, ref in wanted:
        assert ref.agreed_role is not None
        rooms = [
            Room(s.platform, s.room_id, s.room_name)
            for s in known
            if s.policy == policy.name and ref.matches(s.platform, s.room_id, s.room_name, ())
        ]
        if ref.id is not None and not any(r.id == ref.id for r in rooms):
            rooms.append(Room(ref.platform, ref.id))  # no member seen there yet
        actions += [CheckGrant(room, ref.agreed_role) for room in rooms]
    return actions
