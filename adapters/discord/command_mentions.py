"""The bot's own slash commands named inside its sentences as the reader's Discord shows them.

The catalogs keep command words in sentences as declared ("Puedes volver a leerlo con
/rules"): translators must not translate them, and on the text platforms the declared words
always work. Discord, though, shows a slash command under its localized name to a member
whose client locale has one (the name_localizations sent from bot/command_words.py by
localize.py; https://discord.com/developers/docs/interactions/application-commands#localization),
so a member with a Spanish client looks for /rules in vain: her client offers /normas.

Where the reader's client locale is known (an interaction's ``locale``: answers to her slash
command or button) a mention becomes exactly the name her client shows. Where it is not (a
DM, a room post), the message's language names it, with the declared name beside it where
the two differ ("/normas (/rules)"), so a member whose client speaks another language still
finds it. Only commands the bot registered are touched, only at a word's start (never inside
a URL or a path such as ``https://x/rules`` or ``a/b``), and never inside a code span. A DM
names commands for typing as text (Discord offers server commands only in servers), so a name
a client shows, typed there, means the declared command (``declared``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from discord import app_commands

from bot import i18n
from bot.command_words import resolve

from .localize import localized_name

# Code spans (```block``` and `inline`) stay as written: a reader copies them as they are.
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)
# "/" + a lowercase word at a word's start: after the text's start, a space, an opening
# bracket or quote, or Markdown emphasis; not followed by more of a word, a path or a file
# name ("/rules/x", "/rules.html"), which would make it something other than a command.
_MENTION = re.compile(
    r"(?<![^\s(\[{\"'«“‘¿¡*_])/(?P<word>[a-z]+)(?![\w/-]|\.\w)"
)
_SUB = re.compile(r" (?P<word>[a-z]+)(?![\w/-]|\.\w)")
# The command's other name, given beside it in brackets, after its usage where shown
# ("/rules (/normas)", "/agree [política] (/aceptar)", as help lists a command for a client
# that names it otherwise): one name already chosen for the reader.
_USAGE = r"(?: [\[<][^\]>\n]*[\]>])*"
_BESIDE = re.compile(rf"(?P<usage>{_USAGE}) \((?P<name>/[^\s()/]+(?: [^\s()/]+)?)\)")
# A mention that is itself the bracketed other name of the mention before it.
_INSIDE_BEFORE = re.compile(rf"(?P<name>/[^\s()/]+)(?: [^\s()/]+)?{_USAGE} \($")


@dataclass(frozen=True)
class CommandNames:
    """The bot's registered slash commands: each top-level name with its subcommands' names
    (none for a command that is not a group)."""

    commands: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, registered: Iterable[Any]) -> CommandNames:
        """From the commands added to the app_commands tree (commands.build_commands)."""
        table: dict[str, frozenset[str]] = {}
        for command in registered:
            subs = command.commands if isinstance(command, app_commands.Group) else ()
            table[command.name] = frozenset(sub.name for sub in subs)
        return cls(table)

    def for_client(self, text: str, locale: str | None) -> str:
        """``text`` for a reader whose Discord client speaks ``locale``: every mention is
        exactly the name that client shows (the localized one sent for that locale; the
        declared one for English or a locale the bot sends no names for)."""
        return self._rewrite(text, i18n.negotiate(locale), beside=False)

    def for_language(self, text: str, language: str | None = None) -> str:
        """``text`` said in ``language`` (the deployment's where None) to a reader whose
        client is unknown: the language's name, with the declared one beside it where they
        differ."""
        return self._rewrite(text, i18n.negotiate(language or i18n.current()), beside=True)

    def declared(self, name: str, argv: tuple[str, ...]) -> tuple[str, tuple[str, ...]] | None:
        """A command typed as text in a DM (Discord offers the bot's server commands only
        in servers) by a name a Discord client shows, as the bot's DMs name them
        ("/aceptar (/agree)"): the declared command and its words, or None where ``name``
        is no such name. Text commands elsewhere follow the policy's ``command_aliases``."""
        return resolve(self._typed_names, self._is_command, self._is_group, name, argv)

    @cached_property
    def _typed_names(self) -> dict[str, str]:
        """Localized name -> declared word, over every language the bot sends names in; a
        name two languages give to different words, or that is a declared word, is left out."""
        words = set(self.commands) | {sub for subs in self.commands.values() for sub in subs}
        table: dict[str, str] = {}
        clashing: set[str] = set()
        for lang in i18n.available():
            for word in sorted(words):
                name = _name(lang, word)
                if name == word:
                    continue
                if table.get(name, word) != word or name in words:
                    clashing.add(name)
                table[name] = word
        return {name: word for name, word in table.items() if name not in clashing}

    def _is_inside(self, text: str, start: int, top: str) -> bool:
        """Whether the mention of ``top`` at ``start`` is the bracketed other name of the
        one before it ("/normas (/rules)"): that pair was written for its reader already."""
        if text[start - 1 : start] != "(":
            return False
        before = _INSIDE_BEFORE.search(text, max(0, start - 200), start)
        return before is not None and self._names_same(top, before["name"])

    def _names_same(self, top: str, other: str) -> bool:
        """Whether ``other`` ("/normas") names the command ``top`` ("rules") too."""
        word = other[1:].split(" ", 1)[0]
        return word == top or self._typed_names.get(word) == top

    def _names_another(self, top: str, other: str) -> bool:
        """Whether ``other`` names a command other than ``top``."""
        word = other[1:].split(" ", 1)[0]
        meant = word if word in self.commands else self._typed_names.get(word, top)
        return meant != top

    def _is_command(self, name: str) -> bool:
        top, _, sub = name.partition(" ")
        subs = self.commands.get(top)
        return subs is not None and (sub in subs if sub else not subs)

    def _is_group(self, word: str) -> bool:
        return bool(self.commands.get(word))

    def _rewrite(self, text: str, lang: str, *, beside: bool) -> str:
        if "/" not in text or not self.commands:
            return text
        parts: list[str] = []
        start = 0
        for code in _CODE.finditer(text):
            parts.append(self._prose(text[start : code.start()], lang, beside))
            parts.append(code.group())
            start = code.end()
        parts.append(self._prose(text[start:], lang, beside))
        return "".join(parts)

    def _prose(self, text: str, lang: str, beside: bool) -> str:
        said: list[str] = []
        at = 0
        for mention in _MENTION.finditer(text):
            if mention.start() < at:
                continue  # inside a mention already handled (its bracketed other name)
            top = mention["word"]
            if top not in self.commands or self._is_inside(text, mention.start(), top):
                continue
            words = [top]
            end = mention.end()
            sub = _SUB.match(text, end)
            if sub is not None and sub["word"] in self.commands[top]:
                words.append(sub["word"])
                end = sub.end()
            declared = "/" + " ".join(words)
            named = "/" + " ".join(_name(lang, word) for word in words)
            other = _BESIDE.match(text, end)
            if other is not None and beside and not self._names_another(top, other["name"]):
                continue  # named twice for its reader already (a policy's alias too): as written
            if other is not None and not self._names_same(top, other["name"]):
                other = None  # a bracket about something else: kept
            said.append(text[at : mention.start()])
            if other is not None:  # the client's one name replaces both; the usage stays
                said.append(named + other["usage"])
                at = other.end()
            else:
                said.append(named if not beside or named == declared else f"{named} ({declared})")
                at = end
        said.append(text[at:])
        return "".join(said)


def _name(lang: str, word: str) -> str:
    """A command word as Discord shows it to a client reading ``lang``: what the
    translator sent for it (localize.CatalogTranslator), else the declared word."""
    if lang == i18n.SOURCE:
        return word
    return localized_name(lang, word) or word

