"""Which confidential rooms a message's fingerprints were seen in: compact, in memory.

The bot may hold millions of fingerprints, so each one costs a dict slot, its key and one
packed int (room, day, author); only the rare fingerprint stored more than once gets a
small object. A lookup touches only the message's own fingerprints, so its cost does not
grow with the index. Rooms and authors are interned to small ids and forgotten once no
fingerprint refers to them, so an erased author leaves nothing behind.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from bot.leaks.fingerprint import Fingerprints
from bot.leaks.params import LeakParams

_AUTHOR_BITS = 24
_DAY_BITS = 16
_ROOM_BITS = 20
_AUTHOR_MASK = (1 << _AUTHOR_BITS) - 1
_DAY_MASK = (1 << _DAY_BITS) - 1
_ROOM_SHIFT = _AUTHOR_BITS + _DAY_BITS
MAX_DAY = _DAY_MASK
"""Days are counted by the caller (e.g. days since 1970: 65535 is in the year 2149)."""


@dataclass(frozen=True, slots=True)
class Match:
    """A confidential room that the looked-up message appears to quote."""

    room_key: str
    matched_fingerprints: int
    whole_message: bool


@dataclass(frozen=True, slots=True)
class Posting:
    """One stored fingerprint occurrence, as the store persists it (no text, by design)."""

    fingerprint: int
    room_key: str
    day: int
    author_key: bytes


class _Shared:
    """A fingerprint stored more than once: its postings and, per room, who wrote it.

    Keeping per-room author counts lets a lookup apply the stop rule and the same-author
    exemption without walking the postings.
    """

    __slots__ = ("postings", "rooms")

    def __init__(self) -> None:
        self.postings: set[int] = set()
        self.rooms: dict[int, dict[int, int]] = {}

    def add(self, posting: int) -> bool:
        if posting in self.postings:
            return False
        self.postings.add(posting)
        authors = self.rooms.setdefault(posting >> _ROOM_SHIFT, {})
        author = posting & _AUTHOR_MASK
        authors[author] = authors.get(author, 0) + 1
        return True

    def discard(self, posting: int) -> None:
        self.postings.discard(posting)
        room = posting >> _ROOM_SHIFT
        authors = self.rooms[room]
        author = posting & _AUTHOR_MASK
        if authors[author] == 1:
            del authors[author]
            if not authors:
                del self.rooms[room]
        else:
            authors[author] -= 1


class _Interner:
    """Maps keys to small ids, reference-counted so unused keys are really forgotten."""

    __slots__ = ("_free", "_ids", "_keys", "_limit", "_refs")

    def __init__(self, bits: int) -> None:
        self._ids: dict[object, int] = {}
        self._keys: list[object] = []
        self._refs: list[int] = []
        self._free: list[int] = []
        self._limit = 1 << bits

    def id_of(self, key: object) -> int:
        return self._ids.get(key, -1)

    def key_of(self, ident: int) -> object:
        return self._keys[ident]

    def acquire(self, key: object) -> int:
        ident = self._ids.get(key)
        if ident is None:
            if self._free:
                ident = self._free.pop()
                self._keys[ident] = key
                self._refs[ident] = 0
            else:
                ident = len(self._keys)
                if ident >= self._limit:
                    raise OverflowError(f"more than {self._limit} distinct keys in the index")
                self._keys.append(key)
                self._refs.append(0)
            self._ids[key] = ident
        return ident

    def ref(self, ident: int, count: int = 1) -> None:
        self._refs[ident] += count

    def unref(self, ident: int) -> None:
        self._refs[ident] -= 1
        if self._refs[ident] == 0:
            self._forget(ident)

    def release_if_unused(self, ident: int) -> None:
        if self._refs[ident] == 0 and self._keys[ident] is not None:
            self._forget(ident)

    def _forget(self, ident: int) -> None:
        del self._ids[self._keys[ident]]
        self._keys[ident] = None
        self._free.append(ident)

    def __len__(self) -> int:
        return len(self._ids)

    def approximate_bytes(self) -> int:
        keys = sum(sys.getsizeof(key) for key in self._ids)
        return (
            sys.getsizeof(self._ids) + sys.getsizeof(self._keys) + sys.getsizeof(self._refs) + keys
        )


class LeakIndex:
    """Fingerprints of confidential rooms, answering "does this message quote one of them?"."""

    def __init__(self, params: LeakParams | None = None, background: Iterable[int] = ()) -> None:
        self.params = params or LeakParams()
        self._table: dict[int, int | _Shared] = {}
        self._rooms = _Interner(_ROOM_BITS)
        self._authors = _Interner(_AUTHOR_BITS)
        self._background: frozenset[int] = frozenset(background)
        self._postings = 0

    def __repr__(self) -> str:
        return (
            f"LeakIndex({len(self._table)} fingerprints, {self._postings} postings, "
            f"{len(self._rooms)} rooms)"
        )

    def __len__(self) -> int:
        """Distinct fingerprints stored."""
        return len(self._table)

    @property
    def posting_count(self) -> int:
        return self._postings

    @property
    def background(self) -> frozenset[int]:
        return self._background

    def add_background(self, fingerprints: Iterable[int]) -> None:
        """Extend the background stop list (common phrasing that never counts as a quote)."""
        self._background = self._background | frozenset(fingerprints)

    def is_stopped(self, fingerprint: int) -> bool:
        if fingerprint in self._background:
            return True
        entry = self._table.get(fingerprint)
        return isinstance(entry, _Shared) and len(entry.rooms) >= self.params.stop_rooms

    # -- adding ---------------------------------------------------------------------------

    def add(self, fingerprints: Fingerprints, room_key: str, day: int, author_key: bytes) -> int:
        """Store a confidential message's fingerprints; returns how many postings were new."""
        return self._add_values(fingerprints.values, room_key, day, author_key)

    def add_posting(self, posting: Posting) -> bool:
        """Reload one persisted posting (the store's rows) into the index."""
        values = (posting.fingerprint,)
        return bool(self._add_values(values, posting.room_key, posting.day, posting.author_key))

    def _add_values(self, values: Iterable[int], room_key: str, day: int, author_key: bytes) -> int:
        if not 0 <= day <= MAX_DAY:
            raise ValueError(f"day must be between 0 and {MAX_DAY}")
        room = self._rooms.acquire(room_key)
        author = self._authors.acquire(author_key)
        posting = (room << _ROOM_SHIFT) | (day << _AUTHOR_BITS) | author
        table = self._table
        added = 0
        for value in values:
            entry = table.get(value)
            if entry is None:
                table[value] = posting
            elif type(entry) is int:
                if entry == posting:
                    continue
                shared = _Shared()
                shared.add(entry)
                shared.add(posting)
                table[value] = shared
            elif not entry.add(posting):
                continue
            added += 1
        self._rooms.ref(room, added)
        self._authors.ref(author, added)
        self._postings += added
        self._rooms.release_if_unused(room)
        self._authors.release_if_unused(author)
        return added

    # -- looking up -----------------------------------------------------------------------

    def lookup(
        self,
        fingerprints: Fingerprints,
        exclude_room: str | None = None,
        exclude_author: bytes | None = None,
    ) -> list[Match]:
        """Confidential rooms this message quotes, strongest first.

        A room is reported on ``min_matches`` matching shingle fingerprints, or on the one
        whole-message fingerprint of a short message. Stopped fingerprints (background list,
        or stored from ``stop_rooms`` rooms) never count; neither does ``exclude_room`` (a
        quote inside the room it came from is no leak) nor, if given, postings written only
        by ``exclude_author`` (people may repeat their own words).
        """
        skip_room = self._rooms.id_of(exclude_room) if exclude_room is not None else -1
        skip_author = self._authors.id_of(exclude_author) if exclude_author is not None else -1
        table = self._table
        background = self._background
        stop_rooms = self.params.stop_rooms
        counts: dict[int, int] = {}
        for value in fingerprints.values:
            entry = table.get(value)
            if entry is None or value in background:
                continue
            if type(entry) is int:
                room = entry >> _ROOM_SHIFT
                if room != skip_room and (entry & _AUTHOR_MASK) != skip_author:
                    counts[room] = counts.get(room, 0) + 1
                continue
            if len(entry.rooms) >= stop_rooms:
                continue
            for room, authors in entry.rooms.items():
                if room == skip_room or (len(authors) == 1 and skip_author in authors):
                    continue
                counts[room] = counts.get(room, 0) + 1
        if not counts:
            return []
        whole = fingerprints.whole_message
        needed = 1 if whole else self.params.min_matches
        matches = [
            Match(str(self._rooms.key_of(room)), hits, whole)
            for room, hits in counts.items()
            if hits >= needed
        ]
        matches.sort(key=lambda match: (-match.matched_fingerprints, match.room_key))
        return matches

    # -- forgetting -----------------------------------------------------------------------

    def remove_room(self, room_key: str) -> int:
        """Forget a room entirely (it stopped being confidential, or was deleted)."""
        room = self._rooms.id_of(room_key)
        if room < 0:
            return 0
        return self._remove_where(lambda posting: posting >> _ROOM_SHIFT == room)

    def remove_author(self, author_key: bytes) -> int:
        """Honour an erase request: drop every fingerprint of this author's messages."""
        author = self._authors.id_of(author_key)
        if author < 0:
            return 0
        return self._remove_where(lambda posting: posting & _AUTHOR_MASK == author)

    def expire_before(self, day: int) -> int:
        """Retention: drop postings older than ``day``. Walks the whole index; run it daily
        (in a worker thread for very large indexes), not per message."""
        threshold = max(0, min(day, MAX_DAY + 1))
        return self._remove_where(lambda posting: (posting >> _AUTHOR_BITS) & _DAY_MASK < threshold)

    def _remove_where(self, doomed: Callable[[int], bool]) -> int:
        removed: list[int] = []
        emptied: list[int] = []
        collapsed: list[tuple[int, int]] = []
        for value, entry in self._table.items():
            if type(entry) is int:
                if doomed(entry):
                    removed.append(entry)
                    emptied.append(value)
                continue
            gone = [posting for posting in entry.postings if doomed(posting)]
            if not gone:
                continue
            for posting in gone:
                entry.discard(posting)
            removed.extend(gone)
            if not entry.postings:
                emptied.append(value)
            elif len(entry.postings) == 1:
                collapsed.append((value, next(iter(entry.postings))))
        for value in emptied:
            del self._table[value]
        for value, posting in collapsed:
            self._table[value] = posting
        for posting in removed:
            self._rooms.unref(posting >> _ROOM_SHIFT)
            self._authors.unref(posting & _AUTHOR_MASK)
        self._postings -= len(removed)
        return len(removed)

    def approximate_bytes(self) -> int:
        """Memory held by the index's own objects (CPython sizes, allocator slack excluded).

        Walks the whole index: for capacity reports and benchmarks, not the hot path.
        """
        size = sys.getsizeof(self._table) + sys.getsizeof(self._background)
        size += sum(map(sys.getsizeof, self._background))
        for value, entry in self._table.items():
            size += sys.getsizeof(value)
            if type(entry) is int:
                size += sys.getsizeof(entry)
                continue
            size += sys.getsizeof(entry) + sys.getsizeof(entry.postings)
            size += sum(map(sys.getsizeof, entry.postings)) + sys.getsizeof(entry.rooms)
            size += sum(sys.getsizeof(authors) for authors in entry.rooms.values())
        return size + self._rooms.approximate_bytes() + self._authors.approximate_bytes()

    # -- persistence ----------------------------------------------------------------------

    def postings(self) -> Iterator[Posting]:
        """Every stored posting, for the store to persist or for migrations."""
        for value, entry in self._table.items():
            for posting in (entry,) if type(entry) is int else sorted(entry.postings):
                yield Posting(
                    value,
                    str(self._rooms.key_of(posting >> _ROOM_SHIFT)),
                    (posting >> _AUTHOR_BITS) & _DAY_MASK,
                    bytes(self._authors.key_of(posting & _AUTHOR_MASK)),  # type: ignore[arg-type]
                )
