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
from dataclasses import dataclass, field, replace
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
from bot.leaks.near import near_background, near_scheme
from bot.leaks.stoplist import BUILTIN_PHRASES
from bot.leaks_flow.loading import fill_index
from bot.policy.model import LeaksSpec, Policy
from bot.store.sqlite import Store, StoredFingerprint

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
    near: LeakIndex | None = None
    """Near shingles of long confidential messages, for quotes with a word or two edited."""
    near_needed: int = 0
    """The fewest near shingles any policy of this scheme flags on (0: none uses them), so
    a copy too short to hold that many is not hashed twice."""

    @property
    def near_scheme(self) -> str:
        return near_scheme(self.scheme, self.lookup.params.near_k)

    def add_near(self, rows: list[StoredFingerprint]) -> None:
        """A confidential message's stored near rows, into the near index."""
        if rows and self.near is not None:
            first = rows[0]
            values = Fingerprints(frozenset(row.fingerprint for row in rows), False, 0)
            self.near.add(values, first.room_key, first.day, first.author)

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
    _near_needs: dict[str, int] = field(default_factory=dict)

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
        tokens: list[str],
        seen: dict[tuple[LeakParams, tuple[str, ...]], Fingerprints],
    ) -> Fingerprints:
        """The fingerprints of a message's ``tokens`` (as ``engine`` reads it) for
        ``engine``; ``seen`` (kept by the caller for one message only) spares hashing again
        what another normalisation read the same way, while rows of an earlier
        normalisation are still stored."""
        if len(self.engines) == 1:
            return engine.lookup.fingerprints_of_tokens(tokens)
        key = (engine.lookup.params, tuple(tokens))
        found = seen.get(key)
        if found is None:
            found = seen[key] = engine.lookup.fingerprints_of_tokens(tokens)
        return found

    def fingerprints_to_store(self, spec: LeaksSpec, text: str) -> Fingerprints:
        return self.fingerprinter(stored_params(spec)).fingerprints(text)

    def near_rows(
        self, spec: LeaksSpec, text: str, like: StoredFingerprint
    ) -> list[StoredFingerprint]:
        """The near shingles a confidential message keeps, as rows beside its main ones
        (``like``), in the message's order: only long messages (a short one cannot hold a long
        quote), and only where the policy asks for near quotes."""
        if not spec.near_quotes:
            return []
        fingerprinter = self.fingerprinter(stored_params(spec))
        tokens = fingerprinter.tokens(text)
        if len(tokens) < spec.near_min_words:
            return []
        scheme = near_scheme(like.scheme, fingerprinter.params.near_k)
        return [replace(like, fingerprint=value, scheme=scheme)
                for value in fingerprinter.near_hashes(tokens)]

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

    @staticmethod
    def near_needs(policies: tuple[Policy, ...]) -> dict[str, int]:
        """Per scheme, the fewest near shingles any policy flags on (absent: none asks)."""
        needs: dict[str, int] = {}
        for policy in policies:
            spec = policy.leaks
            if spec.enabled and spec.near_quotes:
                scheme = scheme_of(spec)
                needs[scheme] = min(needs.get(scheme, spec.near_min_matches),
                                    spec.near_min_matches)
        return needs

    def needs_load(self, policies: tuple[Policy, ...]) -> bool:
        return (self.signature(policies) != self._signature
                or self.near_needs(policies) != self._near_needs)

    async def load(self, policies: tuple[Policy, ...]) -> int:
        """(Re)build every index from the store; returns the postings loaded.

        Rows of a scheme no policy uses any more stay in the store until retention ends
        them (a reload back restores them) but are not held in memory.
        """
        signature = self.signature(policies)
        near_needs = self.near_needs(policies)
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
                engine = Engine(name, index, self.fingerprinter(params, version))
                # near rows are made by today's normalisation only (none were stored before)
                if version == NORMALIZATION and scheme in near_needs:
                    loaded += await self._load_near(engine, near_needs[scheme], phrases, stopped)
                engines[name] = engine
        await self.refresh_rooms()
        self.engines = engines
        self._signature = signature
        self._near_needs = near_needs
        self.stale = 0
        return loaded

    async def _load_near(
        self, engine: Engine, needed: int, phrases: Fingerprinter, stopped: set[int]
    ) -> int:
        """The scheme's near index, from the store: only where a policy uses near quotes.

        Every near shingle counts on its own (w=1); its room counts are only a bound, the
        store confirms per message. Common near shingles stop as main ones do.
        """
        params = engine.index.params
        near_params = LeakParams(
            k=params.near_k, w=1, min_matches=1, min_tokens_whole=params.near_k,
            stop_rooms=params.stop_rooms, near_k=params.near_k,
        )
        engine.near = LeakIndex(near_params, near_background(phrases, BUILTIN_PHRASES) | stopped)
        engine.near_needed = needed
        return await fill_index(engine.near, self.store.index_groups(engine.near_scheme))

    async def refresh_rooms(self) -> None:
        """Names of the rooms the store knows of (also those only another process saw),
        for policies that select rooms by name and for alerts."""
        for state in await self.store.room_states():
            room = Room(state.platform, state.room_id, state.room_name)
            self.rooms.setdefault(room_key(room), room)

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
            if engine.near is not None:
                engine.near.add_background(values)

    def remove_author(self, author: bytes) -> int:
        return sum(
            engine.index.remove_author(author)
            + (engine.near.remove_author(author) if engine.near is not None else 0)
            for engine in self.engines.values()
        )
