"""Reduce a chat message to the words a reader sees: no formatting or disguise hides a quote.

Someone who leaks a message rarely pastes it byte for byte: they re-type it, drop the bold,
change the case, wrap it in a quote block or a reply. Someone who wants to dodge detection
goes further: look-alike letters from another script ("tоld" with a Cyrillic "о"), invisible
fillers inside words, an accent on every word, small capitals (ᴛʜɪs), enclosed letters
(🅰, Ⓐ) and keycap emoji between words. Every such surface difference must vanish before
hashing, while the words themselves (in any script) must survive intact.

This is normalisation version :data:`VERSION`. Fingerprints made by one version never match
another's, so stored fingerprints name the version that made them (the scheme) and the
earlier pipelines stay frozen (:mod:`bot.leaks.normalize_v1`).
"""

from __future__ import annotations

import re
import unicodedata

from bot.leaks.fold_table import DROPPED, FOLD, MARKS, MIXED

VERSION = 2
"""Bumped with every change to what :func:`normalize` or the tokeniser returns."""

# A Matrix reply fallback: the quoted original ("> <@user:server> text", continued with
# "> ..." lines), then a blank line. It repeats someone else's message, not the sender's.
_MATRIX_FALLBACK = re.compile(r"\A> (?:\* )?<@[^>\n]+>[^\n]*\n(?:>[^\n]*\n)*\n")
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
# [text](url) keeps the text a reader sees and drops the address.
_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?[^()\s]*(?:\([^()\s]*\)[^()\s]*)*>?\s*\)")
# Discord mentions, channels, custom emoji and timestamps are ids, not words.
_DISCORD_TOKEN = re.compile(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[A-Za-z])?)>")
_FENCE_LANGUAGE = re.compile(r"```[A-Za-z0-9_+.-]*\n")

_APOSTROPHES = frozenset("'\u2018\u2019\u02bc\u02b9\u2032\uff07")
# Diacritics that writers often omit (Arabic harakat, Hebrew points) and the Arabic
# elongation mark; variation selectors only choose a glyph.
_DROPPED_MARK_RANGES = (
    (0x0591, 0x05C7),
    (0x0610, 0x061A),
    (0x064B, 0x065F),
    (0x0670, 0x0670),
    (0x06D6, 0x06ED),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
)


def _dropped_mark(code: int) -> bool:
    return any(low <= code <= high for low, high in _DROPPED_MARK_RANGES)


def basic_fold(code: int) -> str | None:
    """One code point by its category alone: punctuation, symbols and spaces separate words;
    format characters, apostrophes and optional Arabic/Hebrew marks vanish; the rest stays.

    The generated fold table (tools/gen_fold_table.py) is built on top of these rules."""
    char = chr(code)
    category = unicodedata.category(char)
    if char in _APOSTROPHES or code == 0x0640 or category == "Cf":
        return None  # "don't" must equal "dont"; zero-width marks join words
    if category[0] in "PSZ" or category == "Cc":
        return " "
    if category[0] == "M" and _dropped_mark(code):
        return None
    return char


def _in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    low, high = 0, len(ranges)
    while low < high:  # binary search: DROPPED and MARKS are sorted and disjoint
        middle = (low + high) // 2
        if ranges[middle][1] < code:
            low = middle + 1
        else:
            high = middle
    return low < len(ranges) and ranges[low][0] <= code


class _CharMap(dict[int, str | None]):
    """A ``str.translate`` table filled lazily, so import stays cheap and the hot path is C.

    Each code point is classified once (fold table, dropped ranges, then its category) on
    first sight and cached; the cache can hold at most one entry per code point.
    """

    def __missing__(self, code: int) -> str | None:
        result: str | None
        folded = FOLD.get(code)
        if folded is not None:
            result = folded or None
        elif _in_ranges(code, DROPPED):
            result = None
        else:
            result = basic_fold(code)
        self[code] = result
        return result


_CHARMAP = _CharMap()


