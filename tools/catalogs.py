"""Extract, update and compile the bot's message catalogs (bot/locales/) with Babel.

    python tools/catalogs.py extract        # source -> bot/locales/confidant.pot
    python tools/catalogs.py init pt_BR     # a new language's .po from the template
    python tools/catalogs.py update         # every .po gains the template's new sentences
    python tools/catalogs.py compile        # every .po -> its .mo, and numbers.json
    python tools/catalogs.py check          # what a catalog lacks or gets wrong

Babel is needed here and in the tests only (``pip install -e '.[test]'``); the bot reads
the compiled .mo files with the standard library (bot/i18n.py). The sentences are found where
the code says them: ``t("...")``, ``tn("...", "...", n)`` and ``N_("...")`` (a command's
description, said later), ``NC_("context", "...")`` (a word translated apart from
the same word in a sentence: command names) and ``Phrase("...")`` (an adapter's sentence,
said by the core in the reader's language) in bot/ and adapters/.

``compile`` also writes each language's number rules (English's too) from Babel's CLDR data
into bot/locales/<lang>/numbers.json, which bot/number_format.py reads without Babel;
``check`` fails when one is missing or says other than Babel.
"""

from __future__ import annotations

import json
import string
import sys
from io import BytesIO
from pathlib import Path

import babel.numbers
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "bot" / "locales"
DOMAIN = "confidant"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
SOURCE = "en"
NUMBERS = "numbers.json"
KEYWORDS = {"t": None, "tn": (1, 2), "N_": None, "NC_": ((1, "c"), 2), "Phrase": None}
SOURCES = ("bot", "adapters")


def extracted() -> Catalog:
    """Every sentence the code says, with where it says it."""
    catalog = Catalog(project="Confidant", domain=DOMAIN, charset="utf-8", fuzzy=False)
    for folder in SOURCES:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            catalog.add(
                message,
                None,
                [(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
                flags=("python-brace-format",),
            )
    return catalog


def po_files() -> list[Path]:
    return sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, domain=DOMAIN)


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, omit_header=False, sort_output=False)


def compiled(catalog: Catalog) -> bytes:
    out = BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def placeholders(text: str) -> set[str]:
    """The named placeholders of a sentence ("{room}", "{n}")."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def problems(catalog: Catalog, template: Catalog) -> list[str]:
    """Every message of ``template`` that ``catalog`` lacks, leaves fuzzy or untranslated,
    or translates with other placeholders than the English (a plural form may leave out
    ``{n}``, as "one" often says it in words)."""
    found: list[str] = []
    lang = str(catalog.locale)
    for message in template:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        got = catalog.get(message.id, context=message.context)
        if got is None or not got.string:
            found.append(f"{lang}: lacks {key!r}")
            continue
        if got.fuzzy:
            found.append(f"{lang}: {key!r} is marked fuzzy (needs review)")
        if isinstance(message.id, str):
            forms: tuple[str, ...] = (got.string,) if isinstance(got.string, str) else ()
            wanted = placeholders(message.id)
            allowed = wanted
        else:
            forms = tuple(got.string) if isinstance(got.string, tuple | list) else ()
            allowed = placeholders(message.id[0]) | placeholders(message.id[1])
            wanted = allowed - {"n"}
            if len(forms) != catalog.num_plurals:
                found.append(f"{lang}: {key!r} needs {catalog.num_plurals} plural forms")
        for form in forms:
            if not form:
                found.append(f"{lang}: {key!r} has an empty form")
            elif not wanted <= placeholders(form) <= allowed:
                found.append(
                    f"{lang}: {key!r} uses {sorted(placeholders(form))}, the English "
                    f"{sorted(allowed)}"
                )
    return found


def languages() -> list[str]:
    """Every language the bot speaks: English (the source) and each catalog's folder."""
    return [SOURCE, *[path.parents[1].name for path in po_files()]]


def min_grouping_digits(locale: Locale) -> int:
    """CLDR's minimumGroupingDigits as Babel gives it. Babel 2.19 carries none (its data
    lacks the field and its format_decimal groups every locale from the fourth digit:
    Spanish "1.234", where CLDR has "1234" and "12.345"), so 1 is what Babel says and what
    it formats; a Babel that gains ``get_min_grouping_digits`` is read here instead."""
    getter = getattr(babel.numbers, "get_min_grouping_digits", None)
    return int(getter(locale)) if getter else 1


def number_rules(lang: str) -> dict[str, object]:
    """``lang``'s number rules from Babel's CLDR data (Latin digits, the locale's decimal
    pattern), as bot/number_format.py reads them."""
    locale = Locale.parse(lang)
    symbols = locale.number_symbols["latn"]
    pattern = locale.decimal_formats[None]
    if pattern.prefix != ("", "-") or pattern.suffix != ("", "") or pattern.exp_prec:
        raise ValueError(f"{lang}: decimal pattern {pattern.pattern!r} is not supported")
    if pattern.scale or "@" in pattern.pattern:
        raise ValueError(f"{lang}: decimal pattern {pattern.pattern!r} is not supported")
    return {
        "decimal": symbols["decimal"],
        "group": symbols["group"],
        "minus_sign": symbols["minusSign"],
        "grouping": list(pattern.grouping),
        "min_grouping_digits": min_grouping_digits(locale),
        "integer_digits": pattern.int_prec[0],
        "fraction_digits": list(pattern.frac_prec),
        "pattern": pattern.pattern,
    }


def numbers_json(lang: str) -> str:
    """The committed numbers.json of ``lang``: Babel's rules, one key a line, symbols as
    JSON escapes (French groups with a narrow no-break space, "\\u202f", which a reviewer
    would not see)."""
    lines = [
        f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in number_rules(lang).items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def numbers_path(lang: str) -> Path:
    return LOCALES / lang / NUMBERS


def number_problems() -> list[str]:
    """A language whose numbers.json is missing or says other than Babel."""
    found = []
    for lang in languages():
        path = numbers_path(lang)
        if not path.exists():
            found.append(f"{lang}: lacks {NUMBERS}")
        elif path.read_text(encoding="utf-8") != numbers_json(lang):
            found.append(f"{lang}: {NUMBERS} differs from Babel's CLDR data")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "extract":
        write(TEMPLATE, extracted())
    elif command == "init" and len(argv) == 2:
        template = read(TEMPLATE)
        catalog = Catalog(locale=argv[1], domain=DOMAIN, project="Confidant", fuzzy=False)
        catalog.update(template)
        write(LOCALES / argv[1] / "LC_MESSAGES" / f"{DOMAIN}.po", catalog)
    elif command == "update":
        template = read(TEMPLATE)
        for path in po_files():
            catalog = read(path)
            catalog.update(template, no_fuzzy_matching=True)
            write(path, catalog)
    elif command == "compile":
        for path in po_files():
            path.with_suffix(".mo").write_bytes(compiled(read(path)))
        for lang in languages():
            numbers_path(lang).parent.mkdir(parents=True, exist_ok=True)
            numbers_path(lang).write_text(numbers_json(lang), encoding="utf-8")
    elif command == "check":
        template = read(TEMPLATE)
        found = [p for path in po_files() for p in problems(read(path), template)]
        found += number_problems()
        print("\n".join(found) or "every catalog is complete")
        return 1 if found else 0
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
