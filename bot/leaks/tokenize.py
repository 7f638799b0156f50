"""Split normalised text into the tokens that shingles are built from, in any script.

Most scripts separate words with spaces, so a word is a token. Chinese, Japanese, Thai,
Lao, Khmer and Myanmar do not, and a "word" found by whitespace would be a whole sentence:
one changed character would change the only token. There every character is a token (with
its combining marks, so a Thai vowel sign stays with its consonant), which needs no
dictionary. Mixed text mixes both kinds.

A character is not a word, though: eleven Han characters are a short stock phrase, not a
sentence. So every token also has a weight in "word units" (:func:`token_units`): a word of
a spaced script weighs one word, a character of an unspaced script the fraction of a word
measured for its script (``bot.leaks.params.CHARS_PER_WORD``), and a shingle spans k words'
worth of tokens. Hangul is written with spaces between eojeol (a word with its particles),
so a Korean token is an eojeol and weighs one word, like any spaced word.
"""

from __future__ import annotations

import re
import unicodedata

from bot.leaks.params import CHARS_PER_WORD, WORD_UNITS

# Scripts written without spaces between words (code point ranges, inclusive), each with
# the script whose measured characters-per-word weighs its characters.
_SCRIPT_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0E00, 0x0E7F, "thai"),
    (0x0E80, 0x0EFF, "lao"),
    (0x1000, 0x109F, "myanmar"),
    (0x1780, 0x17FF, "khmer"),
    (0x19E0, 0x19FF, "khmer"),  # Khmer symbols
    (0x1A20, 0x1AAF, "tai_tham"),
    (0x3005, 0x3007, "han"),  # 々 〆 〇
    (0x3040, 0x309F, "kana"),  # Hiragana
    (0x30A0, 0x30FF, "kana"),  # Katakana (with the prolonged sound mark ー)
    (0x31F0, 0x31FF, "kana"),  # Katakana phonetic extensions
    (0x3400, 0x4DBF, "han"),  # CJK extension A
    (0x4E00, 0x9FFF, "han"),  # CJK unified ideographs
    (0xA9E0, 0xA9FF, "myanmar"),  # Myanmar extended-B
    (0xAA60, 0xAA7F, "myanmar"),  # Myanmar extended-A
    (0xF900, 0xFAFF, "han"),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F, "kana"),  # Halfwidth katakana (NFKC widens them, kept for raw input)
    (0x20000, 0x3134F, "han"),  # CJK extensions B-G and compatibility supplement
)
_UNSPACED_RANGES: tuple[tuple[int, int], ...] = tuple((lo, hi) for lo, hi, _ in _SCRIPT_RANGES)
_UNITS: dict[str, int] = {}
for _script, _chars in CHARS_PER_WORD.items():
    _UNITS[_script] = round(WORD_UNITS / _chars)
    if _UNITS[_script] * _chars != WORD_UNITS:
        raise ValueError(f"{_chars} characters per word is not a whole number of word units")
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
_ANY_UNSPACED = re.compile(f"[{_UNSPACED}]")


def tokenize(normalised: str) -> list[str]:
    """Tokens of text already passed through :func:`bot.leaks.normalize.normalize`."""
    if normalised.isascii():
        return normalised.split()  # the common case, several times faster than the regex
    return _TOKEN.findall(normalised)


def is_unspaced(char: str) -> bool:
    """Whether ``char`` belongs to a script tokenised one character at a time."""
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)


def _units_of(code: int) -> int:
    for low, high, script in _SCRIPT_RANGES:
        if low <= code <= high:
            return _UNITS[script]
    return WORD_UNITS


class _UnitMap(dict[str, int]):
    """First character of a token -> its weight, filled lazily (one entry per character)."""

    def __missing__(self, char: str) -> int:
        units = self[char] = _units_of(ord(char))
        return units


_UNIT_MAP = _UnitMap()


def token_units(tokens: list[str]) -> list[int] | None:
    """Each token's weight in word units (``WORD_UNITS`` to a word), or None when every
    token weighs one word, as in any text without an unspaced script (the common case)."""
    if not tokens:
        return None
    joined = "".join(tokens)
    if joined.isascii() or _ANY_UNSPACED.search(joined) is None:
        return None
    units = _UNIT_MAP
    return [units[token[0]] for token in tokens]


def word_count(tokens: list[str], units: list[int] | None) -> int:
    """How many words' worth ``tokens`` carry (whole words, rounded down)."""
    return len(tokens) if units is None else sum(units) // WORD_UNITS
