"""The generated fold table and its generator: Unicode's data, versions named, outputs final."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from bot.leaks import fold_table
from bot.leaks.normalize import basic_fold

ROOT = Path(__file__).resolve().parents[1]


def generator() -> ModuleType:
    path = ROOT / "tools" / "gen_fold_table.py"
    spec = importlib.util.spec_from_file_location("gen_fold_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_fold_table", module)
    spec.loader.exec_module(module)
    return module


def test_the_table_names_the_unicode_data_it_was_made_from() -> None:
    assert fold_table.CONFUSABLES_VERSION == "18.0.0"
    assert fold_table.UCD_VERSION
    assert "confusables.txt version 18.0.0" in (fold_table.__doc__ or "")


def test_every_fold_is_final() -> None:
    dropped = fold_table.DROPPED
    for code, value in fold_table.FOLD.items():
        for char in value:
            assert not any(low <= ord(char) <= high for low, high in dropped), hex(code)
            assert fold_table.FOLD.get(ord(char), basic_fold(ord(char))) == char, hex(code)


CONFUSABLES = """\
# confusables.txt
# Version: 99.0.0
0430 ;\t0061 ;\tMA\t# CYRILLIC SMALL LETTER A -> a
043A ;\t0138 ;\tMA\t# CYRILLIC SMALL LETTER KA -> kra
041A ;\t004B ;\tMA\t# CYRILLIC CAPITAL LETTER KA -> K
0E14 ;\t0E04 ;\tMA\t# THAI CHARACTER DO DEK -> KHO KHWAI
00F0 ;\t2202 ;\tMA\t# LATIN SMALL LETTER ETH -> PARTIAL DIFFERENTIAL
""" + "".join(f"{0x10000 + n:04X} ;\t0061 ;\tMA\t#\n" for n in range(5000))


def test_the_generator_reads_unicode_files_and_keeps_living_scripts(tmp_path: Path) -> None:
    gen = generator()
    path = tmp_path / "confusables.txt"
    path.write_text(CONFUSABLES, "utf-8")
    version, table = gen.read_confusables(path)
    assert version == "99.0.0" and table[0x0430] == "a"
    scripts = {0x0430: "Cyrillic", 0x043A: "Cyrillic", 0x041A: "Cyrillic", 0x0E14: "Thai",
               0x0E04: "Thai", 0x00F0: "Latin"}
    folder = gen.Folder(table, scripts)

    def fold(char: str) -> str:
        key = gen.case_key(char)
        members = [c for c in ("\u043a", "\u041a", "\u0430", "\u0410") if gen.case_key(c) == key]
        return folder.fold(char, members or [char])

    assert fold("\u0430") == fold("\u0410") == "a"  # Cyrillic а, either case
    assert fold("\u043a") == fold("\u041a") == "k"  # к is listed as ĸ, К as K: both read k
    assert fold("\u0e14") == "\u0e14"  # Thai ด is a letter of its own, not a ค
    assert fold("\u00f0") == "\u00f0"  # a letter never folds to a symbol (ð is no ∂)
    assert fold("\u1d1b") == "t" and fold("\u24b6") == "a"  # small capital ᴛ, circled Ⓐ
    assert fold("\u00e9") == "e"  # accents of Latin letters fold away