def strip_markup(text: str) -> str:
    """Remove chat markup whose symbols are not themselves punctuation."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith(">"):
        text = _MATRIX_FALLBACK.sub("", text, count=1)
    if "<" in text:
        text = _MX_REPLY.sub(" ", text)
        text = _DISCORD_TOKEN.sub(" ", text)
    if "](" in text:
        text = _LINK.sub(r"\1", text)
    if "```" in text:
        text = _FENCE_LANGUAGE.sub("\n", text)
    return text


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


# A run of keycap emoji standing alone between words ("told 1️⃣ her") is decoration, dropped
# whole; a keycap inside a word or number ("1️⃣0") folds to its digit (the table drops
# U+20E3 and the variation selector).
_KEYCAPS_ALONE = re.compile(r"(?<!\w)(?:[0-9#*]\ufe0f?\u20e3)+(?!\w)")
# Letters of Latin, Greek and Cyrillic (Blocks.txt), and marks of any script put on them
# or on nothing (after a space, or what punctuation became): an accent is an accent to a
# reader, whichever block its code point comes from.
_LGC_LETTERS = _char_class(
    (
        (0x30, 0x39),
        (0x61, 0x7A),
        (0xC0, 0x2AF),
        (0x370, 0x52F),
        (0x1C80, 0x1C8F),
        (0x1D00, 0x1DBF),
        (0x1E00, 0x1FFF),
        (0x2C60, 0x2C7F),
        (0xA640, 0xA69F),
        (0xA720, 0xA7FF),
        (0xAB30, 0xAB6F),
    )
)
_MARKS_ON_LGC = re.compile(f"(?:(?<=[{_LGC_LETTERS}\\s])|^)[{_char_class(MARKS)}]+")
# A letter slipped into a Latin word from a script the fold table keeps (Armenian "ո" in
# "tոld"), or a capital that reads as another Latin letter than its small one (Greek "Η"
# in "Ηello" reads "H", though "η" reads "n"): folded only inside a word with Latin letters,
# so Armenian and Greek words keep their own letters and their case-insensitivity.
_MIXED_WORD = re.compile(f"\\w*[{''.join(re.escape(chr(code)) for code in sorted(MIXED))}]\\w*")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")


def _fold_mixed_word(found: re.Match[str]) -> str:
    word = found.group()
    return word.translate(MIXED) if _LATIN_LETTER.search(word) else word


def normalize(text: str) -> str:
    """NFKC, fold look-alikes, case and accents, drop markup, quote markers, punctuation
    and invisible characters; single spaces between words.

    Quote markers (``>``), emphasis (``**``, ``_``, ``~~``), code ticks and spoilers (``||``)
    are punctuation, so they turn into spaces like any other; only the quoted *text* of a
    ``>`` line is kept, because a leak is usually posted exactly as such a quote.

    Plain ASCII (most chat) takes a short path: nothing in it needs folding but case.
    Otherwise each character becomes its skeleton from the generated fold table
    (tools/gen_fold_table.py: UTS #39 prototypes, letter-like forms, case, accents of Latin,
    Greek and Cyrillic dropped, while the letters and marks that spell words in Thai,
    Devanagari, Korean, Japanese, Chinese, Arabic or Hebrew stay). Upper and lower case of a
    letter always fold alike, so shouting a copy changes nothing either.
    """
    text = unicodedata.normalize("NFKC", text)
    text = strip_markup(text)
    if text.isascii():
        return " ".join(text.lower().translate(_CHARMAP).split())
    if "\u20e3" in text:
        text = _KEYCAPS_ALONE.sub(" ", text)
    text = _MIXED_WORD.sub(_fold_mixed_word, text)
    text = text.translate(_CHARMAP).casefold()
    # Dropping a filler can bring a base and its mark (or Hangul jamo) together.
    composed = unicodedata.normalize("NFKC", text)
    if composed != text:
        text = composed.translate(_CHARMAP)
    if not text.isascii():
        text = _MARKS_ON_LGC.sub("", text)
    return " ".join(text.split())
