"""Reminders: who is told the room's promise, when, and how it reaches them.

A reminder is recorded before it is sent (the outbox) and completed after, so a restart
resends an interrupted one with the same id and never repeats a delivered one.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import bursts, read_gate, texts
from bot.actions import (
    Action,
    Button,
    PostToRoom,
    ReplyToInvoker,
    SendPrivate,
)
from bot.checkins.recurring import parse_fire_key
from bot.events import (
    Member,
    MemberJoined,
    MemberLeft,
    PrivateMessageUnread,
    Room,
)
from bot.identifiers import agree_choice_id, reminder_key
from bot.policy import Policy

if TYPE_CHECKING:
    from bot.core import Core
    from bot.jobs import PlatformCheck

log = logging.getLogger("confidant.core")

PENDING_RETRY_AFTER = timedelta(seconds=60)
# A private reminder the platform would not take just now is tried this many times in all,
# pausing after each failure as long as the entry below says (growing, so a burst of
# refusals thins out), and then the policy's fallback is used: every refused try counts
# against the bot on the platform (Discord bans an IP at 10,000 invalid requests in 10
# minutes), so it is never retried for ever.
PRIVATE_ATTEMPTS = 3
RESEND_LEASE = timedelta(minutes=5)
"""A periodic resend is not due again for this long (a failure sets its own pause; a
delivery ends it): longest a send under way is given before another tick tries again."""
RETRY_PAUSES = (timedelta(minutes=1), timedelta(minutes=5))


async def on_join(core: Core, event: MemberJoined) -> list[Action]:
    if event.member.is_bot:
        return []
    policy = core.policy_for(event.room)
    if policy is None:
        return []
    room, member = event.room, event.member
    # Back after leaving: a member who never agreed to the current text hears it again
    # (they may not remember it, and the room still asks it); one who agreed does not.
    came_back = await core.store.has_left(room.platform, room.id, member.id)
    await core.store.record_join(room.platform, room.id, member.id, event.at)
    await core.store.room_state(room.platform, room.id, policy.name, room.name, event.at)
    # The reminder goes first: it is what the member waits for. A post slipped in
    # before posting is restricted is still caught by the agreement gate.
    actions: list[Action] = []
    check_hash = core.text_hash_for_checks(policy)
    agreed = await core.store.has_agreed(member.platform, member.id, policy.name, check_hash)
    # With a rules message nothing is sent to a joining member: the room shows it.
    if policy.reminder.delivery != "rules_message":
        reminded = await core.store.was_reminded(
            room.platform, room.id, member.id, policy.name, check_hash
        )
        if not reminded:
            reminder = await remind(core, room, member, policy)
            actions += bursts.during_burst(core, event, policy, reminder)
        elif came_back and not agreed:
            actions += await remind(core, room, member, policy, again=event.at.isoformat())
    must_agree = policy.reminder.require_agreement and not core.is_moderator(member, policy)
    if must_agree and core.caps(room.platform).posting_permission:
        actions.append(core.posting(room, member, agreed, policy))
    return actions


async def remind(
    core: Core,
    room: Room,
    member: Member,
    policy: Policy,
    changed: bool = False,
    again: str | None = None,
) -> list[Action]:
    """Record the reminder first (the outbox), then ask for it to be delivered.
    ``changed``: a re-ask after the text changed, which says so. ``again``: what makes a
    second reminder of the same text its own (the time of the join that asks it), so
    neither the outbox nor the platform takes it for a resend of the first."""
    text_hash = policy.reminder_version
    version = text_hash if again is None else f"{text_hash}@{again}"
    key = reminder_key(room.platform, room.id, member.id, policy.name, version)
    if again is not None and await core.store.renew_reminder(
        key, room.platform, room.id, member.id, policy.name, text_hash, core.clock.now()
    ):
        return reminder_actions(core, room, member, policy, key)
    fresh = await core.store.add_reminder(
        key,
        room.platform,
        room.id,
        room.name,
        member.id,
        policy.name,
        text_hash,
        core.clock.now(),
    )
    if not fresh:
        return []
    return reminder_actions(core, room, member, policy, key, changed)


def agree_buttons(core: Core, platform: str, policy: Policy) -> tuple[Button, ...]:
    """The Agree button goes wherever the bot asks for agreement, on platforms that have
    buttons: a member held back in a room has no chat bar there, so a command they cannot
    type is no way to agree; the button is one they can always press."""
    if policy.reminder.require_agreement and core.caps(platform).buttons:
        return (Button(agree_choice_id(policy.name), texts.agree_label()),)
    return ()


def reminder_actions(
    core: Core, room: Room, member: Member, policy: Policy, key: str, changed: bool = False
) -> list[Action]:
    reminder = policy.reminder
    prefix = core.prefix(room.platform)
    buttons = agree_buttons(core, room.platform, policy)
    ask = (reminder.text, prefix, reminder.require_agreement, bool(buttons))

    def say(text: str) -> str:
        return texts.reminder_changed(text) if changed else text

    in_room = PostToRoom(
        room,
        say(texts.reminder_in_room(*ask)),
        mention=member,
        idempotency_key=f"{key}/room",
        buttons=buttons,
    )
    if reminder.delivery == "room":
        return [in_room]
    fallback: tuple[Action, ...] = ()
    if reminder.delivery == "private":
        fallback = fallback_actions(
            core,
            room,
            member,
            policy,
            say(texts.reminder_fallback(*ask)),
            say(texts.reminder_in_thread(*ask)),
            f"{key}/fallback",
            buttons,
        )
    private = SendPrivate(
        member,
        say(texts.reminder_private(room.label, *ask)),
        fallback=fallback,
        idempotency_key=key,
        unread_timeout_s=reminder.private_timeout_minutes * 60.0 if fallback else None,
        buttons=buttons,
    )
    return [private, in_room] if reminder.delivery == "both" else [private]


def fallback_actions(
    core: Core,
    room: Room,
    member: Member,
    policy: Policy,
    in_room: str,
    in_thread: str,
    key: str | None = None,
    buttons: tuple[Button, ...] = (),
) -> tuple[Action, ...]:
    """What to do instead of a private message, as the policy says: alternatives in order,
    the first one done is the one that reached the member. A private thread the platform
    refuses falls back to the room mention. ``next_interaction`` needs no action: the
    reminder stays owed in the store until the member's next command or button press
    carries it (see :func:`with_owed`)."""
    reminder = policy.reminder
    minutes = reminder.fallback_delete_after_minutes
    mention = PostToRoom(
        room,
        in_room,
        mention=member,
        idempotency_key=key,
        delete_after_s=minutes * 60.0 if minutes is not None else None,
        buttons=buttons,
    )
    if reminder.fallback == "room_mention":
        return (mention,)
    if reminder.fallback == "private_thread":
        in_private = PostToRoom(
            room,
            in_thread,
            mention=member,
            idempotency_key=f"{key}/thread" if key else None,
            private_thread=True,
            buttons=buttons,
        )
        return (in_private, mention)
    return ()


async def resend_pending(
    core: Core, older_than: datetime | None = None, mine: PlatformCheck | None = None
) -> list[Action]:
    """Reminders recorded but never confirmed delivered (a crash, an outage). Platforms
    dedupe the resend by its idempotency key, so a reminder that did arrive is not
    shown twice. Those whose attempts are used up are not sent again; periodic resends
    (``older_than`` given) also wait out the pause after a failed attempt, are only of the
    platforms whose members' messages are this process's (``mine``: bot/jobs.py), and are
    claimed one by one (leased for :data:`RESEND_LEASE`), so two processes never both send."""
    actions: list[Action] = []
    due = core.clock.now() if older_than is not None else None
    pending_rows = await core.store.pending_reminders(
        older_than, due_at=due, max_attempts=PRIVATE_ATTEMPTS
    )
    for pending in pending_rows:
        policy = core.policies.current.by_name(pending.policy)
        if policy is None or policy.reminder_version != pending.text_hash:
            continue  # the text changed meanwhile: the re-ask below covers it
        if policy.reminder.delivery == "rules_message":
            continue  # nothing is sent privately any more
        if older_than is not None and policy.reminder.fallback == "next_interaction":
            continue  # most likely refused: owed to the member's next interaction instead
        if mine is not None and not await mine(pending.platform):
            continue  # another process sends this platform's private messages
        if due is not None and not await core.store.claim_reminder_resend(
            pending.key, due, due + RESEND_LEASE
        ):
            continue  # another process is resending it
        room = Room(pending.platform, pending.room_id, pending.room_name)
        member = Member(pending.platform, pending.member_id)
        changed = await agreed_to_earlier_text(core, member, policy)
        if read_gate.is_read_gated(policy) and not await _inside(core, room, member):
            # asked to read the room: the reminder goes where they are, never into the room
            actions += read_gate.entry_reminder(core, room, member, policy, pending.key, changed)
            continue
        actions += reminder_actions(core, room, member, policy, pending.key, changed)
    return actions


async def _inside(core: Core, room: Room, member: Member) -> bool:
    return member.id in await core.store.room_member_ids(room.platform, room.id)


async def agreed_to_earlier_text(core: Core, member: Member, policy: Policy) -> bool:
    """A member who agreed to an earlier text but not this one is re-asked because the
    text changed; a resent or fallback reminder says so as the first one did."""
    store, name = core.store, policy.name
    return await store.has_agreed(member.platform, member.id, name, None) and not (
        await store.has_agreed(member.platform, member.id, name, policy.reminder_version)
    )


async def reask_changed(core: Core, policy: Policy) -> list[Action]:
    if not policy.reminder.reask_on_change or policy.reminder.delivery == "rules_message":
        return []  # a rules message is edited instead (see _rules_message)
    actions: list[Action] = []
    rows = await core.store.members_to_reask(policy.name, policy.reminder_version)
    for platform, room_id, room_name, member_id in rows:
        room = Room(platform, room_id, room_name)
        covering = core.policy_for(room)  # None when only an alias selects the room
        if covering is not None and covering.name != policy.name:
            continue
        member = Member(platform, member_id)
        if policy.reminder.require_agreement and core.caps(platform).posting_permission:
            actions.append(core.posting(room, member, False, policy))
        actions += await remind(core, room, member, policy, changed=True)
    return actions


async def on_leave(core: Core, event: MemberLeft) -> list[Action]:
    if core.policy_for(event.room) is not None:
        await core.store.record_leave(event.room.platform, event.room.id, event.member.id, event.at)
        await read_gate.on_leave(core, event.room, event.member, event.at)
    return []


async def periodic_reminder(
    core: Core, room: Room, policy: Policy, due_by: datetime | None = None
) -> list[Action]:
    """At most once per period: the counter is reset before the post goes out. A reminder
    by time (``due_by``: the last one at or before it) is claimed, so of two processes
    finding it due only one posts it."""
    store, now = core.store, core.clock.now()
    if due_by is None:
        await store.reset_room_reminder(room.platform, room.id, policy.name, now)
    elif not await store.claim_room_reminder(room.platform, room.id, policy.name, due_by, now):
        return []
    prefix = core.prefix(room.platform)
    return [PostToRoom(room, texts.periodic_reminder(policy.reminder.text, prefix))]


async def with_owed(core: Core, member: Member, actions: list[Action]) -> list[Action]:
    """Reminders owed to a member whose private messages were refused (fallback
    ``next_interaction``), or that nothing else reached after every attempt (all refused),
    ride on the first reply only they see, once. One still being tried privately does not:
    a try the platform took just before a crash would otherwise reach them twice."""
    index = next(
        (i for i, a in enumerate(actions) if isinstance(a, ReplyToInvoker) and a.member == member),
        None,
    )
    if index is None:
        return actions
    notes: list[str] = []
    for owed in await core.store.owed_reminders(member.platform, member.id):
        policy = core.policies.current.by_name(owed.policy)
        if (
            policy is None
            or (
                policy.reminder.fallback != "next_interaction"
                and owed.attempts < PRIVATE_ATTEMPTS  # still being tried privately
            )
            or policy.reminder.delivery == "rules_message"
            or policy.reminder_version != owed.text_hash
        ):
            continue
        reminder = policy.reminder
        label = Room(owed.platform, owed.room_id, owed.room_name).label
        prefix = core.prefix(owed.platform)
        notes.append(texts.reminder_owed(label, reminder.text, prefix, reminder.require_agreement))
        await core.reminder_delivered(owed.key, "next_interaction")
    if not notes:
        return actions
    reply = actions[index]
    assert isinstance(reply, ReplyToInvoker)
    text = "\n\n".join([reply.text, *notes])
    return [*actions[:index], dataclasses.replace(reply, text=text), *actions[index + 1 :]]


async def on_unread(core: Core, event: PrivateMessageUnread) -> list[Action]:
    """The member never opened the private chat: use the policy's in-room fallback."""
    reminder_row = await core.store.reminder_by_key(event.idempotency_key)
    if reminder_row is None:
        return []
    policy = core.policies.current.by_name(reminder_row.policy)
    if policy is None:
        return []
    room = Room(reminder_row.platform, reminder_row.room_id, reminder_row.room_name)
    if core.burst_waits.named_in(room, event.member):
        return []  # a join burst's room reminder named them there already
    reminder = policy.reminder
    buttons = agree_buttons(core, room.platform, policy)
    ask = (reminder.text, core.prefix(room.platform), reminder.require_agreement, bool(buttons))
    changed = await agreed_to_earlier_text(core, event.member, policy)

    def say(text: str) -> str:
        return texts.reminder_changed(text) if changed else text

    return list(
        fallback_actions(
            core,
            room,
            event.member,
            policy,
            say(texts.reminder_fallback(*ask)),
            say(texts.reminder_in_thread(*ask)),
            f"{event.idempotency_key}/unread",
            buttons,
        )
    )


