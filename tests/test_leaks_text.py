"""Normalisation and tokenisation: formatting must never hide a quote, in any language."""

from __future__ import annotations

import pytest

from bot.leaks import normalize, tokenize
from bot.leaks.normalize_v1 import normalize_v1
from bot.leaks.tokenize import is_unspaced


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello   WORLD", "hello world"),
        ("**bold** and __under__ and ~~gone~~", "bold and under and gone"),
        ("`code` and ```py\nprint(1)\n```", "code and print 1"),
        ("||spoiler|| text", "spoiler text"),
        ("see [the thread](https://example.org/a_(b)?x=1) now", "see the thread now"),
        ("> quoted line\n>> nested\nmine", "quoted line nested mine"),
        (">>> discord block\nquote", "discord block quote"),
        ("> <@alice:example.org> original words\n> more of them\n\nmy reply", "my reply"),
        ("> * <@bob:example.org> waves\n\nhi", "hi"),
        ("> not a fallback\nsecond line", "not a fallback second line"),
        ("<mx-reply><blockquote>old</blockquote></mx-reply>new", "new"),
        ("hi <@123456> and <#987> :) <:blob:1234> <t:1700000000:R>", "hi and"),
        ("Don\u2019t stop, don't STOP!", "dont stop dont stop"),
        ("ｆｕｌｌｗｉｄｔｈ ＴＥＸＴ", "fullwidth text"),
        ("zero\u200bwidth soft\u00adhyphen", "zerowidth softhyphen"),
        ("emoji 😀❤️ gone", "emoji gone"),
        ("tabs\tand\nnew\r\nlines", "tabs and new lines"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_german_casefold_and_composition() -> None:
    # ß case-folds to ss; a decomposed umlaut equals the composed one; accents fold away.
    assert normalize("Die STRAẞE ist groß") == normalize("die strasse ist gross")
    assert normalize("Mu\u0308ller") == normalize("Müller") == "muller"
    # The first normalisation, frozen for the fingerprints it made, kept the umlaut.
    assert normalize_v1("Mu\u0308ller") == normalize_v1("Müller") == "müller"


def test_normalize_arabic_drops_optional_diacritics() -> None:
    assert normalize("مَرْحَبًا بِالعَالَم") == normalize("مرحبا بالعالم") == "مرحبا بالعالم"
    assert normalize("جـــميل") == "جميل"  # tatweel only stretches the word


def test_normalize_keeps_words_in_every_script() -> None:
    text = "Привет мир · γειά σου · שלום · 你好 · こんにちは · สวัสดี · 안녕하세요 · नमस्ते"
    assert normalize_v1(text) == (
        "привет мир γειά σου שלום 你好 こんにちは สวัสดี 안녕하세요 नमस्ते"
    )
    # Scripts with their own letters keep them; Cyrillic and Greek fold to the skeleton
    # UTS #39 gives them, the same whether a word is typed in them or in Latin look-alikes.
    assert normalize(text).endswith("שלום 你好 こんにちは สวัสดี 안녕하세요 नमस्ते")
    assert normalize("Привет мир γειά σου") == normalize("пpивeт миp γεια σοu")
    assert len(normalize("Привет мир γειά σου").split()) == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i know how you feel", ["i", "know", "how", "you", "feel"]),
        ("ich weiß wie es dir geht", ["ich", "weiß", "wie", "es", "dir", "geht"]),
        ("größe über straße", ["größe", "über", "straße"]),
        ("я знаю как тебе тяжело", ["я", "знаю", "как", "тебе", "тяжело"]),
        ("أنا أعرف كيف تشعر", ["أنا", "أعرف", "كيف", "تشعر"]),
        ("我知道你的感受", ["我", "知", "道", "你", "的", "感", "受"]),
        ("気持ちわかるよ", ["気", "持", "ち", "わ", "か", "る", "よ"]),
        ("カタカナー", ["カ", "タ", "カ", "ナ", "ー"]),
        ("안녕 하세요", ["안녕", "하세요"]),
        ("",  []),
    ],
)
def test_tokenize_by_language(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_tokenize_thai_keeps_marks_with_their_consonant() -> None:
    tokens = tokenize(normalize("ฉันเข้าใจนะ"))
    assert "".join(tokens) == "ฉันเข้าใจนะ"
    assert "ข้" in tokens  # consonant + vowel sign + tone mark stay one token
    assert all(token[0] not in "\u0e31\u0e34\u0e49" for token in tokens)


def test_tokenize_mixed_scripts() -> None:
    tokens = tokenize(normalize("我喜欢Python编程, and Grüße 你好!"))
    assert tokens == ["我", "喜", "欢", "python", "编", "程", "and", "grusse", "你", "好"]


def test_unspaced_scripts() -> None:
    assert all(map(is_unspaced, "中あアไລကក"))
    assert not any(map(is_unspaced, "aäж한ع"))
