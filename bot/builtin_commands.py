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

BUILTIN_COMMANDS = (RULES, AGREE, HELP, POLICY_SHOW, POLICY_RELOAD, AGREEMENTS)
