"""Tuning knobs for leak detection, frozen so one policy's settings cannot drift mid-run.

The defaults follow the measurement in DOMAIN.md: k=8 and w=5 guarantee that any shared run
of w+k-1 = 12 words yields a common fingerprint, while requiring two matching fingerprints
keeps coincidental overlaps of common phrasing from raising alerts.
"""

from __future__ import annotations

from dataclasses import dataclass

WORD_UNITS = 6
"""A word's weight: a token of a spaced script weighs this much, so that a character of an
unspaced script can weigh a whole fraction of a word (1/6, 1/3, 1/2, 2/3 ...)."""

CHARS_PER_WORD: dict[str, float] = {
    "han": 2.0,
    "kana": 3.0,
    "thai": 3.0,
    "lao": 3.0,
    "khmer": 3.0,
    "myanmar": 3.0,
    "tai_tham": 3.0,
}
"""Characters of each unspaced script that count as one word when shingles are cut.

Measured on a parallel text (Django's message catalogues, the same English sentences in
each language; benchmarks/multilingual.py): per English word, Chinese used 1.47 Han
characters; Japanese 1.71 Han characters or 3.29 kana (a least-squares fit of both); Thai
3.21 characters (a consonant with its vowel and tone marks is one character here). Lao,
Khmer, Myanmar and Tai Tham are abugidas written like Thai and take Thai's figure. Korean is
written with spaces and needs no entry: an eojeol (a word with its particles) is one token
and weighs one word, though it carries about 1.45 English words (0.69 eojeol per English
word), so a Korean quote must be a little longer to be caught; none of 726 different
Korean sentences matched another, and keeping its weight keeps its stored fingerprints.
Han is set a little above its measure, at 2: in the benchmark's multilingual table, 1.5
still let 6 of 732 different Chinese sentences match (2 at 2.0, each a template sentence
the translator kept whole). So a shingle of k=11 words is 22 Han characters or 33 kana or
Thai characters: a sentence, where 11 characters (one per token, as before) was an
everyday phrase and flagged 62 of 717 different Japanese sentences and 57 of 513 Thai."""


@dataclass(frozen=True, slots=True)
class LeakParams:
    k: int = 8
    """Words per shingle. Scripts written without spaces (Chinese, Japanese, Thai, ...) have a
    token per character, each weighing a fraction of a word (:data:`CHARS_PER_WORD`), so
    there a shingle is as many characters as carry k words."""

    w: int = 5
    """Winnowing window, in shingles. Larger w keeps fewer fingerprints (density 2/(w+1))
    at the price of a longer guaranteed run, w+k-1 tokens."""

    min_matches: int = 2
    """Distinct matching shingle fingerprints needed before a room is reported."""

    min_tokens_whole: int = 3
    """Messages shorter than k but at least this long get one whole-message fingerprint;
    shorter ones ("ok thanks") are too common to mean anything and get none."""

    stop_rooms: int = 3
    """A fingerprint stored from this many distinct rooms is common phrasing, not a leak."""

    near_k: int = 5
    """Tokens per *near* shingle: the short shingles that find a long quote with a word or
    two changed, dropped or swapped (see :mod:`bot.leaks.near`). One changed word breaks
    only the near_k shingles that contain it, so a 20-word quote keeps 11 of its 16."""

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ValueError("k must be at least 2 tokens")
        if self.w < 1:
            raise ValueError("w must be at least 1 shingle")
        if self.min_matches < 1:
            raise ValueError("min_matches must be at least 1")
        if not 1 <= self.min_tokens_whole <= self.k:
            raise ValueError("min_tokens_whole must be between 1 and k")
        if self.near_k < 2:
            raise ValueError("near_k must be at least 2 tokens")
        if self.stop_rooms < 2:
            raise ValueError("stop_rooms must be at least 2, or every fingerprint is stopped")

    @property
    def guaranteed_run(self) -> int:
        """The shortest shared run of tokens certain to produce a common fingerprint."""
        return self.w + self.k - 1
