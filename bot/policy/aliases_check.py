"""``command_aliases`` as members will meet it: every alias names one command, none hides one.

An alias that is another command's word ("help: rules") would take that command from the
members who type it; a word that two commands' aliases share could mean either. Both are
refused at the alias's line (an own alias) or at ``command_aliases`` (the language's words,
from the catalog), so no room runs with a command members cannot reach.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.builtin_commands import BUILTIN_COMMANDS
from bot.command_words import word_in
from bot.policy.yamlpos import Document, Problem

if TYPE_CHECKING:
    from bot.policy.model import Policy


def declared_words() -> set[str]:
    """Every word of a command's name (not options: aliases are for what is typed first)."""
    return {word for spec in BUILTIN_COMMANDS for word in spec.name.split()}


def alias_problems(policy: Policy, document: Document) -> list[Problem]:
    aliases = policy.command_aliases
    if aliases is False:
        return []
    words = declared_words()
    own = aliases if isinstance(aliases, dict) else {}
    # typed word -> (declared word, where it comes from)
    seen: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    entries = [(word_in(policy.language, w).casefold(), w, "") for w in sorted(words)]
    entries += [(alias.casefold(), word, alias) for alias, word in own.items()]
    for typed, word, own_key in entries:
        if own_key:
            where = document.key_pos(("command_aliases", own_key))
            source = f"the alias '{own_key}'"
        else:
            where = document.value_pos(("command_aliases",))
            source = f"'{typed}' (the '{policy.language}' name of '{word}')"
        if word not in words:
            problems.append(Problem(where, f"{source} names no command word; use one of "
                                           f"{', '.join(sorted(words))}"))
            continue
        if typed == word:
            continue
        if typed in words:
            problems.append(Problem(where, f"{source} is the command word '{typed}' itself; "
                                           f"members typing it would reach '{word}' instead"))
            continue
        before = seen.get(typed)
        if before is not None and before[0] != word:
            problems.append(Problem(where, f"{source} is also {before[1]}; one word cannot "
                                           f"name both '{before[0]}' and '{word}'"))
            continue
        seen[typed] = (word, source)
    return problems
