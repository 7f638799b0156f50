"""Numbers written the way a language writes them ("1,234.5", "1.234,5", "1 234,5").

The rules are CLDR's, compiled from Babel's locale data by ``tools/catalogs.py compile``
into a small file per language (bot/locales/<lang>/numbers.json: decimal and group symbols,
minus sign, grouping sizes, minimum grouping digits, fraction digits), committed beside the
catalogs. Reading that file needs only the standard library, so the bot formats numbers
as Babel's ``format_decimal`` does without importing Babel (tests/test_i18n_numbers.py holds
the two equal), and a language's file is read once, on first use, like its catalog.

Rounding follows Babel: the number's shortest decimal form (``repr`` of a float) is rounded
half to even to the pattern's maximum fraction digits, so 2.675 stays "2.675" and 1.0005
becomes "1", as Babel writes them. The ``decimal`` module (~130 KB) is not needed for it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, TypedDict

LOCALES = Path(__file__).parent / "locales"
FILENAME = "numbers.json"
SOURCE = "en"


class Symbols(TypedDict):
    """One language's number rules (the keys of its numbers.json)."""

    decimal: str
    group: str
    minus_sign: str
    grouping: list[int]  # [primary, secondary]: 3, 3 is "1,234,567"; 3, 2 is "12,34,567"
    min_grouping_digits: int  # 2: "1234" but "12,345" (CLDR's minimumGroupingDigits)
    integer_digits: int  # the least integer digits: 1 writes 0.5 as "0.5"
    fraction_digits: list[int]  # [least, most]: 0, 3 writes 2.5 and rounds 2.6666 to 2.667


_PLAIN: Symbols = {
    "decimal": ".",
    "group": "",
    "minus_sign": "-",
    "grouping": [3, 3],
    "min_grouping_digits": 1,
    "integer_digits": 1,
    "fraction_digits": [0, 3],
}
"""For a language without a numbers file (never shipped: ``catalogs.py check`` fails on a
missing one) and no English file either: digits as Python writes them."""


@cache
def symbols(lang: str) -> Symbols:
    """``lang``'s number rules (a catalog's folder name: "de", "pt_BR"), else English's."""
    import json  # only once a number is said

    for folder in (lang, SOURCE):
        try:
            data: Any = json.loads((LOCALES / folder / FILENAME).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        return {key: data[key] for key in Symbols.__annotations__}  # type: ignore[return-value]
    return _PLAIN


def _digits(text: str) -> tuple[str, str]:
    """The integer and fraction digits of a non-negative number written as Python writes
    it ("1234.5", "1e-05", "1.5E+3"), without an exponent."""
    mantissa, _, exponent = text.lower().partition("e")
    whole, _, fraction = mantissa.partition(".")
    if not exponent:
        return whole, fraction
    digits = whole + fraction
    point = len(whole) + int(exponent)
    if point <= 0:
        return "0", "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits)), ""
    return digits[:point], digits[point:]


def _rounded(whole: str, fraction: str, most: int) -> tuple[str, str]:
    """``whole.fraction`` rounded half to even to ``most`` fraction digits."""
    if len(fraction) <= most:
        return whole, fraction
    kept, rest = fraction[:most], fraction[most:]
    digits = whole + kept
    tie_goes_up = rest[1:].strip("0") != "" or int(digits[-1]) % 2 == 1
    if rest[0] > "5" or (rest[0] == "5" and tie_goes_up):
        digits = str(int(digits) + 1).rjust(len(digits), "0")
    split = len(digits) - most
    return digits[:split], digits[split:]


def _grouped(whole: str, rules: Symbols) -> str:
    primary, secondary = rules["grouping"]
    if not rules["group"] or len(whole) < primary + rules["min_grouping_digits"]:
        return whole
    groups = [whole[-primary:]]
    whole = whole[:-primary]
    while len(whole) > secondary:
        groups.insert(0, whole[-secondary:])
        whole = whole[:-secondary]
    return rules["group"].join([whole, *groups])


def format_number(value: object, lang: str) -> str:
    """``value`` (an int, a float, or a number whose ``str`` is a decimal, such as
    ``Decimal``) written as ``lang`` writes a quantity. Something else (NaN, infinity, a
    bool) is written as ``str`` writes it."""
    if isinstance(value, bool):
        return str(value)
    text = repr(value) if isinstance(value, float) else str(value)
    negative = text.startswith("-")
    text = text.lstrip("+-")
    if not text[:1].isdigit() and not text.startswith("."):
        return str(value)  # nan, inf
    rules = symbols(lang)
    least, most = rules["fraction_digits"]
    whole, fraction = _rounded(*_digits(text), most)
    whole = (whole.lstrip("0") or "0").rjust(rules["integer_digits"], "0")
    fraction = fraction.rstrip("0").ljust(least, "0")
    written = _grouped(whole, rules) + (rules["decimal"] + fraction if fraction else "")
    return rules["minus_sign"] + written if negative else written
