"""Whether a text from a policy shows anything at all to the member who reads it.

A reminder, an intro, a question or an option made only of zero-width spaces, Hangul or
braille blanks or variation selectors passes ``str.strip()`` yet reaches the member as an
empty message or a blank button: the member cannot read the rule or tell the options apart.
Such characters are pasted in by accident (copied from a chat or a document) far more often
than on purpose, so every text a member must read is checked with the one helper here.
"""

from __future__ import annotations

import unicodedata

# Control, format (zero-width space, joiners, soft hyphen, tags) and separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
# Combining marks draw on the character before them; alone they show nothing (or a dotted
# circle some fonts add), so they do not make a text visible by themselves.
_MARK_CATEGORIES = frozenset({"Mn", "Me"})
# Letters and symbols that render as blank space: Unicode's default-ignorable fillers
# (Hangul fillers, Khmer inherent vowels, Mongolian selectors, the reserved ignorables
# that are not assigned yet) and the braille blank.
_BLANK_CODES = frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0})
_BLANK_RANGES = (
    (0x180B, 0x180F),
    (0x2060, 0x206F),
    (0xFE00, 0xFE0F),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)


def _visible(char: str) -> bool:
    code = ord(char)
    if code in _BLANK_CODES or any(low <= code <= high for low, high in _BLANK_RANGES):
        return False
    category = unicodedata.category(char)
    return category not in _INVISIBLE_CATEGORIES and category not in _MARK_CATEGORIES


def has_visible_text(text: str) -> bool:
    """True when at least one character of ``text`` shows on screen."""
    return any(_visible(char) for char in text)


def blank_problem(what: str, text: str) -> str | None:
    """The moderator-worded reason ``text`` shows nothing, or None when it shows something.

    ``what`` names the field as the moderator knows it, e.g. "the reminder text"."""
    if not text.strip():
        return f"{what} is empty"
    if not has_visible_text(text):
        return (
            f"{what} has no visible characters (only invisible ones, such as zero-width "
            "spaces or blank fillers); write the text again or remove it"
        )
    return None
