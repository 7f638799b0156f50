"""Near-verbatim quotes: a long copy with a word or two changed, dropped or swapped.

The main fingerprints catch any shared run of ``w + k - 1`` words, and nothing shorter, so
one changed word in the middle of a 20-word quote leaves two runs too short for them. Long
confidential messages therefore also keep every *near* shingle (``near_k`` words, keyed
like the others): an edit breaks only the near shingles that contain it, and the rest of
the quote still shows up, shingle after shingle, in one source message.

A copy is confirmed against one source message at a time (the store groups rows by the
keyed message hash), counting only the copy's near shingles that the source holds in the
same order as the copy: the longest common ordered run, by a longest increasing
subsequence. Common short phrases shared by chance are few, scattered and out of order, so
they rarely reach the threshold; a moved block of text counts only once. Everything here
is keyed hashes: no word is needed to decide.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from bot.leaks.fingerprint import Fingerprinter


def near_scheme(scheme: str, near_k: int) -> str:
    """The store's scheme string for near shingles beside the main scheme ``scheme``."""
    return f"{scheme}n{near_k}"


def ordered_match(copy: Sequence[int], source: Sequence[int]) -> tuple[int, ...]:
    """The copy's near shingles that ``source`` holds in the copy's order (the most of them).

    ``copy`` is the copy's near hashes in order; ``source`` the stored hashes of one source
    message, in the order they were stored (others may be left out). Returns the longest
    run of values appearing in both in the same order, in copy order. O(n log n).
    """
    where = {value: position for position, value in enumerate(copy)}
    positions = [where[value] for value in dict.fromkeys(source) if value in where]
    if not positions:
        return ()
    # Patience sorting: tails[i] is the smallest copy position ending an increasing run of
    # length i + 1; back-links rebuild the run.
    tails: list[int] = []
    tail_at: list[int] = []
    back: list[int] = [-1] * len(positions)
    for index, position in enumerate(positions):
        slot = bisect_left(tails, position)
        if slot == len(tails):
            tails.append(position)
            tail_at.append(index)
        else:
            tails[slot] = position
            tail_at[slot] = index
        back[index] = tail_at[slot - 1] if slot else -1
    run: list[int] = []
    index = tail_at[-1]
    while index >= 0:
        run.append(copy[positions[index]])
        index = back[index]
    run.reverse()
    return tuple(run)


def best_source(copy: Sequence[int], sources: Iterable[Sequence[int]]) -> tuple[int, ...]:
    """The longest ordered match of ``copy`` in any one source message."""
    best: tuple[int, ...] = ()
    for source in sources:
        if len(source) <= len(best):
            continue
        found = ordered_match(copy, source)
        if len(found) > len(best):
            best = found
    return best


def near_background(fingerprinter: Fingerprinter, phrases: Iterable[str]) -> frozenset[int]:
    """Every near shingle of the stop phrases: common phrasing proves nothing here either."""
    hashes: set[int] = set()
    for phrase in phrases:
        hashes.update(fingerprinter.near_hashes(fingerprinter.tokens(phrase)))
    return frozenset(hashes)
