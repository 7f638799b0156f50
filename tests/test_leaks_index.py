"""The index: thresholds, exclusions, stop-fingerprints, forgetting, and no plaintext kept."""

from __future__ import annotations

import pickle

import pytest

from bot.leaks import (
    Fingerprinter,
    Fingerprints,
    LeakIndex,
    LeakParams,
    Match,
    Posting,
    author_key,
    background_fingerprints,
    common_fingerprints,
)

KEY = bytes(range(32))
CANARY = "zanzibarquokka"
ALICE = author_key(KEY, "discord", "alice")
BOB = author_key(KEY, "discord", "bob")
CAROL = author_key(KEY, "matrix", "@carol:example.org")
SECRET = (
    "last week i finally told my sister about the drinking and she cried for an hour "
    "before she said she had known for years and was waiting for me to say it"
)


def fp(values: set[int], whole: bool = False) -> Fingerprints:
    return Fingerprints(frozenset(values), whole_message=whole, token_count=20)


@pytest.fixture
def fingerprinter() -> Fingerprinter:
    return Fingerprinter(KEY)


def test_a_quote_elsewhere_is_found(fingerprinter: Fingerprinter) -> None:
    index = LeakIndex()
    index.add(fingerprinter.fingerprints(SECRET), "recovery", 100, ALICE)
    outside = f"lol look what alice posted: {SECRET.upper()}!!"
    matches = index.lookup(fingerprinter.fingerprints(outside), exclude_room="general")
    assert len(matches) == 1
    assert matches[0].room_key == "recovery"
    assert matches[0].matched_fingerprints >= 2
    assert not matches[0].whole_message
    assert index.lookup(fingerprinter.fingerprints("an unrelated message about cats and dogs "
                                                   "and the weather this fine afternoon")) == []


def test_threshold_needs_min_matches_shingle_fingerprints() -> None:
    index = LeakIndex(LeakParams(min_matches=2))
    index.add(fp({1, 2, 3}), "room", 1, ALICE)
    assert index.lookup(fp({1, 99})) == []
    assert index.lookup(fp({1, 2, 99})) == [Match("room", 2, False)]
    assert LeakIndex(LeakParams(min_matches=3)).lookup(fp({1, 2})) == []
    single = LeakIndex(LeakParams(min_matches=1))
    single.add(fp({1, 2, 3}), "room", 1, ALICE)
    assert single.lookup(fp({3})) == [Match("room", 1, False)]


def test_one_whole_message_match_is_enough(fingerprinter: Fingerprinter) -> None:
    index = LeakIndex()
    index.add(fingerprinter.fingerprints("I relapsed last night"), "recovery", 5, ALICE)
    matches = index.lookup(fingerprinter.fingerprints("i RELAPSED last night."), "general")
    assert matches == [Match("recovery", 1, True)]
    assert index.lookup(fingerprinter.fingerprints("I relapsed last week"), "general") == []


def test_results_are_ordered_strongest_first() -> None:
    index = LeakIndex()
    index.add(fp({1, 2}), "weak", 1, ALICE)
    index.add(fp({3, 4, 5}), "strong", 1, ALICE)
    assert [m.room_key for m in index.lookup(fp({1, 2, 3, 4, 5}))] == ["strong", "weak"]


def test_same_room_is_excluded() -> None:
    index = LeakIndex()
    index.add(fp({1, 2, 3}), "recovery", 1, ALICE)
    assert index.lookup(fp({1, 2, 3}), exclude_room="recovery") == []
    assert index.lookup(fp({1, 2, 3}), exclude_room="other") == [Match("recovery", 3, False)]


def test_same_author_is_excluded_only_when_asked() -> None:
    index = LeakIndex()
    index.add(fp({1, 2, 3}), "recovery", 1, ALICE)
    assert index.lookup(fp({1, 2}), exclude_author=ALICE) == []
    assert index.lookup(fp({1, 2}), exclude_author=BOB) == [Match("recovery", 2, False)]
    assert index.lookup(fp({1, 2})) == [Match("recovery", 2, False)]
    # When Bob said it too in that room, Alice repeating it elsewhere still counts.
    index.add(fp({1, 2}), "recovery", 2, BOB)
    assert index.lookup(fp({1, 2}), exclude_author=ALICE) == [Match("recovery", 2, False)]


def test_fingerprints_in_many_rooms_are_stopped() -> None:
    index = LeakIndex(LeakParams(stop_rooms=3))
    index.add(fp({1, 2}), "a", 1, ALICE)
    index.add(fp({1, 5}), "b", 1, BOB)
    assert not index.is_stopped(1)
    assert {m.room_key for m in index.lookup(fp({1, 2, 5}))} == {"a", "b"}
    index.add(fp({1, 7}), "c", 1, CAROL)
    assert index.is_stopped(1)
    # Fingerprint 1 no longer counts, so no room reaches two matches.
    assert index.lookup(fp({1, 2, 5, 7})) == []
    # Repeats inside one room never make a fingerprint common.
    index.add(fp({2}), "a", 2, BOB)
    index.add(fp({2}), "a", 3, CAROL)
    assert not index.is_stopped(2)


def test_background_phrases_are_stopped(fingerprinter: Fingerprinter) -> None:
    background = background_fingerprints(fingerprinter)
    index = LeakIndex(background=background)
    hugs = "Sending you hugs!"
    index.add(fingerprinter.fingerprints(hugs), "recovery", 1, ALICE)
    assert index.lookup(fingerprinter.fingerprints("sending you hugs"), "general") == []
    long_phrase = "thank you so much for sharing your story with us"
    index.add(fingerprinter.fingerprints(f"{long_phrase} today"), "recovery", 1, ALICE)
    assert index.lookup(fingerprinter.fingerprints(f"{long_phrase} today"), "general") == []
    # Without the background list both would have been flagged.
    plain = LeakIndex(LeakParams(min_matches=1))
    plain.add(fingerprinter.fingerprints(hugs), "recovery", 1, ALICE)
    assert plain.lookup(fingerprinter.fingerprints("sending you hugs"), "general")


