"""A member's consecutive messages in one room, read as one stream: split quotes are caught.

A quote of 15-21 words posted as two or three messages leaves no part long enough for a
shingle (k words), so each part alone matches nothing. Read as one stream, the shingles
that cross from one message into the next are the quote's own shingles again. To build
them for a new message, the last k-1 tokens said before it are needed: every shingle that
ends in the new message and starts before it starts within them.

What is kept, and why it must be words. A shingle's keyed hash is taken over the tokens
it spans, in order; no hash of fewer tokens can be extended into it without the tokens
themselves (a hash state part-way through would hold the same words in its buffer). So
this module holds, per (room, member), the last k-1 *normalised* tokens of that member's
recent messages there, in memory only and bounded in time: they are dropped as soon as
the member's next message is more than ``stream_minutes`` later, at every sweep after
that, and when the member's tail is pushed out by others (at most
``MAX_TAILS_PER_ROOM`` members per room, ``MAX_TAILS`` in all). They are never written
anywhere: not to the store, a log line, an alert, an exception or a repr, and the holder
refuses to be pickled or shown. With them only message ids (to name every part of a
flagged quote), times, and the flags an earlier part raised (source room, flag id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.leaks import Fingerprinter, winnow

MAX_TAILS_PER_ROOM = 200
"""Members whose tail one room keeps; the least recently heard is dropped first."""
MAX_TAILS = 20_000
"""Tails kept in all, across rooms: a bound on memory whatever the traffic."""
MAX_PARTS = 3
"""Messages a stream names at most besides the new one: a tail of k-1 tokens rarely
spans more, and a flag naming a dozen ids helps no moderator."""


@dataclass(frozen=True, slots=True)
class Joined:
    """One message read with what its author just said before it in the same room.

    ``owners[i]`` says which of ``parts`` token ``i`` of the stream came from; the last
    part is the new message. Hold it only while handling that message.
    """

    tokens: tuple[str, ...]
    owners: tuple[int, ...]
    parts: tuple[str, ...]
    carried: int
    """How many tokens come from earlier messages (the stream's first ``carried``)."""
    flagged: dict[str, int]
    """The flag an earlier part raised, per source room key: a later part of the same
    quote joins that flag instead of raising another."""
    gap: timedelta
    """The longest pause between two of its parts: each policy joins only within its own
    window, and the holder keeps tails for the longest one."""

    def __repr__(self) -> str:
        return f"Joined({len(self.parts)} parts, {len(self.tokens)} tokens)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a joined stream holds words and is not serialisable")

    def parts_of(self, start: int, k: int) -> tuple[int, ...]:
        """The parts a k-token shingle starting at token ``start`` spans."""
        return tuple(sorted(set(self.owners[start : start + k])))


class _Tail:
    __slots__ = ("at", "flagged", "gap", "owners", "parts", "tokens")

    def __init__(self) -> None:
        self.tokens: tuple[str, ...] = ()
        self.owners: tuple[int, ...] = ()
        self.parts: tuple[str, ...] = ()
        self.flagged: dict[str, int] = {}
        self.at = datetime.min
        self.gap = timedelta(0)

    def __repr__(self) -> str:
        return "_Tail(...)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a stream tail holds words and is not serialisable")


