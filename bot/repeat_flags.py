"""Repeat leakers: confirmed flags per member, shown to moderators, and what the policy sets
after N of them within D days (``leaks: repeat:``).

A member is known here only by their keyed hash (the deployment key, as fingerprints name
their authors), so the history holds no id and no text. A timeout or a removal waits for a
moderator's ``/flag confirm-action ID`` unless the policy says automatic; a timeout's end is
stored, so the restoration is sent by the periodic tick even after a restart. The bot's
actions themselves are audited where the runtime reports them done (bot/bot_audit.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import texts
from bot.actions import Action, AlertModerators, DeleteMessage, RemoveFromRoom, TimeoutMember
from bot.events import CommandInvoked, Member, Room
from bot.policy import Policy
from bot.store.rows import LeakFlag, RepeatAction

if TYPE_CHECKING:
    from bot.core import Core
    from bot.jobs import PlatformCheck

MENTION = re.compile(r"^<@!?(\d+)>$")  # a Discord mention typed into a text option


def member_id(typed: str) -> str:
    """A mention or an id as typed: ``<@123>`` -> ``123``; ``@bob:example.org`` stays."""
    typed = typed.strip()
    found = MENTION.match(typed)
    return found.group(1) if found else typed


async def recent(core: Core, author: bytes, policy: Policy, at: datetime) -> int:
    since = at - timedelta(days=policy.leaks.repeat.days)
    return len(await core.store.confirmed_flags(author, [policy.name], since))


async def mark_alerts(
    core: Core, author: bytes, flag: LeakFlag, actions: list[Action]
) -> list[Action]:
    """A new flag's alerts name the poster's earlier confirmed flags, marked as repeated
    once they reach the policy's count."""
    policy = core.policies.current.by_name(flag.policy)
    if policy is None:
        return actions
    earlier = await recent(core, author, policy, flag.created_at)
    if not earlier:
        return actions
    spec = policy.leaks.repeat
    line = texts.repeat_earlier(earlier, spec.days, spec.count)

    def marked(action: Action) -> Action:
        if isinstance(action, AlertModerators):
            return replace(action, text=f"{action.text}\n{line}")
        if isinstance(action, DeleteMessage):  # the alerts said once the copy is gone, or not
            return replace(
                action,
                then=tuple(marked(a) for a in action.then),
                otherwise=tuple(marked(a) for a in action.otherwise),
            )
        return action

    return [marked(a) for a in actions]


async def on_confirmed(
    core: Core, author: bytes, flag: LeakFlag, at: datetime
) -> tuple[list[Action], str]:
    """A flag resolved as real: counted; past the policy's mark, its consequence is proposed
    (or carried out, if automatic). Returns the actions and a line for the moderator."""
    await core.store.record_confirmed_flag(author, flag.policy, flag.id, at)
    policy = core.policies.current.by_name(flag.policy)
    if policy is None:
        return [], ""
    spec = policy.leaks.repeat
    count = await recent(core, author, policy, at)
    # the first is no repeat: said only when the policy acts on it
    line = texts.repeat_count(count, spec.days)
    if count < spec.count or spec.action == "mark" or flag.poster_id == "(erased)":
        return [], line if count > 1 else ""
    proposed = await core.store.add_repeat_action(
        RepeatAction(
            0,
            flag.platform,
            flag.poster_id,
            policy.name,
            spec.action,
            flag.id,
            "proposed",
            spec.timeout_minutes if spec.action == "timeout" else None,
            None,
            at,
        )
    )
    what = describe(proposed)
    # Every moderator of the policy hears of it, not only the one who resolved the flag.
    head = texts.repeat_leaker(flag.id, count, spec.days, spec.count)
    if spec.automatic:
        told = core.alerts_to([policy], texts.repeat_done(head, what))
        actions = await carry_out(core, proposed, at)
        return [*told, *actions], texts.repeat_done_line(line, spec.count, what)
    alert_prefix = core.prefix(policy.alerts[0].platform) if policy.alerts else "/"
    told = core.alerts_to(
        [policy], texts.repeat_proposed(head, what, alert_prefix, proposed.id)
    )
    prefix = core.prefix(flag.platform)
    return told, texts.repeat_proposed_line(line, spec.count, what, prefix, proposed.id)


def describe(action: RepeatAction) -> str:
    return texts.repeat_action(action.kind, action.id, action.minutes)


