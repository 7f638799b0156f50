"""Split normalised text into the tokens that shingles are built from, in any script.

Most scripts separate words with spaces, so a word is a token. Chinese, Japanese, Thai,
Lao, Khmer and Myanmar do not, and a "word" found by whitespace would be a whole sentence:
one changed character would change the only token. There every character is a token (with
its combining marks, so a Thai vowel sign stays with its consonant), which needs no
dictionary and makes a k-token shingle a k-character one. Mixed text mixes both kinds.
"""

from __future__ import annotations

import re
import unicodedata

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


def tokenize(normalised: str) -> list[str]:
    """Tokens of text already passed through :func:`bot.leaks.normalize.normalize`."""
    if normalised.isascii():
        return normalised.split()  # the common case, several times faster than the regex
    return _TOKEN.findall(normalised)


def is_unspaced(char: str) -> bool:
    """Whether ``char`` belongs to a script tokenised one character at a time."""
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)
