"""The first normalisation, frozen: how fingerprints stored before version 2 were made.

A fingerprint only matches one made by the same text pipeline, and stored fingerprints
cannot be recomputed (the text is gone). So the pipeline that made the rows of a scheme
without a version prefix (``k11w2``) is kept here byte for byte, normaliser and
tokeniser, until retention has removed the last such row. Never change this module:
a fix belongs in :mod:`bot.leaks.normalize` under a new version.
"""

from __future__ import annotations

import re
import unicodedata

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


class _CharMap(dict[int, str | None]):
    """A ``str.translate`` table filled lazily, so import stays cheap and the hot path is C.

    Each code point is classified once (by Unicode category) on first sight and cached;
    the cache can hold at most one entry per code point.
    """

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        category = unicodedata.category(char)
        result: str | None
        if char in _APOSTROPHES or code == 0x0640 or category == "Cf":
            result = None  # "don't" must equal "dont"; zero-width marks join words
        elif category[0] in "PSZ" or category == "Cc":
            result = " "
        elif category[0] == "M" and _dropped_mark(code):
            result = None
        else:
            result = char
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


def normalize_v1(text: str) -> str:
    """NFKC, case-fold, drop markup, quote markers and punctuation; single spaces between words.

    Quote markers (``>``), emphasis (``**``, ``_``, ``~~``), code ticks and spoilers (``||``)
    are punctuation, so they turn into spaces like any other; only the quoted *text* of a
    ``>`` line is kept, because a leak is usually posted exactly as such a quote.
    """
    text = unicodedata.normalize("NFKC", text)
    text = strip_markup(text)
    # Case folding can undo NFKC (e.g. "ǰ"), so normalise again; both are no-ops on ASCII.
    text = unicodedata.normalize("NFKC", text.casefold())
    return " ".join(text.translate(_CHARMAP).split())


# Scripts written without spaces between words (code point ranges, inclusive).
_UNSPACED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x1A20, 0x1AAF),  # Tai Tham
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana (with the prolonged sound mark ー)
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended-B
    (0xAA60, 0xAA7F),  # Myanmar extended-A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # Halfwidth katakana (NFKC widens them, kept for raw input)
    (0x20000, 0x3134F),  # CJK extensions B-G and compatibility supplement
)
_SCAN_FOR_MARKS_BELOW = 0x3000  # the CJK blocks hold no combining marks


def _char_class(ranges: list[tuple[int, int]]) -> str:
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


def _mark_ranges() -> list[tuple[int, int]]:
    marks = [
        code
        for low, high in _UNSPACED_RANGES
        if low < _SCAN_FOR_MARKS_BELOW
        for code in range(low, high + 1)
        if unicodedata.category(chr(code))[0] == "M"
    ]
    marks += [0x3099, 0x309A]  # combining kana voicing marks, should NFKC leave them
    ranges: list[tuple[int, int]] = []
    for code in sorted(set(marks)):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


_UNSPACED = _char_class(list(_UNSPACED_RANGES))
_MARKS = _char_class(_mark_ranges())
_TOKEN = re.compile(f"[{_UNSPACED}][{_MARKS}]*|[^\\s{_UNSPACED}]+")


def _tokenize(normalised: str) -> list[str]:
    """Tokens of text already passed through :func:`normalize_v1`."""
    if normalised.isascii():
        return normalised.split()  # the common case, several times faster than the regex
    return _TOKEN.findall(normalised)


def tokens_v1(text: str) -> list[str]:
    """The tokens version 1 hashed: its normaliser, then its tokeniser."""
    return _tokenize(normalize_v1(text))
