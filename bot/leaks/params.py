"""Tuning knobs for leak detection, frozen so one policy's settings cannot drift mid-run.

The defaults follow the measurement in DOMAIN.md: k=8 and w=5 guarantee that any shared run
of w+k-1 = 12 words yields a common fingerprint, while requiring two matching fingerprints
keeps coincidental overlaps of common phrasing from raising alerts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LeakParams:
    k: int = 8
    """Tokens per shingle. Scripts written without spaces (Chinese, Japanese, Thai, ...) count
    one character as one token, so there a shingle is k characters: a Han character carries
    about as much information as an English word, so the same k keeps chance matches rare."""

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
