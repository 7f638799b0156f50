"""Numbers said per language: quantities as CLDR writes them (Babel's format_decimal is the
oracle), ids as the digits a moderator types back, and the committed number rules checked
against Babel's data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import babel.numbers
import pytest

from bot import i18n, number_format, texts
from bot.checkins import words as checkin_words
from bot.moderation import describe_policy
from bot.policy import load_policy_text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import catalogs  # noqa: E402 (tools/ is not a package)

LANGUAGES = ("en", "es", "de", "fr")
VALUES = (0, 7, 999, 1000, 1234, 12345, 1234567, 2.5, 1234.5)
# Where writing numbers goes wrong: signs, half-even rounding of the shortest decimal form
# (Babel rounds 2.675 and 0.0125 as written, not as stored in binary), exponents.
HARD = (-7, -1234.5, -0.0001, 0.5, 2.675, 1.0005, 0.0125, 0.9995, 999.9996, 1e-05, 1e20, 1.5e16)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("value", VALUES + HARD)
def test_a_quantity_is_written_as_babel_writes_it(lang: str, value: float) -> None:
    said = i18n.translate(lang, "{n}", n=i18n.Number(value))
    assert said == babel.numbers.format_decimal(value, locale=lang)
    assert number_format.format_number(value, lang) == said


def test_each_language_writes_a_thousand_its_own_way() -> None:
    said = {lang: i18n.translate(lang, "{n}", n=i18n.Number(1234.5)) for lang in LANGUAGES}
    assert said == {"en": "1,234.5", "es": "1.234,5", "de": "1.234,5", "fr": "1\u202f234,5"}


def test_the_count_of_a_plural_sentence_is_a_quantity() -> None:
    with i18n.speaking("de"):
        assert texts.leak_confidence("quote", 1234, False) == (
            "1.234 übereinstimmende Fingerabdrücke"
        )
    with i18n.speaking("en"):
        assert texts.leak_confidence("quote", 1234, False) == "1,234 matching fingerprints"


def test_an_id_stays_the_digits_a_moderator_types_back() -> None:
    """A flag id of 1234 is typed as "/flag resolve 1234": never "1.234", even in a sentence
    whose count is written the German way."""
    with i18n.speaking("de"):
        said = texts.leak_flag_false_positive(1234, 1234)
    assert "Meldung 1234 " in said
    assert "ihre 1.234 übereinstimmenden" in said
    with i18n.speaking("de"):
        assert texts.no_proposed_action(12345).endswith("12345.")


def test_a_float_is_a_quantity_wherever_it_is_said() -> None:
    with i18n.speaking("de"):
        assert "höchstens 2,5 Stunden" in texts.held_copy_poster_note(2.5)
        assert "höchstens 1 Stunde " in texts.held_copy_poster_note(1.0)
    with i18n.speaking("fr"):
        assert "2,5" in i18n.t("{minutes}", minutes=2.5)
        assert "après 2,5 minutes sans" in checkin_words.timed_out(2.5)
        assert "après 30 minutes sans" in checkin_words.timed_out(30.0)


def test_a_quantity_in_a_sentence_without_a_count_is_wrapped() -> None:
    """A timeout of 1440 minutes and a window of 3650 days are quantities in t() sentences:
    wrapped in Number; the action id beside them is not."""
    with i18n.speaking("de"):
        assert texts.repeat_action("timeout", 1234, 1440) == (
            "eine Zeitsperre von 1.440 Minuten (Maßnahme 1234)"
        )
        said = texts.repeat_leaker(1234, 1500, 3650, 3)
    assert "Meldung 1234" in said and "1.500" in said and "3.650" in said


POLICY = """\
name: circle
language: de
rooms:
  - {platform: console, name: circle}
moderators:
  - {platform: console, user: mod}
reminder:
  text: What is said here stays here.
  fallback_delete_after_minutes: 2.5
  repeat: {every_messages: 1500}
checkins:
  intro: Private.
  retention_days: 3650
  timeout_minutes: 7.5
  questions:
    - {id: mood, prompt: How are you?, kind: scale}
"""


def test_the_policy_summary_says_quantities_as_the_language_writes_them() -> None:
    policy = load_policy_text(POLICY, "policies/circle.yaml")
    with i18n.speaking("de"):
        shown = describe_policy(policy)
    assert "nach 2,5 Minuten" in shown, shown
    assert "1.500" in shown
    assert "3.650" in shown and "7,5" in shown


def test_minimum_grouping_digits_leave_four_digits_whole(monkeypatch) -> None:
    """CLDR's minimumGroupingDigits 2 (Spanish in CLDR: "1234" but "12.345"). Babel 2.19
    carries no such value, so the shipped files say 1; the formatter honours what they say."""
    rules = dict(number_format.symbols("es"), min_grouping_digits=2)
    monkeypatch.setattr(number_format, "symbols", lambda lang: rules)
    assert number_format.format_number(1234.5, "es") == "1234,5"
    assert number_format.format_number(12345, "es") == "12.345"
    assert number_format.format_number(1234567, "es") == "1.234.567"


def test_the_committed_number_rules_are_babels() -> None:
    assert catalogs.number_problems() == [], "run: python tools/catalogs.py compile"
    assert {p.parent.name for p in catalogs.LOCALES.glob("*/numbers.json")} == set(LANGUAGES)


def test_the_check_fails_on_a_missing_or_edited_numbers_file(tmp_path, monkeypatch) -> None:
    copy = tmp_path / "locales"
    shutil.copytree(catalogs.LOCALES, copy)
    monkeypatch.setattr(catalogs, "LOCALES", copy)
    assert catalogs.number_problems() == []
    (copy / "de" / "numbers.json").unlink()
    french = copy / "fr" / "numbers.json"
    french.write_text(french.read_text().replace("\\u202f", " "))
    assert catalogs.number_problems() == [
        "de: lacks numbers.json",
        "fr: numbers.json differs from Babel's CLDR data",
    ]
    assert catalogs.main(["check"]) == 1
    catalogs.main(["compile"])
    assert catalogs.number_problems() == []
    assert catalogs.main(["check"]) == 0


def test_the_bot_writes_numbers_without_babel() -> None:
    """Babel is a tools and tests dependency: the running bot reads the compiled rules."""
    code = (
        "import sys; from bot import i18n; "
        "said = i18n.translate_plural('fr', '{n} day', '{n} days', 1234, n=2.5); "
        "assert '2,5' in said, said; "
        "assert 'babel' not in sys.modules and 'decimal' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
