"""What the bot says during check-ins, in one place so the wording can be reviewed whole.

Every sentence comes whole from the message catalogs (bot/i18n.py). The words a member
replies with (agree, skip, stop, yes, no) are placeholders: the sentence says whichever word
the check-in accepts.

Nothing here is ever sent to a room except the supporters' contact request, which by
construction carries only who asked and what the member chose to share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.i18n import N_, Number, t, tn
from bot.policy.model import CheckinsSpec, QuestionSpec, ResourceSpec

_REPLY_WORDS = {  # what a member may type, as the check-in reads it, and in their language
    "agree": N_("agree"),
    "decline": N_("decline"),
    "skip": N_("skip"),
    "stop": N_("stop"),
    "yes": N_("yes"),
    "no": N_("no"),
}


def reply_word(word: str) -> str:
    """The word a member types to answer (agree, decline, skip, stop, yes, no) in the
    language spoken; the English word is always understood too (see :func:`canonical`)."""
    return t(_REPLY_WORDS[word]) if word in _REPLY_WORDS else word


def canonical(said: str) -> str:
    """A member's reply as the check-in reads it: a reply word of the language spoken
    ("saltar", "ja") becomes the English word it stands for; anything else is unchanged."""
    folded = said.strip().casefold()
    for word in _REPLY_WORDS:
        if folded == reply_word(word).casefold():
            return word
    return said


def _replies() -> dict[str, str]:
    return {w: reply_word(w) for w in ("agree", "decline", "skip", "stop", "yes", "no")}


def stop_hint() -> str:
    return t(
        "Reply {skip} to pass a question, or {stop} to end the check-in at any time.",
        **_replies(),
    )


def intro(spec: CheckinsSpec, prefix: str) -> str:
    kept = tn(
        "Your check-ins are kept for {n} day.",
        "Your check-ins are kept for {n} days.",
        spec.retention_days,
    )
    rights = t(
        "See your own entries with {prefix}checkin history, get a copy of everything with "
        "{prefix}mydata, and erase it all with {prefix}forgetme.",
        prefix=prefix,
    )
    lines = [t("Private check-in"), "", spec.intro.strip(), "", f"{kept} {stop_hint()} {rights}"]
    if spec.duty_to_warn:
        lines += [
            "",
            t("When a person would be told without your yes:") + " " + spec.duty_to_warn.strip(),
        ]
    lines += [
        "",
        t("Do you agree to check in on these terms? Reply {agree} or {decline}.", **_replies()),
    ]
    return "\n".join(lines)


def continues_privately() -> str:
    return t("Your check-in continues in our private chat.")


def declined() -> str:
    return t("Okay, no check-in. Nothing about it was recorded.")


def consent_unclear() -> str:
    return t("Please reply {agree} or {decline}.", **_replies())


def question(number: int, total: int, prompt: str, choices: Sequence[str]) -> str:
    lines = [
        t("Question {number} of {total}:", number=number, total=total) + f" {prompt.strip()}"
    ]
    if choices:
        lines.append("  " + "   ".join(f"{i}) {c}" for i, c in enumerate(choices, start=1)))
    else:
        lines.append("  " + t("(write your answer)"))
    lines.append(f"  {reply_word('skip')} / {reply_word('stop')}")
    return "\n".join(lines)


def not_understood() -> str:
    return t(
        "I did not understand that answer; reply with one of the numbers, {skip} or {stop}.",
        **_replies(),
    )


def finished(prefix: str) -> str:
    return t(
        "Thank you for checking in. Your answers are saved privately; {prefix}checkin history "
        "shows your recent entries.",
        prefix=prefix,
    )


def stopped() -> str:
    return t("Check-in stopped. The answers you gave so far are saved; nothing else is.")


def timed_out(minutes: float) -> str:
    count = int(minutes) if float(minutes).is_integer() else 2
    return tn(
        "Your check-in closed after {n} minute without a reply. The answers you gave are "
        "saved. Start again whenever you like.",
        "Your check-in closed after {n} minutes without a reply. The answers you gave are "
        "saved. Start again whenever you like.",
        count,
        n=minutes,
    )


def resumed() -> str:
    return t("Confidant was restarted; your check-in continues where you left off.")


def already_open() -> str:
    return t("You have a check-in open; here is where you were.")


def not_set_up(prefix: str) -> str:
    return t(
        "Check-ins are not set up for you here. Try {prefix}checkin in the room of your "
        "group, or ask a moderator.",
        prefix=prefix,
    )


def resources(items: Sequence[ResourceSpec]) -> str:
    lines = [
        t(
            "It sounds like things are hard right now. You do not have to go through it "
            "alone:"
        )
    ]
    for item in items:
        parts = [item.name]
        if item.number:
            parts.append(item.number)
        if item.link:
            parts.append(item.link)
        lines.append("  • " + " - ".join(parts))
    return "\n".join(lines)


def offer_contact() -> str:
    return t(
        "Would you like a peer supporter to contact you privately? Nobody is told unless you "
        "say {yes}. Reply {yes} or {no}.",
        **_replies(),
    )


def offer_share() -> str:
    return t(
        "Should they see your answers from this check-in? If not, they only learn that you "
        "asked for contact. Reply {yes} or {no}.",
        **_replies(),
    )


def contact_declined() -> str:
    return t("Okay, nobody is told. Let's go on.")


def contact_requested(request_id: int, shared: bool) -> str:
    if shared:
        return t(
            "A peer supporter will be asked to contact you (request {request}). They see who "
            "you are and your answers. Let's go on.",
            request=request_id,
        )
    return t(
        "A peer supporter will be asked to contact you (request {request}). They see who you "
        "are and nothing else. Let's go on.",
        request=request_id,
    )


def duty_to_warn_applies(rule: str) -> str:
    return t(
        "This community's duty-to-warn rule applies, so a peer supporter is being told that "
        "you should be contacted (without your answers). The rule:"
    ) + " " + rule.strip()


def supporters_request(
    request_id: int, who: str, shared_lines: Sequence[str], prefix: str, duty: bool
) -> str:
    if duty:
        head = t(
            "Contact request {request} (duty-to-warn rule): please contact {who} privately. "
            "The member was told; their answers are not shared.",
            request=request_id,
            who=who,
        )
    else:
        head = t(
            "Contact request {request}: {who} asked a peer supporter to contact them.",
            request=request_id,
            who=who,
        )
    lines = [head]
    if shared_lines:
        lines.append(t("They chose to share their check-in answers:"))
        lines += [f"  {line}" for line in shared_lines]
    lines.append(
        t(
            "Claim it with {prefix}claim {request} so only one of you answers.",
            prefix=prefix,
            request=request_id,
        )
    )
    return "\n".join(lines)


def claimed_by(request_id: int, who: str) -> str:
    return t("Contact request {request} was claimed by {who}.", request=request_id, who=who)


def claim_won(request_id: int, member: str) -> str:
    return t(
        "Request {request} is yours: please write to {member} privately.",
        request=request_id,
        member=member,
    )


def claim_lost(request_id: int, who: str) -> str:
    return t("Request {request} was already claimed by {who}.", request=request_id, who=who)


def claim_missing(request_id: int) -> str:
    return t("There is no open contact request {request} for you to claim.", request=request_id)


def supporter_coming(who: str) -> str:
    return t("A peer supporter, {who}, will contact you privately soon.", who=who)


def supporters_only(prefix: str) -> str:
    return t("Only peer supporters can use {prefix}claim.", prefix=prefix)


# -- for moderators ---------------------------------------------------------------------------
def policy_lines(spec: CheckinsSpec | None) -> list[str]:
    """The check-ins section of ``/policy show``: what members are asked and where help
    goes, from the policy alone (no member's data is read to write it)."""
    if spec is None or not spec.enabled:
        return [t("check-ins: off")]
    crisis = spec.crisis
    signs = []
    if crisis.keywords:
        signs.append(t("keywords in {languages}", languages=", ".join(sorted(crisis.keywords))))
    if crisis.thresholds:
        count = len(crisis.thresholds)
        signs.append(tn("{n} answer threshold", "{n} answer thresholds", count))
    lines = [t("check-ins: {n} questions, each may be skipped:", n=len(spec.questions))]
    lines += [f"  {q.id}: {q.prompt.strip()} ({_answer_kind(q)})" for q in spec.questions]
    missed = t("once on return") if spec.missed == "once" else t("never (skipped)")
    shown_on = t(" and ").join(signs) if signs else t("nothing (no keywords or thresholds)")
    lines += [
        "  "
        + t(
            "kept {days} days; a silent check-in closes after {minutes} minutes; a missed "
            "scheduled one is sent {missed}",
            days=Number(spec.retention_days),
            minutes=spec.timeout_minutes,
            missed=missed,
        ),
        "  "
        + t(
            "crisis resources: {count}, shown on {signs}",
            count=len(crisis.resources),
            signs=shown_on,
        ),
    ]
    room = spec.supporters_room
    if room is None:
        lines.append("  " + t("peer supporters: none (contact is never offered)"))
    else:
        where = f"{room.platform}:{room.id or room.alias or room.name}"
        lines.append(
            "  "
            + t(
                "peer supporters: {count}, contact requests go to {where}, only after the "
                "member's yes",
                count=len(spec.supporters),
                where=where,
            )
        )
    if spec.duty_to_warn:
        lines.append(
            "  "
            + t(
                "duty to warn: yes, a crisis sign tells a supporter without asking (the member "
                "is told)"
            )
        )
    else:
        lines.append("  " + t("duty to warn: no"))
    return lines


def _answer_kind(question: QuestionSpec) -> str:
    if question.kind == "scale":
        return t("scale {low}-{high}", low=question.min, high=question.max)
    if question.kind == "choice":
        return t("choice: {options}", options=", ".join(question.options))
    return t("yes/no") if question.kind == "yesno" else t("free text")


# -- recurring check-ins --------------------------------------------------------------------
def scheduled_start() -> str:
    return t("Time for your scheduled check-in.")


def schedule_set(days: str, at: str, zone: str, prefix: str) -> str:
    return t(
        "Your check-in is scheduled: {days} at {at} ({zone}), privately here. Change it with "
        "{prefix}checkin schedule, hold it with {prefix}checkin snooze or {prefix}checkin "
        "pause, remove it with {prefix}checkin stop.",
        days=days,
        at=at,
        zone=zone,
        prefix=prefix,
    )


def schedule_refused(reason: str, prefix: str) -> str:
    return t(
        "I could not set that schedule: {reason}. For example: {prefix}checkin schedule "
        "mon,thu 09:00 Europe/Berlin",
        reason=reason,
        prefix=prefix,
    )


def no_schedule(prefix: str) -> str:
    return t("You have no check-in schedule. Set one with {prefix}checkin schedule.", prefix=prefix)


def snoozed(hours: int) -> str:
    return tn(
        "Snoozed: no scheduled check-in for the next {n} hour.",
        "Snoozed: no scheduled check-in for the next {n} hours.",
        hours,
    )


def snooze_range(most: int) -> str:
    return t("Snooze for 1 to {most} hours.", most=most)


def schedule_paused(prefix: str) -> str:
    return t(
        "Scheduled check-ins are paused. {prefix}checkin resume starts them again.",
        prefix=prefix,
    )


def schedule_resumed(when: str) -> str:
    return t("Scheduled check-ins are on again; the next one is {when}.", when=when)


def schedule_removed() -> str:
    return t("Your check-in schedule is removed. Nothing more will be sent on a schedule.")


# -- a member's history, and the moderators' counts -------------------------------------------
_STATUSES = {
    "open": N_("open"),
    "complete": N_("complete"),
    "stopped": N_("stopped"),
    "timed_out": N_("timed out"),
}


def history_empty() -> str:
    return t("You have no check-ins yet.")


def history(lines: Sequence[str], trend: str) -> str:
    out = [t("Your recent check-ins, newest first:"), *lines]
    if trend:
        out += ["", t("Mood, oldest to newest: {trend}", trend=trend)]
    return "\n".join(out)


def history_line(when: str, status: str, answers: Sequence[str]) -> str:
    shown = t(_STATUSES[status]) if status in _STATUSES else status.replace("_", " ")
    said = "; ".join(answers) or t("no answers")
    return f"  {when} ({shown}): {said}"


def answer_skipped(label: str) -> str:
    return t("{question} (skipped)", question=label)


def stats_none() -> str:
    return t("No check-ins are set up in policies you moderate.")


def stats_head(policies: Sequence[str]) -> str:
    return t("Check-ins ({policies}), by week:", policies=", ".join(policies))


def stats_week(week: str, total: int, complete: int, contact: int) -> str:
    return "  " + t(
        "{week}: {total} check-ins, {complete} finished, {contact} asked for contact",
        week=week,
        total=total,
        complete=complete,
        contact=contact,
    )


def stats_none_yet() -> str:
    return "  " + t("none yet")


def stats_waiting() -> str:
    return t("Contact requests not yet claimed (these members asked to be contacted):")


_WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def local_time(fire: datetime) -> str:
    """A scheduled check-in's time on the member's own clock, the weekday in their words."""
    return f"{t(_WEEKDAYS[fire.weekday()])} {fire.strftime('%Y-%m-%d %H:%M %Z')}"


def paused() -> str:
    return t("paused")


def next_fire(when: str) -> str:
    return t("Next: {when}.", when=when)


def member_label(platform: str, member_id: str) -> str:
    """A member named to the supporters by platform and id (never a display name)."""
    return t("{platform} user {member}", platform=platform, member=member_id)