def _reminder_key(action: SendPrivate) -> str | None:
    key = action.idempotency_key
    return key.split("/")[0] if key and key.startswith("rem-") else None


async def _attempt_failed(core: Core, key: str) -> int:
    """Count a failed attempt at a pending reminder and, while attempts remain, pause before
    the next; the attempts so far (0: delivered meanwhile, or not in the outbox)."""
    attempts = await core.store.reminder_attempt_failed(key)
    if 0 < attempts < PRIVATE_ATTEMPTS:
        pause = RETRY_PAUSES[min(attempts, len(RETRY_PAUSES)) - 1]
        await core.store.retry_reminder_at(key, core.clock.now() + pause)
    return attempts


async def private_not_now(core: Core, action: SendPrivate) -> bool:
    """A reminder's private message could not go out just now: count the attempt and
    pause before the next. True when the attempts are used up (use the fallback now)."""
    if core.recurring is not None and parse_fire_key(action.idempotency_key) is not None:
        await core.recurring.not_sent_now(action.idempotency_key or "")
        return False  # a scheduled check-in's first message: the fire is tried again later
    key = _reminder_key(action)
    if key is None:
        return True  # not a reminder: nothing tries it again, so its fallback is used now
    attempts = await _attempt_failed(core, key)
    if attempts >= PRIVATE_ATTEMPTS:
        log.info("private reminder %s failed %d times; using the fallback", key, attempts)
        return True
    return False


