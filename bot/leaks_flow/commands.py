"""Moderators' leak commands: /flags [MEMBER], /flag resolve|false-positive|show|confirm-action
ID, /audit.

Permission is checked by the core before these run; a moderator further sees only the
flags and audit entries of policies they moderate, so one community's flags stay with its
moderators. Every use is written to the audit log, under the policy it concerned.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from bot import repeat_flags, texts
from bot.actions import Action, ReplyToInvoker, SendPrivate
from bot.events import CommandInvoked, Member
from bot.moderation import in_view, moderated
from bot.store.sqlite import LeakFlag

if TYPE_CHECKING:
    from bot.core import Core
    from bot.leaks_flow.watch import LeakWatch

MAX_FLAGS_SHOWN = 20
MAX_AUDIT_SHOWN = 100


def _moderates(core: Core, event: CommandInvoked, flag: LeakFlag) -> bool:
    policy = core.policies.current.by_name(flag.policy)
    # A flag of a policy no longer loaded has no moderators; asking about "None" would
    # mean "any policy" and show it to every community's moderators.
    return policy is not None and core.is_moderator(event.invoker, policy)


async def _audit(core: Core, event: CommandInvoked, action: str, detail: str, policy: str) -> None:
    who = event.invoker
    await core.store.audit(who.platform, who.id, action, detail, event.at, policy=policy)


async def cmd_flags(
    watch: LeakWatch, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    core = watch.core
    typed = args.get("member")
    if isinstance(typed, str) and typed.strip():
        return await _member_flags(watch, event, typed.strip())
    flags = [f for f in await core.store.open_flags(limit=500) if _moderates(core, event, f)]
    shown = flags[:MAX_FLAGS_SHOWN]
    lines = [
        texts.leak_flag_line(
            f.id,
            f.source_room_name or f.source_room_id,
            f.room_name or f.room_id,
            f.message_id,
            f.poster_id,
            f.signal,
            f.matched,
            f.whole_message,
            f.copy_state,
            f.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
        + (texts.leak_flag_parts_note(f.parts) if f.parts else "")
        for f in shown
    ]
    # One entry per community the view covered, each with its own count, so every
    # community's log says its flags were looked at (also when none were open) and no
    # entry tells one community about another's.
    per_policy = Counter(f.policy for f in shown)
    for policy in moderated(core, event.invoker):
        shown_here = per_policy[policy.name]
        await _audit(core, event, "flags", f"{shown_here} open flags shown", policy.name)
    return [core.reply(event, texts.leak_flags(lines))]


async def cmd_flag(
    watch: LeakWatch, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    core = watch.core
    action, flag_id = str(args["action"]), int(args["id"] or 0)
    if action == "confirm-action":  # the id is a repeat-leaker action's
        return await repeat_flags.cmd_confirm(core, event, flag_id)
    flag = await core.store.flag(flag_id)
    if flag is None or flag.status != "open" or not _moderates(core, event, flag):
        if action == "show" and flag is not None and _moderates(core, event, flag):
            return await _show(watch, event, flag)  # closed: says there is nothing to show
        return [core.reply(event, texts.leak_flag_missing(flag_id))]
    if action == "show":
        return await _show(watch, event, flag)
    by = f"{event.invoker.platform}:{event.invoker.id}"
    held = await watch.held.drop(flag_id)  # a closed flag's held copy goes unread
    outcome = _review_outcome(core, flag, harmless=action != "resolve", held=held)
    if action == "resolve":
        await core.store.close_flag(flag_id, "resolved", by, event.at)
        await _audit(core, event, "flag resolve", f"flag {flag_id}", flag.policy)
        poster = Member(flag.platform, flag.poster_id)
        repeat, line = await repeat_flags.on_confirmed(core, watch.author(poster), flag, event.at)
        reply = texts.leak_flag_resolved(flag_id) + (f"\n{line}" if line else "")
        return [*outcome, *repeat, core.reply(event, reply)]
    stopped = await core.store.flag_fingerprints(flag_id)
    await core.store.add_to_stoplist(stopped, event.at)
    watch.engines.add_stopped(stopped)
    await core.store.close_flag(flag_id, "false_positive", by, event.at)
    detail = f"flag {flag_id}, {len(stopped)} fingerprints stopped"
    await _audit(core, event, "flag false-positive", detail, flag.policy)
    return [*outcome, core.reply(event, texts.leak_flag_false_positive(flag_id, len(stopped)))]


async def _member_flags(watch: LeakWatch, event: CommandInvoked, typed: str) -> list[Action]:
    """``/flags MEMBER``: one member's confirmed flags and repeat actions (audited)."""
    core = watch.core
    mine = moderated(core, event.invoker)
    poster = Member(event.invoker.platform, repeat_flags.member_id(typed))
    text = await repeat_flags.member_history(core, event, watch.author(poster), typed, mine)
    for policy in mine:
        await _audit(core, event, "flags", f"confirmed flags of {poster.id} shown", policy.name)
    return [core.reply(event, text)]


