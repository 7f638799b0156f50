"""The bot's own words in the member's language: gettext catalogs, read with the stdlib.

Why gettext: it is the Python ecosystem's standard (Babel extracts, merges and compiles the
catalogs; translators' tools such as Poedit and Weblate read .po files), and the Plural-Forms
header Babel writes from CLDR gives every language its own plural rule (French "1 heure",
"0 heure"; English "0 hours"). Why the stdlib at run time: the compiled .mo files are
committed beside their .po sources (tests/test_i18n_catalogs.py compiles each .po with Babel
and fails when its .mo differs), so a running bot needs no extra package and no compile step,
and a language costs nothing until a member needs it.

English is the source language: a message's id is its English sentence, so an English
catalog would only repeat it, and a message a catalog lacks falls back to English rather
than to nothing. Placeholders are named (``{room}``), never positional, so a translator can
put them where their grammar wants them.

Numbers: a quantity is written as the language writes numbers (CLDR: "1,234.5", "1.234,5",
"1 234,5"; bot/number_format.py), an identifier as the digits a moderator types back. The
rule: the count of a plural sentence (``{n}`` of :func:`tn`, or whatever it is given as),
every float (a float is never an id) and every :class:`Number` are quantities; any other int
stays ``str``: flag, report and action ids ("/flag resolve 1234"), power levels, HTTP codes,
ports. So a quantity said by :func:`t` that can reach 1000 (members, days, minutes) is
wrapped: ``t("... {days} days", days=Number(days))``.

The core decides the language of what it says (:func:`speaking`, set per event from the
room's policy); the functions in bot/texts.py read it with :func:`t` and :func:`tn`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, reduce
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from bot.number_format import format_number

if TYPE_CHECKING:
    import gettext

DOMAIN = "confidant"
LOCALES = Path(__file__).parent / "locales"
SOURCE = "en"

_speaking: ContextVar[str | None] = ContextVar("confidant_language", default=None)
_default = SOURCE  # the deployment's language, for what no event decides (set_default)
_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")  # BCP 47, as far as we need it


def is_language_tag(tag: str) -> bool:
    """A BCP 47 tag in its common shape: a 2-3 letter language, then optional subtags."""
    return bool(_TAG.match(tag))


@cache
def available() -> tuple[str, ...]:
    """The languages the bot can speak: English and every compiled catalog (read once)."""
    found = sorted(p.parent.parent.name for p in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE, *[lang for lang in found if lang != SOURCE])


@cache
def negotiate(tag: str | None) -> str:
    """The catalog for a BCP 47 tag: the exact region ("pt_BR") if shipped, else the
    language ("es-MX" is spoken with "es"), else English. Case and '-' or '_' do not matter
    (Discord says "es-ES", gettext folders say "es_ES")."""
    if not tag:
        return SOURCE
    parts = tag.replace("_", "-").split("-")
    have = available()
    if len(parts) > 1:
        regional = f"{parts[0].lower()}_{parts[1].upper()}"
        if regional in have:
            return regional
    return parts[0].lower() if parts[0].lower() in have else SOURCE


class _English:
    """English needs no catalog: the message ids are its sentences."""

    @staticmethod
    def gettext(message: str) -> str:
        return message

    @staticmethod
    def ngettext(singular: str, plural: str, count: int) -> str:
        return singular if count == 1 else plural

    @staticmethod
    def pgettext(context: str, message: str) -> str:
        return message


@cache
def _catalog(lang: str) -> gettext.NullTranslations | _English:
    """A language's compiled catalog, read on first use (gettext is imported only then:
    an English deployment never loads it)."""
    if lang == SOURCE:
        return _English()
    import gettext

    path = LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        with path.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    except FileNotFoundError:
        return _English()


def _fill(template: str, english: str, named: dict[str, object]) -> str:
    """A catalog's sentence with its placeholders filled. A broken translation (a
    placeholder the code does not give) falls back to the English sentence rather than
    fail the answer; tests/test_i18n_catalogs.py keeps shipped catalogs from doing that."""
    try:
        return template.format(**named)
    except (KeyError, IndexError, ValueError):
        return english.format(**named)


class Phrase(str):
    """A sentence an adapter words before anyone knows the reader's language (a permission
    the bot lacks, why the platform refused): it *is* its English text, so logs, the doctor
    and comparisons read it as before, and it keeps its message id and placeholders, so the
    core says it in the room's language: :func:`translate` says a Phrase given as a
    placeholder in the sentence's language, and :func:`said` says one on its own."""

    msgid: str
    named: dict[str, object]

    def __new__(cls, msgid: str, /, **named: object) -> Phrase:
        phrase = super().__new__(cls, msgid.format(**named) if named else msgid)
        phrase.msgid, phrase.named = msgid, named
        return phrase


