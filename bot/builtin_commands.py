"""The commands every Confidant has; later features register theirs beside these."""

from __future__ import annotations

from bot.commands import CommandSpec, Param, Permission

RULES = CommandSpec("rules", "show this room's confidentiality reminder")
AGREE = CommandSpec("agree", "agree to keep this room's reminder")
HELP = CommandSpec("help", "list the commands you can use")
POLICY_SHOW = CommandSpec(
    "policy show",
    "show the policy that covers this room (or the named one)",
    Permission.MODERATOR,
    (Param("name", "policy name", required=False),),
)
POLICY_RELOAD = CommandSpec("policy reload", "reload the policy files now", Permission.MODERATOR)
AGREEMENTS = CommandSpec(
    "agreements",
    "who has and has not agreed to the current reminder",
    Permission.MODERATOR,
    (Param("policy", "policy name (needed outside a covered room)", required=False),),
)

FLAGS = CommandSpec("flags", "recent open leak flags", Permission.MODERATOR)
# One command with a choice rather than "flag resolve" / "flag false-positive": command words
# must be identifiers, and a hyphen is what moderators will type.
FLAG = CommandSpec(
    "flag",
    "close a leak flag: resolve it, or mark it a false positive (its phrasing is ignored)",
    Permission.MODERATOR,
    (
        Param("action", "what to do", choices=("resolve", "false-positive")),
        Param("id", "the flag's number", kind=int),
    ),
)
AUDIT = CommandSpec(
    "audit",
    "the audit log of moderator actions",
    Permission.MODERATOR,
    (Param("limit", "how many entries (default 20)", kind=int, required=False),),
)

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
)