def _review_outcome(core: Core, flag: LeakFlag, harmless: bool, held: bool) -> list[Action]:
    """A copy held for review was taken down with a promise: its poster hears the outcome.
    ``held``: its sealed copy was still kept (and is destroyed now)."""
    policy = core.policies.current.by_name(flag.policy)
    if policy is None or not policy.leaks.actions.hold_for_review:
        return []
    if not core.caps(flag.platform).deletes:
        return []  # nothing was held: the platform could not take it down
    poster = Member(flag.platform, flag.poster_id)
    room = flag.room_name or flag.room_id
    if harmless and held:
        text = texts.leak_review_harmless_after_hold(room)
    else:
        text = texts.leak_review_outcome(room, harmless)
    return [SendPrivate(poster, text, idempotency_key=f"leak-review-{flag.id}")]


async def _show(watch: LeakWatch, event: CommandInvoked, flag: LeakFlag) -> list[Action]:
    """A held copy's words, once, to a moderator of the source room's policy, privately.
    The audit entry says that it was read (or was not there), never what it said."""
    core = watch.core
    text = await watch.held.take(flag.id, core.clock.now())
    outcome = "held copy shown" if text is not None else "no held copy to show"
    await _audit(core, event, "flag show", f"flag {flag.id}, {outcome}", flag.policy)
    if text is None:
        return [core.reply(event, texts.held_copy_gone(flag.id))]
    source = flag.source_room_name or flag.source_room_id
    shown = texts.held_copy_shown(flag.id, source, flag.room_name or flag.room_id, text)
    return [_privately(core, event, flag.id, shown)]


def _privately(core: Core, event: CommandInvoked, flag_id: int, text: str) -> Action:
    """Where only the moderator sees it: the private chat the command came from, the
    command's own ephemeral answer (Discord), else a private message. Never the room:
    if none of these can be had, the words are not shown and the moderator is told so."""
    if event.room.is_private_chat or event.reply_handle is not None:
        return ReplyToInvoker(
            event.room, event.invoker, text, event.reply_handle, private_only=True
        )
    undelivered = texts.held_copy_undelivered(flag_id, core.prefix(event.room.platform))
    return SendPrivate(event.invoker, text, fallback=(core.reply(event, undelivered),))


async def cmd_audit(
    watch: LeakWatch, event: CommandInvoked, args: dict[str, str | int | None]
) -> list[Action]:
    """The entries of the policies in the invoker's view (in a covered room: its policy;
    elsewhere: every policy they moderate). Entries of no policy, a member's /mydata and
    /forgetme and rows older than the policy column, are the admin's (`confidant audit`)."""
    core = watch.core
    limit = args.get("limit")
    count = max(1, min(int(limit), MAX_AUDIT_SHOWN)) if isinstance(limit, int) else 20
    policies = [p.name for p in in_view(core, event)]
    entries = await core.store.audit_entries(count, policies=policies)
    per_policy = Counter(e.policy for e in entries)
    for name in policies:
        await _audit(core, event, "audit", f"{per_policy[name]} entries shown", name)
    shown = [(e.at, e.platform, e.actor_id, e.action, e.detail) for e in entries]
    return [core.reply(event, texts.audit_log(shown))]