class PhraseList(Phrase):
    """Several adapter sentences given as one reason (a room's settings with more than one
    problem): it *is* their English, joined with "; ", and :func:`said` says each part in
    the reader's language and joins them as that language does. A part that is no Phrase
    stays as given (an id, a platform's code)."""

    SEPARATOR: ClassVar[str] = "; "
    parts: tuple[str, ...]

    def __new__(cls, parts: Iterable[str], /) -> PhraseList:
        given = tuple(parts)
        joined = PhraseList.SEPARATOR.join(given)
        phrase = str.__new__(cls, joined)
        phrase.msgid, phrase.named, phrase.parts = joined, {}, given
        return phrase


class Number:
    """A quantity among a sentence's placeholders, written as the sentence's language writes
    numbers ("1.234" in German), where a bare int would be taken for an id and kept as its
    digits. Outside a sentence (a log, a Phrase's English text) it is its plain ``str``."""

    __slots__ = ("value",)

    def __init__(self, value: int | float) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __repr__(self) -> str:
        return f"Number({self.value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


_SAID_APART = (Phrase, Number, float)  # placeholders said in the sentence's language


def _placeholder(value: object, lang: str) -> object:
    if isinstance(value, Phrase):
        return said(value, lang)
    if isinstance(value, Number):
        return format_number(value.value, negotiate(lang))
    if isinstance(value, float):
        return format_number(value, negotiate(lang))
    return value


def _placeholders(lang: str, named: dict[str, object]) -> dict[str, object]:
    """Phrases among the placeholders said in ``lang`` too, and quantities (a
    :class:`Number`, a float) written as ``lang`` writes numbers."""
    if not any(isinstance(value, _SAID_APART) for value in named.values()):
        return named
    return {k: _placeholder(v, lang) for k, v in named.items()}


def said(text: str, lang: str | None = None) -> str:
    """``text`` in ``lang`` (the current language) if it is a :class:`Phrase`, else as is."""
    if not isinstance(text, Phrase):
        return text
    if isinstance(text, PhraseList):
        lang = lang or current()
        spoken = [said(part, lang) for part in text.parts] or [""]
        # French sets a space before ';' ("{first} ; {then}"): the joint is a catalog entry
        joint = N_("{first}; {then}")
        return reduce(lambda first, then: translate(lang, joint, first=first, then=then), spoken)
    return translate(lang or current(), text.msgid, **text.named)


def translate(lang: str, msgid: str, /, **named: object) -> str:
    """``msgid`` (an English sentence with named placeholders) in ``lang``, filled in."""
    named = _placeholders(lang, named)
    return _fill(_catalog(negotiate(lang)).gettext(msgid), msgid, named)


def translate_plural(
    lang: str, singular: str, plural: str, count: int, /, **named: object
) -> str:
    """The form of a sentence for ``count`` by ``lang``'s plural rule; ``{n}`` is the count
    unless given otherwise (2.5 hours: the count 2 picks the form, ``n=2.5`` is said), and
    is a quantity either way: written as ``lang`` writes numbers, unless given as a str."""
    shown = named.setdefault("n", count)
    if isinstance(shown, int) and not isinstance(shown, bool):
        named["n"] = Number(shown)
    named = _placeholders(lang, named)
    english = singular if count == 1 else plural
    return _fill(_catalog(negotiate(lang)).ngettext(singular, plural, count), english, named)


def translate_word(lang: str, context: str, word: str, /) -> str:
    """A word (a command's name) in ``lang``, looked up under ``context`` (gettext's msgctxt)
    so that "show" the command and "show" in a sentence can be translated apart."""
    return _catalog(negotiate(lang)).pgettext(context, word)


def set_default(lang: str | None) -> None:
    """The deployment's language (the core sets it from its policies; None: English), said
    where no event decides: a private chat, a job, a message sent by an adapter."""
    global _default
    _default = negotiate(lang)


def current() -> str:
    """The language the core speaks in right now."""
    return _speaking.get() or _default


@contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Everything said inside is in ``lang`` (negotiated to a shipped catalog); None: the
    deployment's language."""
    token = _speaking.set(negotiate(lang) if lang else None)
    try:
        yield current()
    finally:
        _speaking.reset(token)


def t(msgid: str, /, **named: object) -> str:
    """A sentence in the current language (the name Babel's extractor looks for)."""
    return translate(current(), msgid, **named)


def tn(singular: str, plural: str, count: int, /, **named: object) -> str:
    """A sentence with a count in the current language (extracted as ``tn:1,2``)."""
    return translate_plural(current(), singular, plural, count, **named)


def N_(msgid: str, /) -> str:
    """Marks a sentence for the catalogs where it is declared (a command's description) and
    translated later, where it is said."""
    return msgid


def NC_(context: str, word: str, /) -> str:
    """Marks a word for the catalogs under a context (extracted as msgctxt ``context``); it is
    translated later with :func:`translate_word`."""
    return word
