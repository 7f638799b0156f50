"""Reduce a chat message to the words a reader sees, so formatting never hides a quote.

Someone who leaks a message rarely pastes it byte for byte: they re-type it, drop the bold,
change the case, wrap it in a quote block or a reply. Every such surface difference must
vanish before hashing, while the words themselves (in any script) must survive intact.
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


def normalize(text: str) -> str:
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
