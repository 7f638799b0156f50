"""What the bot says during check-ins, in one place so the wording can be reviewed whole.

Nothing here is ever sent to a room except the supporters' contact request, which by
construction carries only who asked and what the member chose to share.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.policy.model import CheckinsSpec, QuestionSpec, ResourceSpec

STOP_HINT = "Reply skip to pass a question, or stop to end the check-in at any time."


def intro(spec: CheckinsSpec, prefix: str) -> str:
    lines = [
        "Private check-in",
        "",
        spec.intro.strip(),
        "",
        f"Your check-ins are kept for {spec.retention_days} days. {STOP_HINT} "
        f"See your own entries with {prefix}checkin history, get a copy of everything with "
        f"{prefix}mydata, and erase it all with {prefix}forgetme.",
    ]
    if spec.duty_to_warn:
        lines += ["", "When a person would be told without your yes: " + spec.duty_to_warn.strip()]
    lines += ["", "Do you agree to check in on these terms? Reply agree or decline."]
    return "\n".join(lines)


def continues_privately() -> str:
    return "Your check-in continues in our private chat."


def declined() -> str:
    return "Okay, no check-in. Nothing about it was recorded."


def consent_unclear() -> str:
    return "Please reply agree or decline."


def question(number: int, total: int, prompt: str, choices: Sequence[str]) -> str:
    lines = [f"Question {number} of {total}: {prompt.strip()}"]
    if choices:
        lines.append("  " + "   ".join(f"{i}) {c}" for i, c in enumerate(choices, start=1)))
    else:
        lines.append("  (write your answer)")
    lines.append("  skip / stop")
    return "\n".join(lines)


def not_understood() -> str:
    return "I did not understand that answer; reply with one of the numbers, skip or stop."


def finished(prefix: str) -> str:
    return (
        f"Thank you for checking in. Your answers are saved privately; {prefix}checkin history "
        "shows your recent entries."
    )


def stopped() -> str:
    return "Check-in stopped. The answers you gave so far are saved; nothing else is."


def timed_out(minutes: float) -> str:
    return (
        f"Your check-in closed after {minutes:g} minutes without a reply. The answers you gave "
        "are saved. Start again whenever you like."
    )


def resumed() -> str:
    return "Confidant was restarted; your check-in continues where you left off."


def already_open() -> str:
    return "You have a check-in open; here is where you were."


def not_set_up(prefix: str) -> str:
    return (
        "Check-ins are not set up for you here. Try "
        f"{prefix}checkin in the room of your group, or ask a moderator."
    )


def resources(items: Sequence[ResourceSpec]) -> str:
    lines = ["It sounds like things are hard right now. You do not have to go through it alone:"]
    for item in items:
        parts = [item.name]
        if item.number:
            parts.append(item.number)
        if item.link:
            parts.append(item.link)
        lines.append("  • " + " - ".join(parts))
    return "\n".join(lines)


def offer_contact() -> str:
    return (
        "Would you like a peer supporter to contact you privately? Nobody is told unless you "
        "say yes. Reply yes or no."
    )


def offer_share() -> str:
    return (
        "Should they see your answers from this check-in? If not, they only learn that you "
        "asked for contact. Reply yes or no."
    )


def contact_declined() -> str:
    return "Okay, nobody is told. Let's go on."


def contact_requested(request_id: int, shared: bool) -> str:
    what = "and your answers" if shared else "and nothing else"
    return (
        f"A peer supporter will be asked to contact you (request {request_id}). They see who "
        f"you are {what}. Let's go on."
    )


def duty_to_warn_applies(rule: str) -> str:
    return (
        "This community's duty-to-warn rule applies, so a peer supporter is being told that "
        "you should be contacted (without your answers). The rule: " + rule.strip()
    )


def supporters_request(
    request_id: int, who: str, shared_lines: Sequence[str], prefix: str, duty: bool
) -> str:
    if duty:
        head = (
            f"Contact request {request_id} (duty-to-warn rule): please contact {who} "
            "privately. The member was told; their answers are not shared."
        )
    else:
        head = f"Contact request {request_id}: {who} asked a peer supporter to contact them."
    lines = [head]
    if shared_lines:
        lines.append("They chose to share their check-in answers:")
        lines += [f"  {line}" for line in shared_lines]
    lines.append(f"Claim it with {prefix}claim {request_id} so only one of you answers.")
    return "\n".join(lines)


def claimed_by(request_id: int, who: str) -> str:
    return f"Contact request {request_id} was claimed by {who}."


def claim_won(request_id: int, member: str) -> str:
    return f"Request {request_id} is yours: please write to {member} privately."


def claim_lost(request_id: int, who: str) -> str:
    return f"Request {request_id} was already claimed by {who}."


def claim_missing(request_id: int) -> str:
    return f"There is no open contact request {request_id} for you to claim."


def supporter_coming(who: str) -> str:
    return f"A peer supporter, {who}, will contact you privately soon."


def supporters_only(prefix: str) -> str:
    return f"Only peer supporters can use {prefix}claim."


# -- for moderators ---------------------------------------------------------------------------
def policy_lines(spec: CheckinsSpec | None) -> list[str]:
    """The check-ins section of ``/policy show``: what members are asked and where help
    goes, from the policy alone (no member's data is read to write it)."""
    if spec is None or not spec.enabled:
        return ["check-ins: off"]
    crisis = spec.crisis
    signs = []
    if crisis.keywords:
        signs.append(f"keywords in {', '.join(sorted(crisis.keywords))}")
    if crisis.thresholds:
        count = len(crisis.thresholds)
        signs.append(f"{count} answer threshold" + ("" if count == 1 else "s"))
    lines = [f"check-ins: {len(spec.questions)} questions, each may be skipped:"]
    lines += [f"  {q.id}: {q.prompt.strip()} ({_answer_kind(q)})" for q in spec.questions]
    lines += [
        f"  kept {spec.retention_days} days; a silent check-in closes after "
        f"{spec.timeout_minutes:g} minutes; a missed scheduled one is sent "
        + ("once on return" if spec.missed == "once" else "never (skipped)"),
        f"  crisis resources: {len(crisis.resources)}, shown on "
        + (" and ".join(signs) if signs else "nothing (no keywords or thresholds)"),
    ]
    room = spec.supporters_room
    if room is None:
        lines.append("  peer supporters: none (contact is never offered)")
    else:
        where = f"{room.platform}:{room.id or room.alias or room.name}"
        lines.append(
            f"  peer supporters: {len(spec.supporters)}, contact requests go to {where}, "
            "only after the member's yes"
        )
    lines.append(
        "  duty to warn: "
        + ("yes, a crisis sign tells a supporter without asking (the member is told)"
           if spec.duty_to_warn else "no")
    )
    return lines


def _answer_kind(question: QuestionSpec) -> str:
    if question.kind == "scale":
        return f"scale {question.min}-{question.max}"
    if question.kind == "choice":
        return "choice: " + ", ".join(question.options)
    return "yes/no" if question.kind == "yesno" else "free text"


# -- recurring check-ins --------------------------------------------------------------------
def scheduled_start() -> str:
    return "Time for your scheduled check-in."


def schedule_set(days: str, at: str, zone: str, prefix: str) -> str:
    return (
        f"Your check-in is scheduled: {days} at {at} ({zone}), privately here. Change it with "
        f"{prefix}checkin schedule, hold it with {prefix}checkin snooze or "
        f"{prefix}checkin pause, remove it with {prefix}checkin stop."
    )


def schedule_refused(reason: str, prefix: str) -> str:
    return (
        f"I could not set that schedule: {reason}. For example: "
        f"{prefix}checkin schedule mon,thu 09:00 Europe/Berlin"
    )


def no_schedule(prefix: str) -> str:
    return f"You have no check-in schedule. Set one with {prefix}checkin schedule."


def snoozed(hours: int) -> str:
    unit = "hour" if hours == 1 else "hours"
    return f"Snoozed: no scheduled check-in for the next {hours} {unit}."


def snooze_range(most: int) -> str:
    return f"Snooze for 1 to {most} hours."


def schedule_paused(prefix: str) -> str:
    return f"Scheduled check-ins are paused. {prefix}checkin resume starts them again."


def schedule_resumed(when: str) -> str:
    return f"Scheduled check-ins are on again; the next one is {when}."


def schedule_removed() -> str:
    return "Your check-in schedule is removed. Nothing more will be sent on a schedule."