class StreamTails:
    """The last words of each member's recent messages per room, for one bot run.

    Keys are (room, author key): the room id as the platform gives it (a thread is its
    own stream) and the keyed author hash, so nothing here names a person either.
    """

    __slots__ = ("_rooms", "_size", "window")

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._rooms: dict[str, dict[bytes, _Tail]] = {}
        self._size = 0

    def __repr__(self) -> str:
        return f"StreamTails({self._size} tails)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("stream tails hold words and are not serialisable")

    def __len__(self) -> int:
        return self._size

    def join(
        self,
        room: str,
        author: bytes,
        message_id: str,
        tokens: list[str],
        at: datetime,
        keep: int,
        window: timedelta | None = None,
    ) -> Joined | None:
        """Read ``tokens`` after the author's last words in ``room`` and keep the new
        tail (its last ``keep`` tokens). None when nothing recent came before: the message
        stands alone. ``window``: this room's policy's, else the holder's."""
        window = self.window if window is None else window
        tails = self._rooms.setdefault(room, {})
        tail = tails.pop(author, None)  # re-inserted last: dicts keep recency order
        if tail is None:
            tail = _Tail()
            self._size += 1
        joined: Joined | None = None
        if tail.tokens and timedelta(0) <= at - tail.at <= window:
            start = len(tail.parts)
            joined = Joined(
                tail.tokens + tuple(tokens),
                tail.owners + (start,) * len(tokens),
                (*tail.parts, message_id),
                len(tail.tokens),
                dict(tail.flagged),
                max(tail.gap, at - tail.at),
            )
            all_tokens, all_owners, parts = joined.tokens, joined.owners, joined.parts
            flagged, gap = tail.flagged, joined.gap
        else:
            all_tokens, all_owners, parts = tuple(tokens), (0,) * len(tokens), (message_id,)
            flagged, gap = {}, timedelta(0)
        self._keep(tail, all_tokens, all_owners, parts, flagged, keep, at)
        tail.gap = gap
        if tail.tokens:
            tails[author] = tail
        else:
            self._size -= 1
        self._bound(room)
        return joined

    def mark_flagged(self, room: str, author: bytes, source: str, flag_id: int) -> None:
        """A part of this stream raised flag ``flag_id`` as a copy of ``source``: a later
        part of the same quote joins it instead of raising another."""
        tail = self._rooms.get(room, {}).get(author)
        if tail is not None:
            tail.flagged.setdefault(source, flag_id)

    def forget_author(self, author: bytes) -> int:
        """An erase request: the member's words go from every room at once."""
        dropped = 0
        for room in list(self._rooms):
            tail = self._rooms[room].pop(author, None)
            if tail is not None:
                _wipe(tail)
                dropped += 1
            if not self._rooms[room]:
                del self._rooms[room]
        self._size -= dropped
        return dropped

    def sweep(self, now: datetime) -> int:
        """Drop every tail older than the window; returns how many went."""
        dropped = 0
        for room in list(self._rooms):
            tails = self._rooms[room]
            for author in [a for a, t in tails.items() if now - t.at > self.window]:
                _wipe(tails.pop(author))
                dropped += 1
            if not tails:
                del self._rooms[room]
        self._size -= dropped
        return dropped

    def holds_words(self) -> bool:
        """Whether any tail still holds tokens (for tests of expiry)."""
        return any(tail.tokens for tails in self._rooms.values() for tail in tails.values())

    @staticmethod
    def _keep(
        tail: _Tail,
        tokens: tuple[str, ...],
        owners: tuple[int, ...],
        parts: tuple[str, ...],
        flagged: dict[str, int],
        keep: int,
        at: datetime,
    ) -> None:
        tokens, owners = (tokens[-keep:], owners[-keep:]) if keep > 0 else ((), ())
        first = max(owners[0] if owners else len(parts), len(parts) - MAX_PARTS)
        cut = next((i for i, owner in enumerate(owners) if owner >= first), len(owners))
        tail.tokens = tokens[cut:]
        tail.owners = tuple(owner - first for owner in owners[cut:])
        tail.parts = parts[first:]
        tail.flagged = flagged  # for as long as the stream goes on
        tail.at = at

    def _bound(self, room: str) -> None:
        tails = self._rooms.get(room)
        if tails is None:
            return
        if not tails:
            del self._rooms[room]
            return
        while len(tails) > MAX_TAILS_PER_ROOM:
            _wipe(tails.pop(next(iter(tails))))
            self._size -= 1
        while self._size > MAX_TAILS:
            oldest_room = min(self._rooms, key=lambda r: next(iter(self._rooms[r].values())).at)
            oldest = self._rooms[oldest_room]
            _wipe(oldest.pop(next(iter(oldest))))
            self._size -= 1
            if not oldest:
                del self._rooms[oldest_room]


def _wipe(tail: _Tail) -> None:
    """Drop the words at once, whoever still refers to the tail."""
    tail.tokens = ()
    tail.owners = ()


def crossing_hashes(fingerprinter: Fingerprinter, joined: Joined) -> tuple[int, list[int]]:
    """The keyed hashes of the shingles that start in earlier messages and end in the new
    one, in order, with the stream position of the first. Every such shingle starts in
    the last k-1 carried tokens, so that is all a tail needs to keep."""
    k = fingerprinter.params.k
    first = max(0, joined.carried - (k - 1))
    # the last crossing shingle starts at carried-1 and ends at carried+k-2
    return first, fingerprinter.shingle_hashes(list(joined.tokens[first : joined.carried + k - 1]))


def junction_fingerprints(
    fingerprinter: Fingerprinter, joined: Joined
) -> dict[int, frozenset[str]]:
    """What a confidential message adds to the index for the words it continues: the
    winnowed hashes of every window that holds a shingle crossing into it. With each
    message's own fingerprints this is exactly what winnowing the whole stream would keep,
    so a quote of w+k-1 words is caught wherever in the stream it starts and ends.

    Each value comes with the earlier messages whose words its shingle holds, so that
    deleting or editing any of them also drops it (not only the message it was stored with).
    """
    first, crossing = crossing_hashes(fingerprinter, joined)
    if not crossing:
        return {}
    k, w = fingerprinter.params.k, fingerprinter.params.w
    # windows holding a crossing shingle reach w-1 shingles into the new message
    hashes = fingerprinter.shingle_hashes(list(joined.tokens[first : joined.carried + k + w - 2]))
    window = hashes[: len(crossing) + w - 1]
    chosen = winnow(window, w)
    newest = len(joined.parts) - 1
    earlier: dict[int, set[str]] = {value: set() for value in chosen}
    for offset, value in enumerate(window):
        if value in chosen:
            parts = joined.parts_of(first + offset, k)
            earlier[value].update(joined.parts[part] for part in parts if part != newest)
    return {value: frozenset(parts) for value, parts in earlier.items()}
