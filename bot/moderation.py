"""Moderators' commands and the member commands that read policies (rules, help).

Permission checks happen before these run (in the core's command dispatch). That check
only covers the room a command is used in; in a private chat or the moderators' room any
moderator passes it, so each command here further limits what it shows and does to the
policies the invoker moderates: one community's business stays with its moderators.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import i18n, read_gate, texts
from bot.actions import (
    Action,
)
from bot.checkins import words as checkin_words
from bot.command_words import alias_table
from bot.commands import CommandSpec, Permission
from bot.events import (
    CommandInvoked,
    Member,
)
from bot.i18n import Number, t
from bot.mentions import member_token
from bot.policy import Policy

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger("confidant.core")


async def cmd_rules(
    core: Core, event: CommandInvoked, _: dict[str, str | int | None]
) -> list[Action]:
    """The reminder, worded for what the member did: one who agreed to the current text is
    not asked to agree again; in a private chat each reminder names its rooms and policy."""
    policy = core.policy_for(event.room)
    prefix = core.prefix(event.room.platform)
    member = event.invoker
    if policy is None and event.room.is_private_chat:
        # in a private chat: the reminders of the rooms this member was reminded of
        names = await core.store.policies_reminded(member.platform, member.id)
        found = [p for p in core.policies.current.policies if p.name in names]
        if found:
            parts = []
            for p in found:
                rooms = await core.store.rooms_reminded(member.platform, member.id, p.name)
                labels = sorted({name or room_id for room_id, name in rooms})
                agreed = await _has_agreed(core, member, p)
                parts.append(
                    texts.rules_for(labels, p.name, p.reminder.text, prefix, _asks(p, agreed))
                )
            return [core.reply(event, "\n\n".join(parts))]
    if policy is None:
        return [core.reply(event, texts.no_policy_here(prefix))]
    reminder = policy.reminder
    text = policy.text_in("reminder.text", i18n.current(), reminder.text)  # member's language
    agreed = await _has_agreed(core, member, policy)
    if reminder.require_agreement and agreed:
        return [core.reply(event, texts.rules_agreed(text))]
    return [core.reply(event, texts.reminder_in_room(text, prefix, reminder.require_agreement))]


async def _has_agreed(core: Core, member: Member, policy: Policy) -> bool:
    return await core.store.has_agreed(
        member.platform, member.id, policy.name, core.text_hash_for_checks(policy)
    )


def _asks(policy: Policy, agreed: bool) -> str:
    """What a private /rules says of agreeing: asked, done, or not needed."""
    if not policy.reminder.require_agreement:
        return "none"
    return "agreed" if agreed else "ask"


async def cmd_help(
    core: Core, event: CommandInvoked, _: dict[str, str | int | None]
) -> list[Action]:
    """Only what the caller can use here, under the policy that covers the room (in a
    private chat or an uncovered room: under any policy): a command that would only
    answer "not here" or "only moderators" is noise in a list of what to try."""
    room_policy = core.policy_for(event.room)
    scope = [room_policy] if room_policy is not None else list(core.policies.current.policies)
    specs = [s for s in core.registry if _usable(core, event, s, room_policy, scope)]
    aliases = core.command_aliases(room_policy)
    if event.locale and core.caps(event.room.platform).command_names_by_locale:
        # the names the invoker's client shows (/normas on a Spanish Discord), whatever
        # language the help itself is said in
        words = {word for spec in core.registry for word in spec.words}
        aliases = alias_table(i18n.negotiate(event.locale), words)
    named = {s.name: _typed(s.words, aliases) for s in specs}
    prefix = core.prefix(event.room.platform)
    return [core.reply(event, texts.help_text(specs, prefix, named))]


def _typed(words: tuple[str, ...], aliases: dict[str, str]) -> str:
    """A command as the language's aliases name it (its declared words where none does),
    preferring the catalog's word over a policy's own."""
    said = []
    for word in words:
        options = [typed for typed, declared in aliases.items() if declared == word]
        said.append(options[0] if options else word)
    return " ".join(said)


def _usable(
    core: Core,
    event: CommandInvoked,
    spec: CommandSpec,
    room_policy: Policy | None,
    scope: list[Policy],
) -> bool:
    who = event.invoker
    if not core.handles(spec.name):
        return False
    with_checkins = [p for p in scope if p.checkins is not None]
    if spec.permission is Permission.MODERATOR:
        if not any(core.is_moderator(who, p) for p in scope):
            return False
        return bool(with_checkins) if spec.name.startswith("checkin") else True
    where = room_policy is not None or event.room.is_private_chat
    if spec.name == "rules":
        return where
    if spec.name == "agree":
        return where and any(p.reminder.require_agreement for p in scope)
    if spec.name == "claim":
        return any(
            p.checkins.is_supporter(who.platform, who.id) for p in with_checkins if p.checkins
        )
    if spec.name.startswith("checkin"):
        return bool(with_checkins)
    return True  # help, and a member's own data rights (mydata, forgetme)


def moderated(core: Core, member: Member) -> list[Policy]:
    """Every policy ``member`` moderates: the most any moderator view may cover."""
    return [p for p in core.policies.current.policies if core.is_moderator(member, p)]


def in_view(core: Core, event: CommandInvoked) -> list[Policy]:
    """What a moderator's view covers where the command was used: in a covered room its
    policy (the core let the command through only for that policy's moderators); in a
    private chat or an uncovered room (the moderators' own) every policy they moderate."""
    room_policy = core.policy_for(event.room)
    return [
        p
        for p in moderated(core, event.invoker)
        if room_policy is None or p.name == room_policy.name
    ]


def _your_policies(core: Core, member: Member) -> str:
    return ", ".join(p.name for p in moderated(core, member))  # texts say "none" if empty


def named_or_room_policy(
    core: Core, event: CommandInvoked, name: str | int | None
) -> Policy | None:
    """The named policy if the invoker moderates it, else the room's. A policy they do not
    moderate is answered exactly like a name that does not exist: telling them it is
    there would already be another community's business."""
    if isinstance(name, str):
        policy = core.policies.current.by_name(name)
        return policy if policy is not None and core.is_moderator(event.invoker, policy) else None
    return core.policy_for(event.room)


async def cmd_policy_show(
    core: Core, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    policy = named_or_room_policy(core, event, args.get("name"))
    if policy is None:
        names = _your_policies(core, event.invoker)
        return [core.reply(event, texts.no_such_policy(names))]
    return [core.reply(event, describe_policy(policy))]


async def cmd_policy_reload(
    core: Core, event: CommandInvoked, _: dict[str, str | int | None]
) -> list[Action]:
    """Any moderator may reload, and the answer speaks of their own policies only.

    Why allowed everywhere: a reload reads the whole policy directory as one unit (a broken
    file keeps every policy at its last good version), so it cannot be narrowed to one
    community whichever room it is sent from; refusing it outside a covered room would
    protect nothing and would take the command from moderators who work from their
    moderators' room. A reload does to another community only what its own files on disk
    already say, and the file watcher would apply them within seconds anyway. Why the
    answer is narrowed: which other policies exist, their names and their files' errors
    (which quote keys and values) are their business. Errors in other files are given as a
    count only, because they hold back this moderator's edits too.
    """
    who = event.invoker
    mine = moderated(core, who)  # the authority the command ran under
    result, actions = await core.reload_policies()
    for policy in mine:
        problems = len(result.errors_of(policy))
        detail = "ok" if result.ok else f"failed, {problems} errors in its file"
        await core.store.audit(
            who.platform, who.id, "policy reload", detail, event.at, policy=policy.name
        )
    if result.ok:
        after = moderated(core, who)
        changed = {p.name: p for p in after} != {p.name: p for p in mine}
        reply = texts.policies_reloaded(changed, ", ".join(p.name for p in after))
        return [*actions, core.reply(event, reply)]
    # a failed reload keeps the last good set, so ``mine`` still names the files to match
    own = tuple(e for p in mine for e in result.notices_of(p))
    reply = texts.policy_reload_failed(own).rstrip("\n")
    if others := len(result.errors) - len(own):
        reply += "\n" + texts.reload_errors_elsewhere(others)
    return [*actions, core.reply(event, reply)]


async def cmd_agreements(
    core: Core, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    policy = named_or_room_policy(core, event, args.get("policy"))
    prefix = core.prefix(event.room.platform)
    mine = moderated(core, event.invoker)
    if policy is None and args.get("policy") is None and len(mine) == 1:
        policy = mine[0]  # the one community they moderate needs no naming
    if policy is None:
        names = _your_policies(core, event.invoker)
        return [core.reply(event, texts.name_a_policy(prefix, names))]
    if not core.is_moderator(event.invoker, policy):
        return [core.reply(event, texts.refused(f"{prefix}agreements"))]
    if core.policy_for(event.room) == policy:
        rooms = [(event.room.id, event.room.label)]
    else:
        rooms = [
            (s.room_id, s.room_name or s.room_id)
            for s in await core.store.room_states()
            if s.policy == policy.name and s.platform == event.room.platform
        ]
        # rooms named by id where nothing happened yet still have members (counted by the
        # platform when the bot came in)
        seen = {room_id for room_id, _ in rooms}
        rooms += [
            (ref.id, ref.name or ref.id)
            for ref in policy.rooms
            if ref.platform == event.room.platform and ref.id is not None and ref.id not in seen
        ]
    platform = event.room.platform
    latest = await core.store.latest_agreements(platform, policy.name)
    lines = [texts.agreements_head(policy.name)]
    for room_id, label in rooms:
        members = await core.store.room_member_ids(platform, room_id)
        lines += agreement_lines(label, members, latest, policy.reminder_version)
        lines += await read_gate.admitted_lines(core, policy, platform, room_id)
    if not rooms:
        lines.append(texts.no_members_seen())
    who, shown = event.invoker, f"{len(rooms)} rooms shown"
    await core.store.audit(who.platform, who.id, "agreements", shown, event.at, policy=policy.name)
    return [core.reply(event, "\n".join(lines))]


def agreement_lines(
    label: str, members: list[str], latest: dict[str, tuple[str, str]], current: str
) -> list[str]:
    """One room: who agreed to which version of the text and when (the current version
    first, then earlier ones, newest first), and who agreed to none. Members are tokens
    the adapter renders as names or mentions (see bot.mentions), never raw ids."""
    by_version: dict[str, list[tuple[str, str]]] = {}
    never: list[str] = []
    for member_id in members:
        if member_id in latest:
            version, at = latest[member_id]
            by_version.setdefault(version, []).append((at, member_id))
        else:
            never.append(member_id)
    agreed_now = len(by_version.get(current, []))
    lines = [texts.agreements_room(label, agreed_now, len(members))]
    earlier = sorted(
        (v for v in by_version if v != current), key=lambda v: max(by_version[v]), reverse=True
    )
    for version in ([current] if current in by_version else []) + earlier:
        names = ", ".join(
            f"{member_token(m)} ({at[:16].replace('T', ' ')} UTC)"
            for at, m in sorted(by_version[version])
        )
        lines.append(texts.agreements_version(version == current, version[:8], names))
    if never:
        lines.append(texts.agreements_never(", ".join(member_token(m) for m in never)))
    return lines


def describe_policy(policy: Policy) -> str:
    reminder = policy.reminder
    """/policy show: the policy's settings in the moderator's language; setting values (such
    as ``room_mention``) are shown as the file writes them, so they can be looked up there."""
    rooms = ", ".join(
        f"{r.platform}:{r.id or r.alias or r.name}"
        + (t(" (posting role {role})", role=r.agreed_role) if r.agreed_role else "")
        for r in policy.rooms
    )
    repeat = t("off")
    if reminder.repeat is not None:
        parts = []
        if reminder.repeat.every_days:
            parts.append(t("every {n} days", n=Number(reminder.repeat.every_days)))
        if reminder.repeat.every_messages:
            parts.append(t("every {n} messages", n=Number(reminder.repeat.every_messages)))
        repeat = ", ".join(parts)
    minutes = reminder.fallback_delete_after_minutes
    fallback = reminder.fallback
    if minutes is not None:
        fallback = t(
            "{fallback}, deleted after {minutes} minutes",
            fallback=reminder.fallback,
            minutes=minutes,
        )
    yes, no = t("yes"), t("no")
    return "\n".join(
        [
            t("Policy {policy} ({source})", policy=policy.name, source=policy.source),
            t("rooms: {rooms}", rooms=rooms),
            t(
                "delivery: {delivery} (fallback: {fallback})",
                delivery=reminder.delivery,
                fallback=fallback,
            ),
            t(
                "agreement required: {required} (unagreed posts: {unagreed})",
                required=yes if reminder.require_agreement else no,
                unagreed=reminder.unagreed_posts,
            ),
            t(
                "re-ask when the text changes: {reask}",
                reask=yes if reminder.reask_on_change else no,
            ),
            *read_gate.policy_lines(reminder),
            t("periodic reminder: {repeat}", repeat=repeat),
            t("reminder text version: {version}", version=policy.reminder_version),
            t("language: {language}", language=policy.language),
            t(
                "moderators: {moderators}, alert rooms: {alerts}",
                moderators=len(policy.moderators),
                alerts=len(policy.alerts),
            ),
            *checkin_words.policy_lines(policy.checkins),
        ]
    )
