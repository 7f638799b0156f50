"""Moderators' commands and the member commands that read policies (rules, help).

Permission checks happen before these run (in the core's command dispatch).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import texts
from bot.actions import (
    Action,
)
from bot.commands import Permission
from bot.events import (
    CommandInvoked,
)
from bot.policy import Policy

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.core")


async def cmd_rules(
    core: Core, event: CommandInvoked, _: dict[str, str | int | None]
) -> list[Action]:
    policy = core.policy_for(event.room)
    prefix = core.prefix(event.room.platform)
    if policy is None and event.room.is_private_chat:
        # in a private chat: the reminders of the rooms this member was reminded of
        member = event.invoker
        names = await core.store.policies_reminded(member.platform, member.id)
        found = [p for p in core.policies.current.policies if p.name in names]
        if found:
            return [
                core.reply(
                    event,
                    "\n\n".join(
                        texts.reminder_in_room(
                            p.reminder.text, prefix, p.reminder.require_agreement
                        )
                        for p in found
                    ),
                )
            ]
    if policy is None:
        return [core.reply(event, texts.no_policy_here(prefix))]
    reminder = policy.reminder
    return [
        core.reply(event, texts.reminder_in_room(reminder.text, prefix, reminder.require_agreement))
    ]


async def cmd_help(
    core: Core, event: CommandInvoked, _: dict[str, str | int | None]
) -> list[Action]:
    moderator = core.is_moderator(event.invoker, core.policy_for(event.room))
    specs = [s for s in core.registry if s.permission is Permission.MEMBER or moderator]
    return [core.reply(event, texts.help_text(specs, core.prefix(event.room.platform)))]


def named_or_room_policy(
    core: Core, event: CommandInvoked, name: str | int | None
) -> Policy | None:
    if isinstance(name, str):
        return core.policies.current.by_name(name)
    return core.policy_for(event.room)


async def cmd_policy_show(
    core: Core, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    policy = named_or_room_policy(core, event, args.get("name"))
    if policy is None:
        names = ", ".join(p.name for p in core.policies.current.policies) or "none"
        return [core.reply(event, f"No such policy here. Loaded policies: {names}")]
    return [core.reply(event, describe_policy(policy))]


async def cmd_policy_reload(
    core: Core, event: CommandInvoked, _: dict[str, str | int | None]
) -> list[Action]:
    result, actions = await core.reload_policies()
    await core.store.audit(
        event.invoker.platform,
        event.invoker.id,
        "policy reload",
        "ok" if result.ok else f"{len(result.errors)} errors",
        event.at,
    )
    if result.ok:
        names = ", ".join(p.name for p in core.policies.current.policies)
        state = "changed" if result.changed else "unchanged"
        reply = f"Policies reloaded ({state}): {names}"
    else:
        reply = texts.policy_reload_failed(result.errors)
    return [*actions, core.reply(event, reply)]


async def cmd_agreements(
    core: Core, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    policy = named_or_room_policy(core, event, args.get("policy"))
    prefix = core.prefix(event.room.platform)
    if policy is None:
        return [core.reply(event, f"Name a policy: {prefix}agreements <policy>")]
    if not core.is_moderator(event.invoker, policy):
        return [core.reply(event, texts.refused(f"{prefix}agreements"))]
    text_hash = core.text_hash_for_checks(policy)
    if core.policy_for(event.room) == policy:
        rooms = [(event.room.id, event.room.label)]
    else:
        rooms = [
            (s.room_id, s.room_name or s.room_id)
            for s in await core.store.room_states()
            if s.policy == policy.name and s.platform == event.room.platform
        ]
    lines = [f"Agreement to the current reminder of {policy.name}:"]
    for room_id, label in rooms:
        report = await core.store.agreement_report(
            event.room.platform, room_id, policy.name, text_hash
        )
        lines.append(f"{label}: {len(report.agreed)} agreed, {len(report.not_agreed)} not yet")
        if report.not_agreed:
            lines.append("  not yet: " + ", ".join(report.not_agreed))
        if report.agreed:
            lines.append("  agreed: " + ", ".join(report.agreed))
    if not rooms:
        lines.append("no members seen yet")
    return [core.reply(event, "\n".join(lines))]


def describe_policy(policy: Policy) -> str:
    reminder = policy.reminder
    rooms = ", ".join(
        f"{r.platform}:{r.id or r.alias or r.name}"
        + (f" (posting role {r.agreed_role})" if r.agreed_role else "")
        for r in policy.rooms
    )
    repeat = "off"
    if reminder.repeat is not None:
        parts = []
        if reminder.repeat.every_days:
            parts.append(f"every {reminder.repeat.every_days} days")
        if reminder.repeat.every_messages:
            parts.append(f"every {reminder.repeat.every_messages} messages")
        repeat = ", ".join(parts)
    minutes = reminder.fallback_delete_after_minutes
    deleted = f", deleted after {minutes:g} minutes" if minutes is not None else ""
    return "\n".join(
        [
            f"Policy {policy.name} ({policy.source})",
            f"rooms: {rooms}",
            f"delivery: {reminder.delivery} (fallback: {reminder.fallback}{deleted})",
            f"agreement required: {'yes' if reminder.require_agreement else 'no'}"
            f" (unagreed posts: {reminder.unagreed_posts})",
            f"re-ask when the text changes: {'yes' if reminder.reask_on_change else 'no'}",
            f"periodic reminder: {repeat}",
            f"reminder text version: {reminder.text_hash}",
            f"moderators: {len(policy.moderators)}, alert rooms: {len(policy.alerts)}",
        ]
    )
