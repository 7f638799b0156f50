"""The words of command names in each language: Discord's localized names, text aliases.

A command is declared once, in English words (bot/builtin_commands.py); those words stay what
every guide names and always work. Each word is also a catalog entry of its own (msgctxt
"command name", apart from the same English word inside a sentence), so a language can give
it a name that fits: Discord shows it as the command's localized name
(adapters/discord/localize.py), and where a policy sets ``command_aliases`` a member in its
rooms may type it on the text platforms (``!normas`` for ``!rules``, ``!checkin historial``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from bot import i18n
from bot.i18n import NC_

NAME_CONTEXT = "command name"

# Every word of a command's or an option's name (a test checks the registry has none missing).
COMMAND_WORDS: frozenset[str] = frozenset({
    NC_("command name", "agree"),
    NC_("command name", "agreements"),
    NC_("command name", "answer"),
    NC_("command name", "audit"),
    NC_("command name", "checkin"),
    NC_("command name", "history"),
    NC_("command name", "pause"),
    NC_("command name", "resume"),
    NC_("command name", "schedule"),
    NC_("command name", "snooze"),
    NC_("command name", "start"),
    NC_("command name", "stats"),
    NC_("command name", "stop"),
    NC_("command name", "claim"),
    NC_("command name", "flag"),
    NC_("command name", "flags"),
    NC_("command name", "forgetme"),
    NC_("command name", "help"),
    NC_("command name", "mydata"),
    NC_("command name", "policy"),
    NC_("command name", "reload"),
    NC_("command name", "show"),
    NC_("command name", "report"),
    NC_("command name", "rules"),
    # options
    NC_("command name", "id"),
    NC_("command name", "text"),
    NC_("command name", "limit"),
    NC_("command name", "days"),
    NC_("command name", "time"),
    NC_("command name", "zone"),
    NC_("command name", "hours"),
    NC_("command name", "action"),
    NC_("command name", "member"),
    NC_("command name", "confirm"),
    NC_("command name", "name"),
    NC_("command name", "link"),
    NC_("command name", "words"),
})


def word_in(lang: str, word: str) -> str:
    """A command word as ``lang`` names it (the word itself where the catalog keeps it)."""
    return i18n.translate_word(lang, NAME_CONTEXT, word)


def alias_table(
    lang: str, command_words: Iterable[str], own: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Typed word -> declared word: the language's name of every command word that differs
    from it, then a policy's own aliases (``own``: alias -> declared word). A word that names
    two declared words is left out here; ``confidant check`` refuses it (aliases_check)."""
    table: dict[str, str] = {}
    clashing: set[str] = set()
    pairs = [(word_in(lang, w).casefold(), w) for w in sorted(set(command_words))]
    pairs += [(alias.casefold(), word) for alias, word in (own or {}).items()]
    for alias, word in pairs:
        if alias == word:
            continue
        if table.get(alias, word) != word:
            clashing.add(alias)
        table[alias] = word
    return {a: w for a, w in table.items() if a not in clashing}


def resolve(
    table: Mapping[str, str],
    is_command: Callable[[str], bool],
    is_group: Callable[[str], bool],
    name: str,
    argv: tuple[str, ...],
) -> tuple[str, tuple[str, ...]] | None:
    """The declared command (and its arguments) a line typed with aliases means, or None
    when no alias is in it. ``name`` and ``argv`` are what an adapter read as an unknown
    command and the words after it; ``is_command``/``is_group`` answer for declared names.
    A group's alias with a word that names none of its commands comes back as that pair,
    so the core answers with the group's usage, as for the declared word."""
    tokens = [*name.split(), *argv]
    if not tokens:
        return None
    first_typed = tokens[0].casefold()
    first = table.get(first_typed, first_typed)
    if is_group(first) and len(tokens) > 1:
        second_typed = tokens[1].casefold()
        second = table.get(second_typed, second_typed)
        if is_command(f"{first} {second}"):
            if (first, second) == (first_typed, second_typed):
                return None
            return f"{first} {second}", tuple(tokens[2:])
        if first == first_typed:
            return None
        return f"{first} {tokens[1]}", tuple(tokens[2:])
    if first == first_typed or not (is_command(first) or is_group(first)):
        return None
    return first, tuple(tokens[1:])
