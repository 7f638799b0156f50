"""Standing rules messages (delivery: rules_message): one per room, with an Agree button,
posted once and edited when the text changes, so members are never messaged unasked.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import texts
from bot.actions import (
    Action,
    Button,
    CheckMessage,
    DeleteMessage,
    PostToRoom,
)
from bot.events import (
    BotPosted,
    Member,
    MessageDeleted,
    Room,
)
from bot.identifiers import agree_choice_id, digest
from bot.policy import Policy
from bot.store.rows import RulesMessage

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.core")


async def rules_message(core: Core, room: Room, policy: Policy, after: str = "") -> list[Action]:
    """Make sure the room shows the policy's rules message as it should read now: post it
    if the room has none, edit it if its text changed, else leave it alone (a restart
    reuses it: its button id is deterministic). ``after`` names a deleted predecessor,
    so that the new post is not mistaken for a repeat of the old one."""
    caps = core.caps(room.platform)
    text = texts.rules_message(policy.reminder.text, caps.command_prefix, caps.buttons)
    buttons = (Button(agree_choice_id(policy.name), texts.agree_label()),)
    # The message shows the policy language's text; an edit of another language's is a
    # new version all the same, which holds back again whoever has not agreed to it. (One
    # text: its version adds nothing, and the digest stays what earlier versions stored.)
    version = policy.reminder_version
    also = () if version == policy.reminder.text_hash else (f"version\x1e{version}",)
    content = digest(text, *(f"{b.id}\x1e{b.label}" for b in buttons), *also)
    key = "rules-" + digest(room.platform, room.id, policy.name, content, after)[:32]
    current = await core.store.rules_message(room.platform, room.id, policy.name)
    if (
        current is not None
        and current.content_hash == content
        and (current.posted or key in core._rules_posting)
    ):
        return []
    replaces = current.message_id if current is not None else None
    await core.store.save_rules_message(
        RulesMessage(room.platform, room.id, policy.name, room.name, content, key, replaces),
        core.clock.now(),
    )
    core._rules_posting.add(key)
    post = PostToRoom(
        room, text, idempotency_key=key, buttons=buttons, replaces=replaces, report_id=True
    )
    actions: list[Action] = [post]
    if current is not None and current.content_hash != content:
        actions += await hold_unagreed(core, room, policy)
    return actions


async def hold_unagreed(core: Core, room: Room, policy: Policy) -> list[Action]:
    """After a text change, members who have not agreed to the new text wait again."""
    reminder = policy.reminder
    if not (
        reminder.require_agreement
        and reminder.reask_on_change
        and core.caps(room.platform).posting_permission
    ):
        return []
    report = await core.store.agreement_report(
        room.platform, room.id, policy.name, policy.reminder_version
    )
    members = [Member(room.platform, m) for m in report.not_agreed]
    return [
        core.posting(room, m, False, policy) for m in members if not core.is_moderator(m, policy)
    ]


async def refresh_rules_messages(core: Core) -> list[Action]:
    """After a reload: edit rules messages whose text changed; remove those of rooms whose
    policy no longer wants one."""
    actions: list[Action] = []
    for row in await core.store.rules_messages():
        room = Room(row.platform, row.room_id, row.room_name)
        policy = core.policies.current.by_name(row.policy)
        if policy is not None and policy.reminder.delivery == "rules_message":
            actions += await rules_message(core, room, policy)
        elif row.message_id is not None:
            await core.store.forget_rules_message(row.platform, row.room_id, row.message_id)
            why = "the bot's rules message, no longer wanted by the policy"
            actions.append(DeleteMessage(room, row.message_id, policy=row.policy, reason=why))
    return actions


async def check_rules_messages(core: Core) -> list[Action]:
    """At start: is every rules message still there? One removed while the bot was
    offline (a moderator's purge, a single delete) left no event this run will see; the
    adapter answers MessageDeleted for those, and on_message_deleted posts them again."""
    actions: list[Action] = []
    for row in await core.store.rules_messages():
        policy = core.policies.current.by_name(row.policy)
        if (
            row.message_id is not None
            and policy is not None
            and policy.reminder.delivery == "rules_message"
            and core.caps(row.platform).checks_posts
        ):
            room = Room(row.platform, row.room_id, row.room_name)
            actions.append(CheckMessage(room, row.message_id))
    return actions


async def on_bot_posted(core: Core, event: BotPosted) -> list[Action]:
    key = event.idempotency_key
    if key is not None and key.startswith("rules-"):
        core._rules_posting.discard(key)
        await core.store.rules_message_posted(key, event.message_id, event.at)
    return []


async def on_message_deleted(core: Core, event: MessageDeleted) -> list[Action]:
    room = event.room
    forgotten = await core.store.forget_rules_message(room.platform, room.id, event.message_id)
    if forgotten is not None:
        log.info("a rules message was removed on %s; it is posted again", room.platform)
        policy = core.policies.current.by_name(forgotten.policy)
        if policy is not None and policy.reminder.delivery == "rules_message":
            again = Room(room.platform, room.id, room.name or forgotten.room_name)
            return await rules_message(core, again, policy, after=event.message_id)
    return []
