"""Application command names as Discord checks and shows them, localized ones included.

On registration (PUT .../commands) Discord refuses, with 400 Invalid Form Body, a command,
subcommand or option whose name or any ``name_localizations`` value breaks the naming rule,
or a localization keyed by a locale it does not have. In the client a member sees, and types,
each name in their client's locale where the command gives one, and Discord sends the
interaction with the declared names (discord.py finds the command by them:
discord/app_commands/tree.py: CommandTree._get_app_command_options).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

# https://discord.com/developers/docs/reference#locales
LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
    "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk",
    "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
})
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2


def fits_name_rule(name: object) -> bool:
    """https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-naming:
    ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, and "if there is a lowercase variant
    of any letters used, you must use those" (chat input commands and their options)."""
    if not isinstance(name, str) or not 1 <= len(name) <= 32 or name != name.lower():
        return False
    return all(
        char in "-_'"
        or unicodedata.category(char)[0] in "LN"
        or unicodedata.name(char, "").startswith(("DEVANAGARI", "THAI"))
        for char in name
    )


def _named(command: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The command and every option under it: each has a name (and maybe localizations)."""
    yield command
    for option in command.get("options") or []:
        yield from _named(option)


def naming_errors(commands: list[dict[str, Any]]) -> list[str]:
    """What Discord would refuse in a registration body (empty: nothing)."""
    errors: list[str] = []
    for command in commands:
        if command.get("type", 1) != 1:
            continue  # user and message commands may have capitals and spaces
        for item in _named(command):
            if not fits_name_rule(item.get("name")):
                errors.append(f"{item.get('name')!r}: APPLICATION_COMMAND_INVALID_NAME")
            for locale, name in (item.get("name_localizations") or {}).items():
                if locale not in LOCALES:
                    errors.append(f"{locale!r}: not a Discord locale")
                elif not fits_name_rule(name):
                    errors.append(f"{locale} {name!r}: APPLICATION_COMMAND_INVALID_NAME")
    return errors


def seen(item: dict[str, Any], locale: str) -> str:
    """The name a member whose client is set to ``locale`` sees (and types)."""
    return (item.get("name_localizations") or {}).get(locale) or str(item["name"])


def declared(items: list[dict[str, Any]], typed: str, locale: str) -> dict[str, Any] | None:
    """The item among ``items`` a member picks by typing the name they see."""
    return next((i for i in items if seen(i, locale) == typed), None)
