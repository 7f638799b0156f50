"""The message catalogs: complete, with the English placeholders, compiled from their
sources, and extracted from the code as it is now."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot import i18n, texts

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import catalogs  # noqa: E402 (tools/ is not a package)

LANGUAGES = ("es", "de", "fr")


def _po(lang: str) -> Path:
    return catalogs.LOCALES / lang / "LC_MESSAGES" / f"{catalogs.DOMAIN}.po"


def test_the_bot_speaks_english_spanish_german_and_french() -> None:
    assert set(i18n.available()) == {"en", *LANGUAGES}


def test_the_template_holds_every_sentence_the_code_says() -> None:
    """A sentence added to the code without `extract` (or one left in the template after
    the code dropped it) fails here: translators would never see it, or work for nothing."""
    in_code = {(m.id, m.context) for m in catalogs.extracted() if m.id}
    in_template = {(m.id, m.context) for m in catalogs.read(catalogs.TEMPLATE) if m.id}
    assert in_code - in_template == set(), "run: python tools/catalogs.py extract"
    assert in_template - in_code == set(), "run: python tools/catalogs.py extract"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_catalog_is_complete_with_the_english_placeholders(lang: str) -> None:
    assert catalogs.problems(catalogs.read(_po(lang)), catalogs.read(catalogs.TEMPLATE)) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_is_compiled_from_its_po(lang: str) -> None:
    """The bot reads the .mo; an edited .po without `compile` would never be said."""
    committed = _po(lang).with_suffix(".mo").read_bytes()
    assert committed == catalogs.compiled(catalogs.read(_po(lang))), (
        "run: python tools/catalogs.py compile"
    )


def test_the_check_finds_a_missing_message_and_a_wrong_placeholder() -> None:
    template = catalogs.read(catalogs.TEMPLATE)
    catalog = catalogs.read(_po("es"))
    gone = "Flag {flag} is resolved."
    catalog.delete(gone)
    wrong = catalog.get("Welcome to {room}. This room's confidentiality reminder:")
    wrong.string = "Te damos la bienvenida a {sala}."
    plural = catalog.get(("{n} matching fingerprint", "{n} matching fingerprints"))
    plural.string = ("{n} huella", "{n} huellas")  # Spanish has three forms
    found = catalogs.problems(catalog, template)
    assert f"es: lacks {gone!r}" in found
    assert any("uses ['sala'], the English ['room']" in p for p in found)
    assert any("needs 3 plural forms" in p for p in found)


def test_a_sentence_is_said_in_the_language_asked_with_its_plural_rule() -> None:
    with i18n.speaking("es-MX"):  # a region without a catalog of its own: Spanish
        assert texts.leak_flag_resolved(7) == "El aviso 7 está resuelto."
        assert texts.leak_confidence("quote", 1, False) == "1 huella coincidente"
        assert texts.leak_confidence("quote", 3, False) == "3 huellas coincidentes"
    with i18n.speaking("fr"):  # French counts 0 as one, English does not
        assert texts.leak_confidence("quote", 0, False) == "0 empreinte correspondante"
    assert texts.leak_confidence("quote", 0, False) == "0 matching fingerprints"
    with i18n.speaking("de"):
        assert texts.agree_label() == "Zustimmen"


def test_english_is_the_fallback_for_a_language_or_a_message_without_a_catalog() -> None:
    assert i18n.translate("ja", "Flag {flag} is resolved.", flag=2) == "Flag 2 is resolved."
    assert i18n.translate("es", "A sentence no catalog has, {x}.", x=1) == (
        "A sentence no catalog has, 1."
    )
    assert i18n.negotiate("DE_at") == "de" and i18n.negotiate(None) == "en"
