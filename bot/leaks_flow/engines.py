"""The in-memory side of leak flagging: one keyed index per shingle scheme, loaded from the store.

Policies may choose their own k and w; fingerprints made under different k never compare,
so each scheme gets its own :class:`LeakIndex`. Nor do fingerprints of different text
normalisations (bot/leaks/normalize.py), so the scheme names that too: "n2k11w2" is
normalisation 2, k=11, w=2; a scheme without the "n" prefix ("k11w2") is normalisation 1,
as every row written before versions existed says. New rows get today's version; the rows
of an earlier one keep their own index, looked up with that version's frozen normaliser,
until retention has removed the last of them. The index is only a fast filter:
a candidate it reports is confirmed against the store (the truth after edits, deletes and
erasures), which lets edits and deletes drop their rows at once and the index catch up at
the next daily compaction instead of walking millions of entries per delete.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from bot.events import Room
from bot.leaks import (
    Fingerprinter,
    Fingerprints,
    LeakIndex,
    LeakParams,
    background_fingerprints,
)
from bot.leaks.fingerprint import NORMALIZATION, TOKENISERS
from bot.leaks_flow.loading import fill_index
from bot.policy.model import LeaksSpec, Policy
from bot.store.sqlite import Store

_EPOCH = date(1970, 1, 1)
_MESSAGE_PERSON = b"confidant-msg-id"


def day_number(at: datetime) -> int:
    """Days since 1970 (UTC): the only time a fingerprint keeps."""
    return (at.astimezone(UTC).date() - _EPOCH).days


_SCHEME = re.compile(r"(?:n([1-9][0-9]*))?k([0-9]+)w([0-9]+)")


def scheme_name(k: int, w: int, normalization: int = NORMALIZATION) -> str:
    """How the store names fingerprints of shingle length ``k``, window ``w`` and text
    normalisation ``normalization`` (version 1 has no prefix: the rows it wrote have none)."""
    shingles = f"k{k}w{w}"
    return shingles if normalization == 1 else f"n{normalization}{shingles}"


def parse_scheme(scheme: str) -> tuple[int, int, int]:
    """``(normalization, k, w)`` of a scheme name."""
    found = _SCHEME.fullmatch(scheme)
    if found is None:
        raise ValueError(f"not a fingerprint scheme: {scheme!r}")
    version, k, w = found.groups()
    return int(version or 1), int(k), int(w)


def scheme_of(spec: LeaksSpec) -> str:
    """The scheme new fingerprints under ``spec`` are stored with: today's normalisation."""
    return scheme_name(spec.k, spec.w)


def room_key(room: Room) -> str:
    """A thread belongs to its channel's confidential space, so it is keyed by the channel."""
    return f"{room.platform}:{room.parent_id or room.id}"


def stored_params(spec: LeaksSpec) -> LeakParams:
    """How a confidential room's messages are fingerprinted under ``spec``: without
    whole-message matching, short messages get no fingerprint at all."""
    whole = spec.min_tokens_whole if spec.whole_message else spec.k
    return LeakParams(
        k=spec.k, w=spec.w, min_matches=1, min_tokens_whole=whole, stop_rooms=spec.stop_rooms
    )


@dataclass
class Engine:
    """One scheme: the index, and the fingerprinter outside messages are looked up with."""

    scheme: str
    index: LeakIndex
    lookup: Fingerprinter

    def serves(self, spec: LeaksSpec) -> bool:
        """Whether a policy with ``spec`` stores (or stored) its rooms' fingerprints here:
        the same shingles, under any normalisation."""
        _, k, w = parse_scheme(self.scheme)
        return (k, w) == (spec.k, spec.w)


