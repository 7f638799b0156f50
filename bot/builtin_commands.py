"""The commands every Confidant has; later features register theirs beside these."""

from __future__ import annotations

from bot.commands import CommandSpec, Param, Permission
from bot.i18n import N_

RULES = CommandSpec("rules", N_("show this room's confidentiality reminder"))
AGREE = CommandSpec(
    "agree",
    N_("agree to keep this room's reminder"),
    params=(
        Param(
            N_("policy"), N_("which reminder, in a private chat where several wait"), required=False
        ),
    ),
)
HELP = CommandSpec("help", N_("list the commands you can use"))
POLICY_SHOW = CommandSpec(
    "policy show",
    N_("show the policy that covers this room (or the named one)"),
    Permission.MODERATOR,
    (Param(N_("name"), N_("policy name"), required=False),),
)
POLICY_RELOAD = CommandSpec(
    "policy reload", N_("reload the policy files now"), Permission.MODERATOR
)
AGREEMENTS = CommandSpec(
    "agreements",
    N_("who has and has not agreed to the current reminder"),
    Permission.MODERATOR,
    (Param(N_("policy"), N_("policy name (needed outside a covered room)"), required=False),),
)

FLAGS = CommandSpec(
    "flags",
    N_("recent open leak flags, or one member's confirmed flags"),
    Permission.MODERATOR,
    (
        Param(
            N_("member"),
            N_("a member (mention or id) to see their confirmed flags"),
            required=False,
        ),
    ),
)
# One command with a choice rather than "flag resolve" / "flag false-positive": command words
# must be identifiers, and a hyphen is what moderators will type.
# "show" reads a copy held for review, once, privately (see bot/leaks_flow/held.py).
FLAG = CommandSpec(
    "flag",
    N_(
        "close a leak flag: resolve it, or mark it a false positive (its phrasing is ignored);"
        " show its held copy, once; or confirm a proposed action against a repeat leaker"
    ),
    Permission.MODERATOR,
    (
        Param(
            N_("action"),
            N_("what to do"),
            choices=("resolve", "false-positive", "show", "confirm-action"),
        ),
        Param(N_("id"), N_("the flag's (or proposed action's) number"), kind=int),
    ),
)
AUDIT = CommandSpec(
    "audit",
    N_("the audit log of moderator actions"),
    Permission.MODERATOR,
    (Param(N_("limit"), N_("how many entries (default 20)"), kind=int, required=False),),
)

# Check-ins: "/checkin" alone starts one (see GROUP_DEFAULTS): a group cannot also be a
# command of its own on Discord, so the text platforms map the bare word to "checkin start".
CHECKIN_START = CommandSpec("checkin start", N_("start a private check-in"))
CHECKIN_HISTORY = CommandSpec("checkin history", N_("your own recent check-ins, privately"))
CHECKIN_STATS = CommandSpec(
    "checkin stats", N_("check-in counts per week (never answers)"), Permission.MODERATOR
)
CHECKIN_SCHEDULE = CommandSpec(
    "checkin schedule",
    N_("a recurring private check-in at a local time (e.g. mon,thu 09:00 Europe/Berlin)"),
    params=(
        Param(N_("days"), N_("days, e.g. mon,thu or weekdays or daily")),
        Param(N_("time"), N_("local time, e.g. 09:00")),
        Param(N_("zone"), N_("your time zone, e.g. Europe/Berlin")),
    ),
)
CHECKIN_SNOOZE = CommandSpec(
    "checkin snooze",
    N_("hold your scheduled check-ins for some hours"),
    params=(Param(N_("hours"), N_("how many hours"), kind=int),),
)
CHECKIN_PAUSE = CommandSpec("checkin pause", N_("pause your scheduled check-ins"))
CHECKIN_RESUME = CommandSpec("checkin resume", N_("resume your paused scheduled check-ins"))
CHECKIN_STOP = CommandSpec("checkin stop", N_("remove your check-in schedule"))
CLAIM = CommandSpec(
    "claim",
    N_("peer supporters: take a contact request so only one of you answers"),
    params=(Param(N_("id"), N_("the request's number"), kind=int),),
)
MYDATA = CommandSpec("mydata", N_("get a copy of everything Confidant holds about you"))
FORGETME = CommandSpec(
    "forgetme",
    N_("erase everything Confidant holds about you"),
    params=(
        Param(N_("confirm"), N_("say confirm to go ahead"), required=False, choices=("confirm",)),
    ),
)

# Members' private reports to their moderators (see bot/reports.py for why options, not a
# conversation). On text platforms the line is read forgivingly: "/report", "/report named
# <link> what happened"; on Discord the options are separate fields only the member sees.
REPORT = CommandSpec(
    "report",
    N_("tell the moderators privately about something here (anonymous unless you choose named)"),
    params=(
        Param(
            N_("link"), N_("a message link (leave empty for the room you are in)"), required=False
        ),
        Param(
            N_("name"),
            N_("named: let the moderators see who you are (default: anonymous)"),
            required=False,
        ),
        Param(
            N_("words"),
            N_("your own words for the moderators (optional, not kept)"),
            required=False,
            rest=True,
        ),
    ),
)
ANSWER = CommandSpec(
    "answer",
    N_("answer a member's report; it reaches them privately"),
    Permission.MODERATOR,
    (
        Param(N_("id"), N_("the report's number"), kind=int),
        Param(N_("text"), N_("your answer"), rest=True),
    ),
)

# A bare group word typed on a text platform runs this command of the group.
GROUP_DEFAULTS = {"checkin": CHECKIN_START.name}

BUILTIN_COMMANDS = (
    RULES,
    AGREE,
    HELP,
    POLICY_SHOW,
    POLICY_RELOAD,
    AGREEMENTS,
    FLAGS,
    FLAG,
    AUDIT,
    CHECKIN_START,
    CHECKIN_HISTORY,
    CHECKIN_STATS,
    CHECKIN_SCHEDULE,
    CHECKIN_SNOOZE,
    CHECKIN_PAUSE,
    CHECKIN_RESUME,
    CHECKIN_STOP,
    CLAIM,
    MYDATA,
    FORGETME,
    REPORT,
    ANSWER,
)
