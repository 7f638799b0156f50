"""Scripts without spaces: a shingle spans a sentence's worth of characters, not a phrase."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.leaks import Fingerprinter, LeakParams, normalize, tokenize
from bot.leaks.params import CHARS_PER_WORD, WORD_UNITS
from bot.leaks.tokenize import token_units
from tests.leak_rig import alerts, leak_rig

KEY = bytes(range(32))

# Different messages that share an everyday phrase of 12 to 16 characters: thanks, a
# greeting, "I understand how you feel". Each pair was flagged when a character was a word.
EVERYDAY = [
    (
        "今日は本当にありがとうございました、皆さんのおかげで少し元気が出ました",
        "昨日は本当にありがとうございました、また来週お会いしましょう",
    ),
    (
        "非常感谢大家今天的分享和支持，我感觉好多了",
        "非常感谢大家今天的分享和支持，我们下周再见",
    ),
    (
        "ขอบคุณทุกคนมากที่รับฟังฉันวันนี้ฉันรู้สึกดีขึ้นเยอะเลย",
        "ขอบคุณทุกคนมากที่รับฟังฉันแล้วเจอกันสัปดาห์หน้านะ",
    ),
]

# Whole sentences quoted inside another message.
SENTENCES = [
    (
        "ついに姉に何年もこっそりお酒を飲んでいたことを話しました。姉はずっと泣いていました",
        "聞いた？ついに姉に何年もこっそりお酒を飲んでいたことを話しました。姉はずっと泣いて",
    ),
    (
        "我上个星期又复发了，因为我妹妹说她再也不想见到我，我一直睡不着。",
        "你们听说了吗：我上个星期又复发了，因为我妹妹说她再也不想见到我",
    ),
    (
        "ในที่สุดฉันก็บอกพี่สาวว่าฉันแอบดื่มเหล้ามาหลายปีแล้ว เธอร้องไห้อยู่นานมาก",
        "รู้ยัง ในที่สุดฉันก็บอกพี่สาวว่าฉันแอบดื่มเหล้ามาหลายปีแล้ว เธอร้องไห้อยู่นาน",
    ),
]


@pytest.mark.parametrize(("confidential", "elsewhere"), EVERYDAY)
async def test_an_everyday_phrase_shared_by_different_messages_is_not_a_leak(
    tmp_path: Path, confidential: str, elsewhere: str
) -> None:
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {confidential}")
        assert alerts(await rig.say(":room lobby", f"bob: {elsewhere}")) == []


@pytest.mark.parametrize(("confidential", "elsewhere"), SENTENCES)
async def test_a_quoted_sentence_is_flagged_in_scripts_without_spaces(
    tmp_path: Path, confidential: str, elsewhere: str
) -> None:
    async with leak_rig(tmp_path) as rig:
        await rig.say(":room recovery", f"alice: {confidential}")
        [alert] = alerts(await rig.say(":room lobby", f"bob: {elsewhere}"))
        assert "from recovery" in alert
        assert not set(confidential) & set(alert) - set("abcdefghijklmnopqrstuvwxyz ")


def test_characters_weigh_their_scripts_share_of_a_word() -> None:
    tokens = tokenize(normalize("今日はありがとう ข้ 안녕하세요 friend"))
    units = token_units(tokens)
    assert units is not None
    by_token = dict(zip(tokens, units, strict=True))
    assert by_token["今"] == WORD_UNITS / CHARS_PER_WORD["han"]
    assert by_token["は"] == WORD_UNITS / CHARS_PER_WORD["kana"]
    assert by_token["ข้"] == WORD_UNITS / CHARS_PER_WORD["thai"]  # marks ride on their letter
    assert by_token["안녕하세요"] == by_token["friend"] == WORD_UNITS  # Hangul has spaces
    for abugida in ("ລາວ", "ខ្មែរ", "မြန်မာ"):  # Lao, Khmer, Myanmar: weighed like Thai
        assert set(token_units(tokenize(normalize(abugida))) or []) == {by_token["ข้"]}
    assert token_units(tokenize("plain ascii words")) is None
    assert token_units(tokenize(normalize("Привет мир, κόσμε"))) is None


def test_a_shingle_spans_k_words_worth_of_characters() -> None:
    fingerprinter = Fingerprinter(KEY, LeakParams(k=4, w=1))
    per_word = int(CHARS_PER_WORD["han"])
    han = "我你他是的不了在有人这中大为上个国"
    assert fingerprinter.shingle_hashes(tokenize(han[: 4 * per_word - 1])) == []
    assert len(fingerprinter.shingle_hashes(tokenize(han[: 4 * per_word]))) == 1
    assert len(fingerprinter.shingle_hashes(tokenize(han))) == len(han) - 4 * per_word + 1
    # two Han characters and one word weigh two words: mixed text is cut by weight
    mixed = tokenize("我你 one two 他是的不")
    assert len(fingerprinter.shingle_hashes(mixed)) == 3
    assert fingerprinter.fingerprints(han[:5]).token_count == 5 // per_word


def test_text_in_spaced_scripts_keeps_the_fingerprints_it_had() -> None:
    """Weights change nothing for spaced scripts, so stored fingerprints stay valid: a
    shingle is still the keyed hash of k tokens joined by the unit separator."""
    fingerprinter = Fingerprinter(KEY, LeakParams(k=3, w=1))
    texts = ("i have not told anyone", "я никому не говорил об этом", "안녕 하세요 여러분 반가워요")
    for text in texts:
        tokens = tokenize(normalize(text))
        expected = []
        for start in range(len(tokens) - 2):
            state = hashlib.blake2b(key=KEY, digest_size=8, person=b"confidant-leak/1")
            state.update(b"S" + (3).to_bytes(2, "big"))
            state.update("\x1f".join(tokens[start : start + 3]).encode())
            expected.append(int.from_bytes(state.digest(), "big") & ((1 << 60) - 1))
        assert fingerprinter.shingle_hashes(tokens) == expected


PIECES = ["我", "你", "他", "的", "は", "が", "を", "ก", "ข้", "word", "other", "again"]


@settings(max_examples=80, deadline=None)
@given(
    before=st.lists(st.sampled_from(PIECES), max_size=8),
    after=st.lists(st.sampled_from(PIECES), max_size=8),
    shared=st.lists(st.sampled_from(PIECES), min_size=16, max_size=40),
)
def test_a_run_holding_w_shingles_is_always_caught_in_mixed_scripts(
    before: list[str], after: list[str], shared: list[str]
) -> None:
    """Winnowing's guarantee survives weighting: a shared run long enough to hold w whole
    shingles (by weight, whatever its scripts) leaves a common fingerprint."""
    fingerprinter = Fingerprinter(KEY, LeakParams(k=4, w=3))
    run = tokenize(normalize(" ".join(shared)))
    assume(len(fingerprinter.shingle_hashes(run)) >= 3)
    one = fingerprinter.fingerprints(" ".join(["first", *before, "。", *shared, "。", *after]))
    two = fingerprinter.fingerprints(" ".join(["second", *after, "!", *shared, "!", *before]))
    assert one.values & two.values