def test_common_fingerprints_from_a_corpus(fingerprinter: Fingerprinter) -> None:
    corpus = ["how is everyone doing", "how is everyone doing", "a rare thing to say here"]
    common = common_fingerprints(fingerprinter, corpus, min_texts=2)
    assert common == fingerprinter.fingerprints("how is everyone doing").values
    index = LeakIndex()
    index.add_background(common)
    assert index.is_stopped(next(iter(common)))
    with pytest.raises(ValueError):
        common_fingerprints(fingerprinter, corpus, min_texts=0)


def test_remove_room() -> None:
    index = LeakIndex()
    index.add(fp({1, 2, 3}), "a", 1, ALICE)
    index.add(fp({1, 2, 4}), "b", 1, BOB)
    assert index.remove_room("a") == 3
    assert index.remove_room("missing") == 0
    assert index.lookup(fp({1, 2, 3})) == [Match("b", 2, False)]
    assert len(index) == 3 and index.posting_count == 3


def test_remove_author_forgets_them_entirely() -> None:
    index = LeakIndex()
    index.add(fp({1, 2, 3}), "a", 1, ALICE)
    index.add(fp({3, 4}), "a", 2, BOB)
    assert index.remove_author(ALICE) == 3
    assert index.lookup(fp({1, 2})) == []
    assert index.lookup(fp({3, 4})) == [Match("a", 2, False)]
    assert ALICE not in pickle.dumps(index)  # the erased author's key is gone too
    assert all(posting.author_key == BOB for posting in index.postings())


def test_expire_before_day() -> None:
    index = LeakIndex()
    index.add(fp({1, 2}), "room-kept-for-a-while", 10, ALICE)
    index.add(fp({2, 3}), "room-kept-for-a-while", 20, ALICE)
    assert index.expire_before(15) == 2
    assert sorted(p.fingerprint for p in index.postings()) == [2, 3]
    assert index.expire_before(15) == 0
    assert index.expire_before(100) == 2
    assert len(index) == 0 and index.posting_count == 0
    dumped = pickle.dumps(index)  # nothing refers to the room or author any more
    assert b"room-kept-for-a-while" not in dumped and ALICE not in dumped


def test_days_are_range_checked() -> None:
    with pytest.raises(ValueError):
        LeakIndex().add(fp({1}), "a", -1, ALICE)
    with pytest.raises(ValueError):
        LeakIndex().add(fp({1}), "a", 70_000, ALICE)


def test_postings_round_trip_for_persistence() -> None:
    index = LeakIndex()
    index.add(fp({1, 2, 3}), "a", 5, ALICE)
    index.add(fp({3}), "b", 6, BOB)
    index.add(fp({3}), "b", 6, BOB)  # a duplicate posting is stored once
    rows = sorted(index.postings(), key=lambda p: (p.fingerprint, p.room_key))
    assert rows[-1] == Posting(3, "b", 6, BOB)
    assert len(rows) == 4
    reloaded = LeakIndex()
    for row in rows:
        reloaded.add_posting(row)
    assert sorted(reloaded.postings(), key=lambda p: (p.fingerprint, p.room_key)) == rows
    assert reloaded.lookup(fp({1, 2})) == index.lookup(fp({1, 2}))


def test_index_keeps_no_plaintext(fingerprinter: Fingerprinter) -> None:
    index = LeakIndex(background=background_fingerprints(fingerprinter))
    text = f"{SECRET} and {CANARY} was there"
    index.add(fingerprinter.fingerprints(text), "recovery", 1, ALICE)
    dumped = pickle.dumps(index)
    assert CANARY.encode() not in dumped and b"drinking" not in dumped
    assert b"sending you hugs" not in dumped  # the background list is hashes, not phrases
    assert CANARY not in repr(index)
    matches = index.lookup(fingerprinter.fingerprints(text), "general")
    assert matches and CANARY not in repr(matches)


@pytest.mark.parametrize(
    "secret",
    [
        "Ich habe meiner Schwester endlich erzählt, dass ich seit Jahren heimlich trinke und "
        "mich dafür schäme, größer als alles andere",
        "Я наконец рассказал сестре, что уже много лет тайно пью и очень стыжусь этого перед "
        "всей семьёй",
        "أخبرت أختي أخيرا أنني أشرب سرا منذ سنوات وأنني أشعر بالخجل الشديد من ذلك أمام العائلة",
        "我终于告诉了姐姐我这些年一直偷偷喝酒的事情她哭了很久",
        "ついに姉に何年もこっそりお酒を飲んでいたことを話しました。姉はずっと泣いていました",
        "ในที่สุดฉันก็บอกพี่สาวว่าฉันแอบดื่มเหล้ามาหลายปีแล้ว",
        "我终于告诉了姐姐 that I have been drinking in secret for years 她哭了很久",
    ],
)
def test_quotes_are_found_in_every_language(fingerprinter: Fingerprinter, secret: str) -> None:
    index = LeakIndex()
    index.add(fingerprinter.fingerprints(secret), "circle", 1, ALICE)
    leaked = f">>> {secret.upper()}\n\n😮 !!"
    assert [m.room_key for m in index.lookup(fingerprinter.fingerprints(leaked), "other")] == [
        "circle"
    ]
    unrelated = fingerprinter.fingerprints(secret[: len(secret) // 3] + " ok")
    assert index.lookup(unrelated, "other") == []
