"""Quotes disguised to dodge detection are still flagged, through the whole bot.

Each disguise is what someone who wants to leak without being flagged tries first (issue:
look-alike letters, invisible fillers, accents, small capitals, keycaps, enclosed letters);
the copy goes through the console, the core and ``detect.quotes`` like any message.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from itertools import cycle
from pathlib import Path

import pytest

from bot.leaks import normalize, tokenize
from bot.leaks.normalize_v1 import normalize_v1, tokens_v1
from tests.leak_rig import QUOTE, SHARED, SHARED_WORDS, alerts, leak_rig

LATIN_TO_CYRILLIC = str.maketrans("aeopcxyiAEOPCXYIHTKMB", "аеорсхуіАЕОРСХУІНТКМВ")
LATIN_TO_GREEK = str.maketrans("aoivkpxyuABEHIKMNOPTXYZ", "αοινκρχγυΑΒΕΗΙΚΜΝΟΡΤΧΥΖ")
# Greek capitals whose small letter reads as another Latin letter (η "n", ν "v", β "ss").
GREEK_CAPITALS = str.maketrans("BHINY", "ΒΗΙΝΥ")
# Armenian letters that read as Latin ones (UTS #39), one per word.
LATIN_TO_ARMENIAN = {"n": "ո", "u": "ս", "o": "օ", "h": "հ", "g": "ց", "q": "գ", "j": "յ"}


def one_armenian_letter(word: str) -> str:
    for i, char in enumerate(word):
        if char in LATIN_TO_ARMENIAN:
            return word[:i] + LATIN_TO_ARMENIAN[char] + word[i + 1 :]
    return word


def per_word(change: Callable[[str], str]) -> Callable[[str], str]:
    return lambda text: " ".join(change(word) for word in text.split())


def inside_words(fillers: str) -> Callable[[str], str]:
    """One invisible character in the middle of every word longer than one letter."""
    chars = cycle(fillers)

    def insert(word: str) -> str:
        middle = len(word) // 2
        return word if len(word) < 2 else word[:middle] + next(chars) + word[middle:]

    return per_word(insert)


def small_caps(text: str) -> str:
    def cap(char: str) -> str:
        try:
            return unicodedata.lookup(f"LATIN LETTER SMALL CAPITAL {char.upper()}")
        except KeyError:
            return char

    return "".join(cap(char) if char.isalpha() else char for char in text)


def enclosed(text: str) -> str:
    """Circled (Ⓐ), negative squared (🅰) and mathematical bold fraktur letters in turn."""
    styles = cycle(("CIRCLED LATIN SMALL LETTER", "NEGATIVE SQUARED LATIN CAPITAL LETTER"))
    out = []
    for char in text:
        if char.isalpha():
            out.append(unicodedata.lookup(f"{next(styles)} {char.upper()}"))
        else:
            out.append(char)
    return "".join(out)


def between_words(items: str) -> Callable[[str], str]:
    def insert(text: str) -> str:
        marks = cycle(items.split())
        return " ".join(f"{word} {next(marks)}" for word in text.split())

    return insert


DISGUISES: dict[str, Callable[[str], str]] = {
    "cyrillic look-alikes": lambda text: text.translate(LATIN_TO_CYRILLIC),
    "cyrillic capitals": lambda text: text.upper().translate(LATIN_TO_CYRILLIC),
    "greek look-alikes": lambda text: text.translate(LATIN_TO_GREEK),
    "greek capitals starting latin words": per_word(
        lambda w: w[0].upper().translate(GREEK_CAPITALS) + w[1:]
    ),
    "armenian letters in latin words": per_word(one_armenian_letter),
    "combining grapheme joiner": inside_words("\u034f"),
    "hangul fillers": inside_words("\u3164\u115f\u1160\uffa0"),
    "braille blank": inside_words("\u2800"),
    "zero-width space, joiner, non-joiner": inside_words("\u200b\u200d\u200c\u2060\ufeff"),
    "soft hyphen": inside_words("\u00ad"),
    "tag characters": inside_words("\U000e0041\U000e0020\U000e007f"),
    "variation selectors": inside_words("\ufe0f\U000e0100"),
    "one combining accent per word": per_word(lambda w: w[0] + "\u0301" + w[1:]),
    "stacked accents": per_word(lambda w: w[0] + "\u0308\u0323" + w[1:] + "\u20dd"),
    "precomposed accents": lambda text: text.translate(str.maketrans("aeiou", "áèîõü")),
    "thai mark on latin letters": per_word(lambda w: w[0] + "\u0e31" + w[1:]),
    "small caps": small_caps,
    "keycaps between words": between_words("1\ufe0f\u20e3 #\ufe0f\u20e3 7\u20e3"),
    "emoji between words": between_words("😀 🔥 ❤️ 👍🏽 👨\u200d👩\u200d👧"),
    "enclosed letters": enclosed,
    "fraktur and double-struck": lambda text: "".join(
        unicodedata.lookup(f"MATHEMATICAL FRAKTUR SMALL {c.upper()}") if c in "bdfhlnprtvx"
        else unicodedata.lookup(f"MATHEMATICAL DOUBLE-STRUCK SMALL {c.upper()}")
        if c.isalpha()
        else c
        for c in text
    ),
}


# What the first normalisation already read through (so no alert depended on version 2).
CAUGHT_BY_VERSION_1 = {
    "zero-width space, joiner, non-joiner",
    "soft hyphen",
    "tag characters",
    "variation selectors",
    "emoji between words",
    "fraktur and double-struck",
}


def test_the_disguises_beat_the_first_normalisation() -> None:
    beaten = {
        name for name, disguise in DISGUISES.items()
        if normalize_v1(disguise(QUOTE)) != normalize_v1(QUOTE)
    }
    assert beaten == set(DISGUISES) - CAUGHT_BY_VERSION_1
    assert all(normalize(disguise(QUOTE)) == normalize(QUOTE) for disguise in DISGUISES.values())


@pytest.mark.parametrize("name", list(DISGUISES))
async def test_a_disguised_quote_is_flagged(tmp_path: Path, name: str) -> None:
    disguised = DISGUISES[name](QUOTE)
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {SHARED}")
        out = await rig.say(":room lobby", f"bob: {disguised}")
        [alert] = alerts(out)
        assert "Possible leak from recovery" in alert and "a quote" in alert
        for word in SHARED_WORDS:
            assert word not in out


async def test_disguising_the_confidential_message_itself_changes_nothing(
    tmp_path: Path,
) -> None:
    """The same function fingerprints both sides: a disguised original, a plain copy."""
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {DISGUISES['small caps'](SHARED)}")
        [alert] = alerts(await rig.say(":room lobby", f"bob: {QUOTE}"))
        assert "from recovery" in alert


ACCENTED = {
    "french": (
        "Hier soir j'ai enfin avoué à ma mère que je bois en cachette depuis des années "
        "et qu'elle m'a répondu qu'elle le savait déjà",
        "Tu sais, elle m'a répondu qu'elle le savait déjà et qu'elle m'aime quand même, "
        "c'était très émouvant pour moi hier soir",
    ),
    "german": (
        "Gestern Abend habe ich meiner Mutter endlich gestanden, dass ich seit Jahren heimlich "
        "trinke, und sie hat geantwortet, dass sie es längst wusste",
        "Meine Schwester hat gestern gesagt, dass sie es längst wusste und mir trotzdem "
        "glaubt, das war für mich ein schöner Abend",
    ),
    "vietnamese": (
        "Tối qua tôi cuối cùng đã thú nhận với mẹ rằng tôi đã uống rượu lén lút nhiều năm "
        "và mẹ nói rằng mẹ đã biết từ lâu rồi",
        "Hôm nay chị tôi nói rằng chị đã biết từ lâu rồi nhưng vẫn thương tôi như ngày xưa "
        "và chúng tôi đã khóc cùng nhau",
    ),
}


@pytest.mark.parametrize("language", list(ACCENTED))
async def test_accented_text_matches_itself_and_only_itself(
    tmp_path: Path, language: str
) -> None:
    said, different = ACCENTED[language]
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {said}")
        # A different message sharing a common phrase with it is no quote.
        assert alerts(await rig.say(":room lobby", f"carol: {different}")) == []
        [alert] = alerts(await rig.say(":room lobby", f"bob: {said}"))
        assert "from recovery" in alert


@pytest.mark.parametrize("language", list(ACCENTED))
def test_accent_folding_merges_nothing_but_accents(language: str) -> None:
    """Version 2 differs from version 1 only by the accents (and đ) it takes off letters:
    the same number of words, each its version-1 self without marks."""
    for text in ACCENTED[language]:
        before, after = tokens_v1(text), tokenize(normalize(text))
        assert len(before) == len(after)
        for old, new in zip(before, after, strict=True):
            bare = "".join(
                c for c in unicodedata.normalize("NFD", old) if not unicodedata.combining(c)
            )
            assert new == bare.replace("đ", "d")


@pytest.mark.parametrize(
    "text",
    [
        "ฉันเข้าใจนะ เพื่อนรัก ฉันอยู่ตรงนี้เสมอ ไม่ว่าจะเกิดอะไรขึ้นก็ตาม",
        "मैंने कल रात आखिरकार अपनी माँ को बता दिया कि मैं सालों से छुपकर पीता हूँ",
        "어젯밤 드디어 엄마에게 몇 년 동안 몰래 술을 마셔 왔다고 털어놓았어요",
        "昨夜、何年も隠れてお酒を飲んでいたことをやっと母に打ち明けました。ラーメン",
        "昨晚我终于向妈妈坦白了我多年来一直偷偷喝酒",
        "أخيرًا اعترفت لأمي الليلة الماضية بأنني أشرب سرًا منذ سنوات",
        "אתמול בלילה סוף סוף סיפרתי לאמא שלי שאני שותה בסתר כבר שנים",
    ],
)
def test_scripts_with_their_own_letters_tokenise_as_before(text: str) -> None:
    """Thai vowels and tone marks, Devanagari signs, Hangul syllables, kana (with ー), Han,
    Arabic and Hebrew letters are words there, not disguises: version 2 keeps them."""
    assert tokenize(normalize(text)) == tokens_v1(text)


def test_greek_and_armenian_words_keep_their_letters_and_their_case() -> None:
    """Look-alikes from scripts with words of their own fold only inside a Latin word: a
    Greek or Armenian word is not rewritten, and reads alike in upper and lower case."""
    assert normalize("Ηello Νow Βob") == "hello now bob"
    assert normalize("ΗΡΑ ΝΕΑ") == normalize("Ηρα Νεα") == normalize("ηρα νεα")
    assert normalize("բարեւ ձեզ, ո՞նց ես") == "բարեւ ձեզ ո նց ես"
    assert normalize("tօld սs") == "told us"
    assert normalize("丫头ok") == "丫头ok"  # Han runs into Latin letters: no words to judge


def test_keycaps_fold_to_their_digit_inside_a_word_and_vanish_alone() -> None:
    assert normalize("room 1\ufe0f\u20e30 and 2\u20e3nd") == "room 10 and 2nd"
    assert normalize("told 1\ufe0f\u20e3 2\u20e3 her") == "told her"
    assert normalize("told #\ufe0f\u20e3 her") == "told her"


def test_upper_and_lower_case_fold_alike_in_every_script() -> None:
    """A skeleton must not depend on case, or a shouted copy would slip through."""
    for code in range(0x80, 0x20000):
        char = chr(code)
        if unicodedata.category(char)[0] == "L":
            assert normalize(char.upper()) == normalize(char.lower()) == normalize(char), char


def test_normalising_twice_changes_nothing() -> None:
    text = " ".join(f(QUOTE) for f in DISGUISES.values()) + " " + " ".join(
        pair[0] for pair in ACCENTED.values()
    )
    once = normalize(text)
    assert normalize(once) == once


def test_marks_on_nothing_or_on_latin_letters_are_dropped_and_thai_keeps_its_own() -> None:
    assert normalize('she said "\u0e31told" (\u0941me)') == "she said told me"
    assert normalize("t\u0e49old \u0e31") == "told"
    assert normalize("ฉันเข้าใจนะ") == "ฉันเข้าใจนะ"