async def undeliverable(core: Core, action: SendPrivate) -> None:
    """Nothing reached the member: the reminder stays owed. It is tried again after a pause,
    a bounded number of times; after that it waits for the member's next command or button
    press, whose private answer carries it (see :func:`with_owed`)."""
    key = _reminder_key(action)
    if key is None:
        return
    attempts = await _attempt_failed(core, key)
    if attempts:
        log.info("reminder %s reached nobody (attempt %d); it stays owed", key, attempts)


async def unreachable(core: Core, action: SendPrivate) -> bool:
    """The member shares no place with the bot any more: their reminder is owed to nobody.
    Forgotten rather than marked delivered, so coming back reminds them then. False when
    the message is no reminder (its fallback then says it could not be delivered)."""
    key = _reminder_key(action)
    if key is None:
        return False
    if await core.store.forget_pending_reminder(key):
        log.info("reminder %s dropped: the member is no longer reachable", key)
    return True


async def fallbacks(core: Core, action: SendPrivate) -> tuple[Action, ...]:
    """The private message's fallback, unless the member left the room it would name
    them in; then none, and their reminder is dropped (see :func:`unreachable`)."""
    member = action.member
    for fallback in action.fallback:
        room = getattr(fallback, "room", None)
        if room is not None and await core.store.has_left(room.platform, room.id, member.id):
            await unreachable(core, action)
            return ()
    return action.fallback


async def rooms_asking_agreement(core: Core, member: Member) -> list[tuple[Policy, Room]]:
    """The rooms the member is in whose policy asks for agreement (as far as joins told)."""
    found: list[tuple[Policy, Room]] = []
    for policy in core.policies.current.policies:
        if not policy.reminder.require_agreement or core.is_moderator(member, policy):
            continue
        rooms = await core.store.member_rooms_for_policy(member.platform, member.id, policy.name)
        found += [(policy, Room(member.platform, rid, name)) for rid, name in rooms]
    return found


async def ask_again(core: Core, member: Member, rooms: list[tuple[Policy, Room]]) -> list[Action]:
    """After the member erased their data (their agreements with it) while still in these
    rooms: they are a member who has not agreed, so posting is held back and they are
    reminded afresh, as on joining (a rules message room shows its own message)."""
    actions: list[Action] = []
    for policy, room in rooms:
        await core.store.record_join(room.platform, room.id, member.id, core.clock.now())
        if core.caps(room.platform).posting_permission:
            actions.append(core.posting(room, member, False, policy))
        if policy.reminder.delivery != "rules_message":
            again = core.clock.now().isoformat()  # a new reminder, not a resend of the old
            actions += await remind(core, room, member, policy, again=again)
    return actions
