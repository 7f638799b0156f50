"""Filling a leak index from the store at start: streamed, a room, day and author at a time.

A million stored fingerprints used to arrive as a million row objects, each turned into a
posting object and added alone: seconds of start-up, and a peak of several hundred MB that
the process mostly kept afterwards. The store now hands them over in chunks, already
grouped by room, day and author, and each group goes into the index in one call, so the
index resolves a room and an author once per group, not once per fingerprint, and nothing
but the current chunk is held besides the index itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

from bot.leaks import Fingerprints, LeakIndex
from bot.store.sqlite import IndexGroup


async def fill_index(index: LeakIndex, chunks: AsyncIterable[list[IndexGroup]]) -> int:
    """Add every streamed group to ``index``; returns the postings that were new.

    The index ends up as if the rows had been added one by one: a posting is a
    fingerprint with its room, day and author, so one ``LeakIndex.add`` of a group makes
    exactly the postings its rows would, in whatever order and however the groups are cut.
    """
    add = index.add
    loaded = 0
    async for groups in chunks:
        for room, day, author, values in groups:
            # Whether a value was a whole-message hash is not stored; adding ignores it.
            loaded += add(Fingerprints(values, False, 0), room, day, author)
    return loaded