@dataclass
class Engines:
    key: bytes
    store: Store
    engines: dict[str, Engine] = field(default_factory=dict)
    rooms: dict[str, Room] = field(default_factory=dict)
    stale: int = 0
    """Postings dropped from the store (edits, deletes) but still in memory; harmless, as
    the store confirms every candidate, and cleared by :meth:`load`."""
    _fingerprinters: dict[tuple[LeakParams, int], Fingerprinter] = field(default_factory=dict)
    _signature: frozenset[tuple[str, int, int]] = frozenset()

    def __post_init__(self) -> None:
        self._message_base = hashlib.blake2b(key=self.key, digest_size=16, person=_MESSAGE_PERSON)

    def message_hash(self, platform: str, room_id: str, message_id: str) -> bytes:
        """A keyed stand-in for a message id, so an edit or delete finds its fingerprints."""
        state = self._message_base.copy()
        state.update("\x00".join((platform, room_id, message_id)).encode())
        return state.digest()

    def fingerprinter(
        self, params: LeakParams, normalization: int = NORMALIZATION
    ) -> Fingerprinter:
        found = self._fingerprinters.get((params, normalization))
        if found is None:
            found = Fingerprinter(self.key, params, normalization)
            self._fingerprinters[(params, normalization)] = found
        return found

    def lookup_fingerprints(
        self,
        engine: Engine,
        text: str,
        seen: dict[tuple[LeakParams, tuple[str, ...]], Fingerprints],
    ) -> Fingerprints:
        """``text``'s fingerprints for ``engine``; ``seen`` (kept by the caller for one
        message only) spares hashing again what another normalisation read the same way,
        while rows of an earlier normalisation are still stored."""
        if len(self.engines) == 1:
            return engine.lookup.fingerprints(text)
        tokens = tuple(engine.lookup.tokens(text))
        key = (engine.lookup.params, tokens)
        found = seen.get(key)
        if found is None:
            found = seen[key] = engine.lookup.fingerprints_of_tokens(list(tokens))
        return found

    def fingerprints_to_store(self, spec: LeaksSpec, text: str) -> Fingerprints:
        return self.fingerprinter(stored_params(spec)).fingerprints(text)

    @staticmethod
    def signature(policies: tuple[Policy, ...]) -> frozenset[tuple[str, int, int]]:
        """What the engines are built from: per scheme, the stop threshold and the shortest
        whole-message length any policy asks for."""
        wanted: dict[str, tuple[int, int]] = {}
        for policy in policies:
            spec = policy.leaks
            if not spec.enabled:
                continue
            whole = spec.min_tokens_whole if spec.whole_message else spec.k
            stop, shortest = wanted.get(scheme_of(spec), (spec.stop_rooms, whole))
            wanted[scheme_of(spec)] = (min(stop, spec.stop_rooms), min(shortest, whole))
        return frozenset((scheme, stop, whole) for scheme, (stop, whole) in wanted.items())

    def needs_load(self, policies: tuple[Policy, ...]) -> bool:
        return self.signature(policies) != self._signature

    async def load(self, policies: tuple[Policy, ...]) -> int:
        """(Re)build every index from the store; returns the postings loaded.

        Rows of a scheme no policy uses any more stay in the store until retention ends
        them (a reload back restores them) but are not held in memory.
        """
        signature = self.signature(policies)
        stopped = await self.store.stoplist()
        engines: dict[str, Engine] = {}
        loaded = 0
        for scheme, stop_rooms, shortest_whole in sorted(signature):
            _, k, w = parse_scheme(scheme)
            params = LeakParams(
                k=k, w=w, min_matches=1, min_tokens_whole=shortest_whole, stop_rooms=stop_rooms
            )
            # Today's normalisation, and every earlier one that still has rows.
            for version in sorted(TOKENISERS, reverse=True):
                name = scheme_name(k, w, version)
                index = LeakIndex(params, stopped)
                added = await fill_index(index, self.store.index_groups(name))
                if version != NORMALIZATION and not added:
                    continue
                # The background list hashes every short phrase whole, whatever the
                # policies ask, with the normalisation of the rows it guards.
                phrases = self.fingerprinter(
                    LeakParams(k=k, w=w, min_matches=1, min_tokens_whole=1, stop_rooms=stop_rooms),
                    version,
                )
                index.add_background(background_fingerprints(phrases))
                loaded += added
                engines[name] = Engine(name, index, self.fingerprinter(params, version))
        for state in await self.store.room_states():
            room = Room(state.platform, state.room_id, state.room_name)
            self.rooms.setdefault(room_key(room), room)
        self.engines = engines
        self._signature = signature
        self.stale = 0
        return loaded

    def remember(self, room: Room) -> None:
        """Names of confidential rooms, for alerts that say where a copy came from."""
        key = room_key(room)
        if room.parent_id is not None:
            room = Room(room.platform, room.parent_id, room.parent_name)
        known = self.rooms.get(key)
        if known is None or (known.name is None and room.name is not None):
            self.rooms[key] = room

    def room_for(self, key: str) -> Room:
        known = self.rooms.get(key)
        if known is not None:
            return known
        platform, _, room_id = key.partition(":")
        # A link may name a room by an alias (a Matrix permalink to #room:server): the
        # confidential room it stands for is one whose messages carried that alias.
        for room in self.rooms.values():
            if room.platform == platform and room_id in room.aliases:
                return room
        return Room(platform, room_id)

    def add_stopped(self, values: set[int]) -> None:
        for engine in self.engines.values():
            engine.index.add_background(values)

    def remove_author(self, author: bytes) -> int:
        return sum(engine.index.remove_author(author) for engine in self.engines.values())
