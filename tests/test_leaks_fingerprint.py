"""Fingerprints: keyed, winnowed, guaranteed to catch any 12-token quote, and text-free."""

from __future__ import annotations

import pickle
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.leaks import (
    Fingerprinter,
    LeakParams,
    author_key,
    winnow,
    winnow_positions,
)

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
CANARY = "zanzibarquokka"
WORDS = [f"w{i}" for i in range(40)]

words = st.lists(st.sampled_from(WORDS), max_size=30)


def test_long_message_gets_winnowed_shingle_fingerprints() -> None:
    fingerprinter = Fingerprinter(KEY)
    text = " ".join(f"word{i}" for i in range(30))
    result = fingerprinter.fingerprints(text)
    hashes = fingerprinter.shingle_hashes(fingerprinter.tokens(text))
    assert len(hashes) == 30 - 8 + 1
    assert not result.whole_message
    assert result.token_count == 30
    assert result.values == winnow(hashes, 5)
    assert result.values <= set(hashes)
    assert 1 <= len(result) < len(hashes)  # winnowing keeps a fraction


def test_short_and_tiny_messages() -> None:
    fingerprinter = Fingerprinter(KEY)
    short = fingerprinter.fingerprints("I relapsed last night again")
    assert short.whole_message and len(short) == 1 and short.token_count == 5
    assert fingerprinter.fingerprints("ok thanks").values == frozenset()
    assert fingerprinter.fingerprints("").token_count == 0
    assert not fingerprinter.fingerprints("!!! ...")


def test_whole_message_and_shingle_hashes_are_separate_domains() -> None:
    fingerprinter = Fingerprinter(KEY)
    tokens = [f"t{i}" for i in range(8)]
    assert fingerprinter.whole_hash(tokens) not in fingerprinter.shingle_hashes(tokens)


def test_formatting_does_not_change_fingerprints() -> None:
    fingerprinter = Fingerprinter(KEY)
    plain = "i have not told anyone else about the night i spent in the hospital"
    dressed = "> I have **not** told anyone else, about the night I spent in the HOSPITAL!"
    assert fingerprinter.fingerprints(plain) == fingerprinter.fingerprints(dressed)


def test_a_different_key_gives_different_fingerprints() -> None:
    text = "i have not told anyone else about the night i spent in the hospital"
    ours = Fingerprinter(KEY).fingerprints(text).values
    theirs = Fingerprinter(OTHER_KEY).fingerprints(text).values
    assert ours and theirs and not ours & theirs
    short = "i relapsed last night"
    assert Fingerprinter(KEY).fingerprints(short) != Fingerprinter(OTHER_KEY).fingerprints(short)


def test_different_k_never_share_hashes() -> None:
    tokens = [f"t{i}" for i in range(12)]
    eight = Fingerprinter(KEY, LeakParams(k=8)).shingle_hashes(tokens)
    nine = Fingerprinter(KEY, LeakParams(k=9)).shingle_hashes(tokens)
    assert not set(eight) & set(nine)


def test_fingerprints_fit_sqlite_integers() -> None:
    fingerprinter = Fingerprinter(KEY)
    values = fingerprinter.fingerprints(" ".join(WORDS)).values
    assert values and all(0 <= value < 2**63 for value in values)


def test_weak_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        Fingerprinter(b"short")
    with pytest.raises(ValueError):
        author_key(b"", "discord", "1")


def test_no_plaintext_is_retained_and_the_key_is_not_exposed() -> None:
    fingerprinter = Fingerprinter(KEY)
    result = fingerprinter.fingerprints(f"please do not repeat that {CANARY} said this to me today")
    assert CANARY not in repr(result)
    assert CANARY.encode() not in pickle.dumps(result)
    assert KEY.hex() not in repr(fingerprinter) and str(KEY) not in repr(fingerprinter)
    with pytest.raises(TypeError):
        pickle.dumps(fingerprinter)
    assert not hasattr(fingerprinter, "__dict__")  # nothing can be stashed on it


def test_author_key_is_keyed_and_stable() -> None:
    mine = author_key(KEY, "discord", "1234")
    assert mine == author_key(KEY, "discord", "1234")
    assert len(mine) == 16
    assert mine != author_key(OTHER_KEY, "discord", "1234")
    assert mine != author_key(KEY, "matrix", "1234")
    assert author_key(KEY, "a", "bc") != author_key(KEY, "ab", "c")


def test_params_are_validated() -> None:
    assert LeakParams().guaranteed_run == 12
    for bad in ({"k": 1}, {"w": 0}, {"min_matches": 0}, {"min_tokens_whole": 9},
                {"stop_rooms": 1}):
        with pytest.raises(ValueError):
            LeakParams(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("w", [1, 2, 4, 5, 8])
def test_winnow_matches_the_published_algorithm(w: int) -> None:
    rng = random.Random(w)
    for _ in range(300):
        hashes = [rng.randrange(12) for _ in range(rng.randrange(30))]  # many ties
        expected = frozenset(value for _, value in winnow_positions(hashes, w))
        assert winnow(hashes, w) == expected


def test_winnow_positions_take_the_rightmost_minimum_once() -> None:
    assert winnow_positions([3, 1, 1, 4, 5, 6, 7], 3) == [(2, 1), (3, 4), (4, 5)]
    assert winnow_positions([], 3) == []
    assert winnow_positions([9, 2], 4) == [(1, 2)]


@settings(max_examples=150, deadline=None)
@given(
    before=words,
    after=words,
    other_before=words,
    other_after=words,
    shared=st.lists(st.sampled_from(WORDS), min_size=12, max_size=16),
)
def test_any_shared_run_of_twelve_tokens_gives_a_common_fingerprint(
    before: list[str],
    after: list[str],
    other_before: list[str],
    other_after: list[str],
    shared: list[str],
) -> None:
    fingerprinter = Fingerprinter(KEY)
    params = fingerprinter.params
    assert params.w + params.k - 1 == 12
    one = fingerprinter.fingerprints(" ".join(before + shared + after))
    two = fingerprinter.fingerprints(" ".join(other_before + shared + other_after))
    assert one.values & two.values


@settings(max_examples=60, deadline=None)
@given(shared=st.text(alphabet="我你他是的不了在有人这中大为上个国", min_size=20, max_size=28))
def test_the_guarantee_holds_for_character_tokens(shared: str) -> None:
    # k=8 words are 16 Han characters (2 a word), and w=5 shingles start within 20.
    fingerprinter = Fingerprinter(KEY)
    one = fingerprinter.fingerprints("她说：" + shared + "。谢谢")
    two = fingerprinter.fingerprints("Look what they wrote " + shared + " wow")
    assert one.values & two.values