async def rooms_of(core: Core, policy: Policy, platform: str) -> list[Room]:
    """The policy's rooms on a platform: those the bot has seen, and those named by id."""
    rooms = [
        Room(s.platform, s.room_id, s.room_name)
        for s in await core.store.room_states()
        if s.policy == policy.name and s.platform == platform
    ]
    seen = {r.id for r in rooms}
    rooms += [
        Room(platform, ref.id)
        for ref in policy.rooms
        if ref.platform == platform and ref.id is not None and ref.id not in seen
    ]
    return rooms


async def carry_out(core: Core, action: RepeatAction, at: datetime) -> list[Action]:
    policy = core.policies.current.by_name(action.policy)
    if policy is None:
        return []
    until = at + timedelta(minutes=action.minutes or 0) if action.kind == "timeout" else None
    if not await core.store.set_repeat_action(action.id, "done", "proposed", at, until):
        return []
    member = Member(action.platform, action.member_id)
    reason = f"repeat leaker, action {action.id} after flag {action.flag_id}"
    rooms = await rooms_of(core, policy, action.platform)
    if action.kind == "timeout":
        return [TimeoutMember(r, member, until, policy.name, reason) for r in rooms]
    return [RemoveFromRoom(r, member, policy.name, reason) for r in rooms]


async def restorations_due(core: Core, mine: PlatformCheck | None = None) -> list[Action]:
    """Timeouts whose end came (also while the bot was down): posting is given back. With
    several processes (bot/jobs.py), by the one whose the member's platform is (``mine``);
    the status moves from done once, so only one of two racing gives it back."""
    now = core.clock.now()
    actions: list[Action] = []
    for due in await core.store.repeat_actions_due(now):
        if mine is not None and not await mine(due.platform):
            continue
        policy = core.policies.current.by_name(due.policy)
        if not await core.store.set_repeat_action(due.id, "restored", "done", now):
            continue
        if policy is None:
            continue
        member = Member(due.platform, due.member_id)
        reason = f"timeout of action {due.id} ended"
        # A member the agreement gate still holds must not get posting back with the end of
        # the timeout (on Matrix both are one power level; Discord's timeout is separate).
        gated = policy.reminder.require_agreement and not await core.store.has_agreed(
            due.platform, due.member_id, policy.name, core.text_hash_for_checks(policy)
        )
        if gated:
            reason += "; posting stays held until they agree"
        rooms = await rooms_of(core, policy, due.platform)
        actions += [
            TimeoutMember(r, member, None, policy.name, reason, restore_posting=not gated)
            for r in rooms
        ]
    return actions


async def cmd_confirm(core: Core, event: CommandInvoked, action_id: int) -> list[Action]:
    """``/flag confirm-action ID``: a moderator of the action's policy confirms it."""
    proposed = await core.store.repeat_action(action_id)
    policy = core.policies.current.by_name(proposed.policy) if proposed else None
    if (
        proposed is None
        or policy is None
        or proposed.status != "proposed"
        or not core.is_moderator(event.invoker, policy)
    ):
        return [core.reply(event, texts.no_proposed_action(action_id))]
    actions = await carry_out(core, proposed, event.at)
    who = event.invoker
    detail = f"action {action_id}: {describe(proposed)}, member {proposed.member_id}"
    await core.store.audit(
        who.platform, who.id, "flag confirm-action", detail, event.at, policy=policy.name
    )
    reply = texts.repeat_confirmed(describe(proposed), applied=bool(actions))
    return [*actions, core.reply(event, reply)]


async def member_history(
    core: Core, event: CommandInvoked, author: bytes, typed: str, policies: list[Policy]
) -> str:
    """``/flags MEMBER``: their confirmed flags and the actions taken, in the invoker's view."""
    names = [p.name for p in policies]
    confirmed = await core.store.confirmed_flags(author, names)
    lines = [texts.member_flags_head(typed, len(confirmed))]
    lines += [
        texts.member_flag_line(fid, policy, f"{at:%Y-%m-%d %H:%M}") for fid, policy, at in confirmed
    ]
    taken = [
        a
        for a in await core.store.member_repeat_actions(event.invoker.platform, member_id(typed))
        if a.policy in names
    ]
    for a in taken:
        until = f"{a.until:%Y-%m-%d %H:%M}" if a.until else None
        lines.append(texts.member_action_line(describe(a), a.status, until))
    return "\n".join(lines)
