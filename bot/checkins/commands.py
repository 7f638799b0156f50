"""The check-in commands besides /checkin itself: a member's history, the moderators'
aggregates, and a supporter's /claim.

Moderators see counts only; a name appears in their view only for a member who asked a
peer supporter for contact, because that member chose to be known.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from bot.actions import Action, AlertModerators, Attachment, SendPrivate
from bot.checkins import questions as q
from bot.checkins import words
from bot.checkins.flow import UNSENT, member_label
from bot.events import CommandInvoked, Member
from bot.private_answers import confirmed
from bot.store.rows import Checkin

if TYPE_CHECKING:
    from bot.checkins.flow import Checkins

HISTORY_SHOWN = 10
STATS_WEEKS = 8
Args = dict[str, str | int | None]


def privately(
    checkins: Checkins, event: CommandInvoked, text: str, attachment: Attachment | None = None
) -> list[Action]:
    """A member's own data goes to the private chat; in a room only a pointer to it."""
    return confirmed(
        checkins.core, event, [SendPrivate(event.invoker, text, attachment=attachment)]
    )


async def cmd_history(checkins: Checkins, event: CommandInvoked, _: Args) -> list[Action]:
    member = event.invoker
    recent = [
        c for c in await checkins.core.store.member_checkins(
            member.platform, member.id, HISTORY_SHOWN
        )
        if c.status != UNSENT  # opened for a scheduled fire the member never received
    ]
    if not recent:
        return privately(checkins, event, words.history_empty())
    lines = []
    for checkin in recent:
        spec = checkins.spec(checkin.policy)
        when = checkin.started_at.strftime("%Y-%m-%d %H:%M UTC")
        answers = await checkins.answer_lines(checkin, spec)
        lines.append(words.history_line(when, checkin.status, answers))
    trend = await _mood_trend(checkins, list(reversed(recent)))
    return privately(checkins, event, words.history(lines, trend))


async def _mood_trend(checkins: Checkins, oldest_first: list[Checkin]) -> str:
    """The first scale question of each check-in's policy is its mood."""
    values: list[int | None] = []
    low = high = None
    for checkin in oldest_first:
        spec = checkins.spec(checkin.policy)
        scale = next((x for x in spec.questions if x.kind == "scale"), None) if spec else None
        if scale is None:
            continue
        low, high = scale.min, scale.max
        found: int | None = None
        for row in await checkins.core.store.checkin_answers(checkin.id):
            if row.question_id == scale.id and row.sealed is not None:
                value = checkins.sealer.open(checkin.id, row.question_id, row.sealed)
                found = value if isinstance(value, int) else None
        values.append(found)
    if low is None or high is None or not values:
        return ""
    return q.sparkline(values, low, high)


def _week(checkin: Checkin) -> str:
    year, week, _ = checkin.started_at.isocalendar()
    return f"{year}-W{week:02d}"


async def cmd_stats(checkins: Checkins, event: CommandInvoked, _: Args) -> list[Action]:
    """Counts per ISO week for the policies the moderator moderates; never an answer."""
    core = checkins.core
    room_policy = core.policy_for(event.room)
    policies = [
        p.name
        for p in core.policies.current.policies
        if p.checkins is not None
        and core.is_moderator(event.invoker, p)
        and (room_policy is None or p.name == room_policy.name)
    ]
    if not policies:
        return [core.reply(event, words.stats_none())]
    rows = await core.store.checkins_of_policies(policies)
    total, complete, contact = Counter[str](), Counter[str](), Counter[str]()
    for checkin in rows:
        week = _week(checkin)
        total[week] += 1
        complete[week] += checkin.status == "complete"
        contact[week] += checkin.asked_contact
    lines = [words.stats_head(policies)]
    for week in sorted(total, reverse=True)[:STATS_WEEKS]:
        lines.append(words.stats_week(week, total[week], complete[week], contact[week]))
    if not total:
        lines.append(words.stats_none_yet())
    requests = await core.store.escalations_of_policies(policies)
    waiting = [r for r in requests if r.claimed_by is None]
    if waiting:
        lines.append(words.stats_waiting())
        lines += [f"  {r.id}: {member_label(r.platform, r.member_id)}" for r in waiting]
    # one entry per community counted, each with its own count: each community's log
    # shows its numbers were looked at, and none tells one community about another
    counted = Counter(checkin.policy for checkin in rows)
    who = event.invoker
    for name in policies:
        detail = f"{counted[name]} counted"
        await core.store.audit(who.platform, who.id, "checkin stats", detail, event.at, name)
    return [core.reply(event, "\n".join(lines))]


async def cmd_claim(checkins: Checkins, event: CommandInvoked, args: Args) -> list[Action]:
    core, who = checkins.core, event.invoker
    prefix = core.prefix(event.room.platform)
    supports = [
        p
        for p in core.policies.current.policies
        if p.checkins is not None and p.checkins.is_supporter(who.platform, who.id)
    ]
    if not supports:
        return [core.reply(event, words.supporters_only(prefix))]
    request_id = int(args["id"] or 0)
    request = await core.store.escalation(request_id)
    if request is None or request.policy not in {p.name for p in supports}:
        return [core.reply(event, words.claim_missing(request_id))]
    by = f"{who.platform}:{who.id}"
    if not await core.store.claim_escalation(request_id, by, event.at):
        fresh = await core.store.escalation(request_id)
        holder = fresh.claimed_by if fresh and fresh.claimed_by else "someone"
        return [core.reply(event, words.claim_lost(request_id, holder))]
    detail = f"contact request {request_id}"
    await core.store.audit(who.platform, who.id, "claim", detail, event.at, request.policy)
    spec = checkins.spec(request.policy)
    member = Member(request.platform, request.member_id)
    actions: list[Action] = [
        core.reply(event, words.claim_won(request_id, member_label(member.platform, member.id))),
        SendPrivate(member, words.supporter_coming(member_label(who.platform, who.id))),
    ]
    room = spec.supporters_room if spec else None
    if room is not None:
        target = room.id or room.alias or room.name or ""
        actions.append(AlertModerators(room.platform, target, words.claimed_by(request_id, by)))
    return actions
