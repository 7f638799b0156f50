"""Which abilities a policy needs in the rooms it covers and the rooms its alerts go to.

An adapter can tell what the bot may do in a room but not what the room's policy asks of
it; this is that second half, so the moderators hear at start about exactly the missing
permissions that will stop their policy working, and about nothing it does not use.
"""

from __future__ import annotations

from bot.events import PRIVATE_THREADS, READ_HISTORY, SEND, VIEW
from bot.policy import Policy

ALERTS = "to post moderator alerts there"


def needed_in_covered_room(policy: Policy) -> dict[str, str]:
    """Ability -> what the policy needs it for, in a room the policy covers."""
    reminder = policy.reminder
    needs = {VIEW: "to see the room at all"}
    posts_in_room = (
        reminder.delivery in ("room", "both", "rules_message")
        or (reminder.delivery == "private" and reminder.fallback == "room_mention")
        or reminder.repeat is not None
    )
    if posts_in_room:
        needs[SEND] = "to post the room's reminder there"
    if reminder.delivery == "private" and reminder.fallback == "private_thread":
        needs[PRIVATE_THREADS] = (
            "to open a private thread for members whose private messages are closed"
        )
    if reminder.delivery == "rules_message":
        needs[READ_HISTORY] = "to check at start that its rules message is still there"
    return needs


def needs_gate_powers(policy: Policy | None) -> bool:
    """Whether a room needs the power to stop members posting or to remove their posts
    (Matrix power levels, Discord Manage Roles/Messages): only a room the policy covers,
    and only when the policy asks members to agree before posting. A room that is only
    watched, an alert room and a supporters' room need neither (``policy`` is None for
    them: no policy covers them)."""
    return policy is not None and policy.reminder.require_agreement


def needed_in_alert_room() -> dict[str, str]:
    return {VIEW: ALERTS, SEND: ALERTS}
