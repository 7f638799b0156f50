"""The benchmark's evasion and multilingual tables: deterministic data, the bot's own decision."""

from __future__ import annotations

import random
import unicodedata
from pathlib import Path

from benchmarks import evasions
from benchmarks.leaks import (
    Detector,
    Message,
    evasion_recall,
    make_evasion_probes,
    shared_run_words,
)
from benchmarks.multilingual import _entries
from bot.policy.model import LeaksSpec

SENTENCE = (
    "i finally told my sister that i have been drinking in secret for years and she "
    "cried for a long time before she said anything at all to me about it"
)
WORDS = SENTENCE.split()
VOCABULARY = ["banana", "river", "purple", "engine", "quietly"]


def transformed(name: str, seed: int = 7) -> list[str]:
    evasion = next(e for e in evasions.EVASIONS if e.name == name)
    return evasion.transform(WORDS[: evasion.words], random.Random(seed), VOCABULARY)


def test_every_transformation_is_deterministic_for_a_seed() -> None:
    for evasion in evasions.EVASIONS:
        assert transformed(evasion.name) == transformed(evasion.name)
    assert transformed("lookalike", 1) != transformed("lookalike", 2)


def test_character_disguises_keep_what_a_reader_sees() -> None:
    [lookalike] = transformed("lookalike")
    assert lookalike != " ".join(WORDS[:20]) and lookalike.isascii() is False
    assert len(lookalike.split()) == 20
    [invisible] = transformed("invisible")
    hidden = [c for c in invisible if c in evasions.FILLERS]
    assert len(hidden) == sum(1 for word in WORDS[:20] if len(word) > 1)
    [accented] = transformed("accents")
    marks = [c for c in accented if unicodedata.combining(c)]
    assert len(marks) == 20  # one accent on every word
    [small] = transformed("small_caps")
    assert not any(c in "abcdefghijklmnopqrstuvwyz" for c in small)


def test_word_edits_change_what_they_say_and_no_more() -> None:
    first, second = transformed("split2")
    assert (first + " " + second).split() == WORDS[:15]
    assert len(transformed("split3")) == 3
    [one] = transformed("one_word_20")
    assert sum(a != b for a, b in zip(one.split(), WORDS[:20], strict=True)) == 1
    [two] = transformed("two_words_30")
    assert sum(a != b for a, b in zip(two.split(), WORDS[:30], strict=True)) == 2
    [swapped] = transformed("swap")
    changed = [i for i, (a, b) in enumerate(zip(swapped.split(), WORDS, strict=False)) if a != b]
    assert len(changed) == 2 and changed[1] == changed[0] + 1
    [british] = evasions.spelling(["my", "favorite", "color"], random.Random(1), VOCABULARY)
    assert british == "my favourite colour"


def test_the_tables_go_through_the_bots_own_decision() -> None:
    """A plain quote is found through ``detect.quotes``, and a probe never quotes its own
    author (whose words are exempt)."""
    sources = [Message(f"circle-{n}", f"member-{n}", 20_000,
                       " ".join(random.Random(n).sample(WORDS, 30))) for n in range(6)]
    hosts = [Message(f"lobby-{n}", f"other-{n}", 20_000, "hello there how are you")
             for n in range(6)]
    detector = Detector(LeaksSpec())
    detector.index_messages(sources)
    probes = make_evasion_probes(sources, hosts, 4, random.Random(3))
    assert {p.evasion for p in probes} >= {"identity", "emoji", "split2", "split3"}
    assert all(p.author.startswith("other-") for p in probes)
    recall = evasion_recall(detector, probes)
    assert recall["identity"] == recall["emoji"] == 1.0
    # split quotes go through the bot's stream: no part is long enough to match alone
    assert recall["split2"] == recall["split3"] == 1.0


def test_catalogue_sentences_are_read_without_placeholders(tmp_path: Path) -> None:
    catalogue = tmp_path / "django.po"
    catalogue.write_text(
        'msgid ""\nmsgstr ""\n"Language: ja\\n"\n\n'
        'msgid "Enter a valid %(name)s."\nmsgstr "正しい%(name)sを入力してください。"\n\n'
        '#, fuzzy\nmsgid "Draft"\nmsgstr "下書き"\n\n'
        'msgid "one item"\nmsgid_plural "%d items"\nmsgstr[0] "%d 個の<b>項目</b>"\n',
        encoding="utf-8",
    )
    found = [(s.english, s.text) for s in _entries(catalogue)]
    assert found == [("Enter a valid .", "正しい を入力してください。"), ("one item", "個の 項目")]


def test_shared_runs_are_measured_in_words() -> None:
    assert shared_run_words("a b c d e", "x b c d y") == 3
    assert shared_run_words("我们一起", "他们一起") == 1.5  # three Han characters, 2 a word
