"""Winnowing (Schleimer, Wilkerson and Aiken, 2003): keep few hashes, yet miss no long quote.

Of every window of w consecutive shingle hashes, the minimum is kept. Two texts sharing a
run of w shingles share that whole window, hence its minimum, so a common run of w+k-1
tokens always leaves a common fingerprint, while only about 2/(w+1) of the hashes are kept.
"""

from __future__ import annotations

from collections.abc import Sequence


def winnow(hashes: Sequence[int], w: int) -> frozenset[int]:
    """The set of hash values robust winnowing selects (see :func:`winnow_positions`).

    Only the values are returned: the index needs to know *that* a hash was selected, not
    where, and positions would say something about the text's length and layout.
    """
    n = len(hashes)
    if n == 0:
        return frozenset()
    if n <= w:
        return frozenset((min(hashes),))  # a text shorter than a window is one window
    if w == 1:
        return frozenset(hashes)
    # Slide the window, rescanning only when the current minimum falls out of it: each
    # hash costs one comparison in the common case.
    chosen: set[int] = set()
    low = 0
    position = -1
    for end in range(w - 1, n):
        start = end - w + 1
        if position < start:
            window = hashes[start : end + 1]
            low = min(window)
            position = end - window[::-1].index(low)
            chosen.add(low)
        elif hashes[end] <= low:
            low = hashes[end]
            position = end
            chosen.add(low)
    return frozenset(chosen)


def winnow_positions(hashes: Sequence[int], w: int) -> list[tuple[int, int]]:
    """Robust winnowing as published: (position, hash) pairs, rightmost minimum per window.

    A position is recorded once, when it first becomes its window's minimum, so runs of
    equal low hashes in repetitive text do not multiply fingerprints.
    """
    n = len(hashes)
    if n == 0:
        return []
    span = min(w, n)
    chosen: list[tuple[int, int]] = []
    last = -1
    for start in range(n - span + 1):
        window = hashes[start : start + span]
        low = min(window)
        position = start + span - 1 - window[::-1].index(low)
        if position != last:
            chosen.append((position, low))
            last = position
    return chosen
