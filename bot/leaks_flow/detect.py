"""Which confidential rooms a message seems to come from, and how we know.

Structural signals (a forward, a link, a reply pointing into a confidential room) are
certain and need no text; quotes are found by keyed fingerprints. The message text is
hashed here and dropped: what leaves this module is rooms, signals and hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.events import MessageRef, Room
from bot.leaks import Fingerprints, LeakParams
from bot.leaks.near import best_source
from bot.leaks_flow.engines import Engine, Engines, room_key, scheme_of
from bot.leaks_flow.stream import Joined, crossing_hashes
from bot.policy.model import LeaksSpec, Policy

# Strongest first: a flag keeps the strongest signal seen for its copy and source room.
SIGNALS = ("forward", "link", "reply", "quote")


@dataclass(frozen=True, slots=True)
class Suspicion:
    source: Room
    policy: Policy
    signal: str
    matched: frozenset[int] = frozenset()
    """The confirmed matching fingerprints of a quote (empty for structural signals)."""
    whole_message: bool = False
    ref: MessageRef | None = None
    """The confidential message a structural signal points at, for the alert's link."""
    parts: tuple[str, ...] = ()
    """A quote posted over several messages: every part's message id, oldest first (the
    last is the message being handled). Empty for a copy in one message."""


PolicyOf = Callable[[Room], Policy | None]


def structural(
    refs: Iterable[tuple[str, MessageRef]], here: Room, engines: Engines, covered: PolicyOf
) -> list[Suspicion]:
    """References into a confidential room from anywhere else: the platform says so."""
    own = room_key(here)
    found: list[Suspicion] = []
    for signal, ref in refs:
        # a message in a thread counts as its channel's (as room_key does for rooms)
        key = f"{ref.platform}:{ref.parent_id or ref.room_id}"
        source = engines.room_for(key)
        if key == own or room_key(source) == own:
            continue  # a reply or link inside the room itself (or by its alias)
        policy = covered(source)
        if policy is not None:
            found.append(Suspicion(source, policy, signal, ref=ref))
    return found


async def quotes(
    text: str,
    here: Room,
    author: bytes,
    engines: Engines,
    covered: PolicyOf,
    private: bool,
) -> list[Suspicion]:
    """Confidential rooms whose stored fingerprints this message repeats.

    The index proposes rooms on any single shared fingerprint; each room's own policy then
    decides (whole-message matching, matches needed, its members' own words exempt) on the
    fingerprints the store confirms, so rows removed by an edit or delete never count.
    """
    own = room_key(here)
    found: list[Suspicion] = []
    seen: dict[tuple[LeakParams, tuple[str, ...]], Fingerprints] = {}  # this message only
    for engine in engines.engines.values():
        tokens = engine.lookup.tokens(text)
        fingerprints = engines.lookup_fingerprints(engine, tokens, seen)
        if not fingerprints:
            continue
        before = len(found)
        for match in engine.index.lookup(fingerprints, exclude_room=own):
            source = engines.room_for(match.room_key)
            policy = covered(source)
            if policy is None or not engine.serves(policy.leaks):
                continue
            spec = policy.leaks
            if private and not spec.scan_private_messages:
                continue
            if fingerprints.whole_message and (
                not spec.whole_message or fingerprints.token_count < spec.min_tokens_whole
            ):
                continue
            confirmed = await _confirmed(
                engines, engine, match.room_key, fingerprints.values, spec, author
            )
            needed = 1 if fingerprints.whole_message else spec.min_matches
            if len(confirmed) >= needed:
                found.append(
                    Suspicion(
                        source,
                        policy,
                        "quote",
                        frozenset(confirmed),
                        fingerprints.whole_message,
                    )
                )
        # A quote the main fingerprints found carries its near matches too, so marking it a
        # false positive stops both, and the same phrasing is not flagged again as near.
        flagged = {
            room_key(suspicion.source): at for at, suspicion in enumerate(found) if at >= before
        }
        for near in await near_quotes(tokens, own, author, engine, engines, covered, private):
            at = flagged.get(room_key(near.source))
            if at is None:
                found.append(near)
            else:
                found[at] = replace(found[at], matched=found[at].matched | near.matched)
    return found


async def near_quotes(
    tokens: list[str],
    own: str,
    author: bytes,
    engine: Engine,
    engines: Engines,
    covered: PolicyOf,
    private: bool,
) -> list[Suspicion]:
    """Long quotes with a word or two changed, dropped or swapped (see bot.leaks.near).

    The near index proposes rooms holding enough of the copy's near shingles; the store
    then confirms them per source message, in order, so shingles scattered over many
    messages of a room never add up to a flag.
    """
    near = engine.near
    shortest = engine.near_needed + engine.lookup.params.near_k - 1
    if near is None or not engine.near_needed or len(tokens) < shortest or not len(near):
        return []
    hashes = engine.lookup.near_hashes(tokens)
    found: list[Suspicion] = []
    lookup = Fingerprints(frozenset(hashes), False, len(tokens))
    for match in near.lookup(lookup, exclude_room=own):
        source = engines.room_for(match.room_key)
        policy = covered(source)
        if policy is None or not engine.serves(policy.leaks):
            continue
        spec = policy.leaks
        if not spec.near_quotes or match.matched_fingerprints < spec.near_min_matches:
            continue
        if private and not spec.scan_private_messages:
            continue
        candidates = [value for value in hashes if not near.is_stopped(value)]
        sources = await engines.store.near_matches(
            engine.near_scheme,
            match.room_key,
            candidates,
            author if spec.exempt_own_words else None,
        )
        confirmed = best_source(candidates, sources)  # candidates: in the copy's order
        if len(confirmed) >= spec.near_min_matches:
            found.append(Suspicion(source, policy, "quote", frozenset(confirmed)))
    return found


async def stream_quotes(
    joined: Joined,
    here: Room,
    author: bytes,
    engines: Engines,
    covered: PolicyOf,
    private: bool,
) -> list[Suspicion]:
    """Confidential rooms a member's recent messages here quote *together*.

    Only the shingles that cross from earlier messages into the new one are looked up:
    the ones inside a single message are :func:`quotes`' work. They are not winnowed, as
    a part may end anywhere in the source's winnowing windows; there are at most k-1 per
    message. Each source room's policy decides as in :func:`quotes`, and also whether the
    parts came close enough together (``stream_minutes``). A source an earlier part was
    already flagged for is left to the watch, which adds this part to that flag.
    """
    own = room_key(here)
    found: list[Suspicion] = []
    for engine in engines.engines.values():
        k = engine.lookup.params.k
        first, hashes = crossing_hashes(engine.lookup, joined)
        starts: dict[int, list[int]] = {}
        for offset, value in enumerate(hashes):
            starts.setdefault(value, []).append(first + offset)
        if not starts:
            continue
        crossing = Fingerprints(frozenset(starts), whole_message=False, token_count=len(hashes))
        for match in engine.index.lookup(crossing, exclude_room=own):
            source = engines.room_for(match.room_key)
            policy = covered(source)
            if policy is None or scheme_of(policy.leaks) != engine.scheme:
                continue
            spec = policy.leaks
            if (private and not spec.scan_private_messages) or (
                joined.gap > timedelta(minutes=spec.stream_minutes)
            ):
                continue
            confirmed = await _confirmed(
                engines, engine, match.room_key, crossing.values, spec, author
            )
            if len(confirmed) < spec.min_matches:
                continue
            spanned = {
                part
                for value in confirmed
                for start in starts[value]
                for part in joined.parts_of(start, k)
            }
            parts = tuple(joined.parts[i] for i in sorted(spanned))
            found.append(Suspicion(source, policy, "quote", frozenset(confirmed), parts=parts))
    return found


def with_stream(found: list[Suspicion], streamed: Iterable[Suspicion]) -> list[Suspicion]:
    """One quote per source room: a split quote whose last part also matches on its own
    is one copy, named by all its parts, with every matching fingerprint."""
    merged = list(found)
    for stream in streamed:
        key = room_key(stream.source)
        for i, alone in enumerate(merged):
            if alone.signal == "quote" and room_key(alone.source) == key:
                merged[i] = replace(
                    alone, matched=alone.matched | stream.matched, parts=stream.parts
                )
                break
        else:
            merged.append(stream)
    return merged


async def _confirmed(
    engines: Engines,
    engine: Engine,
    room: str,
    values: Iterable[int],
    spec: LeaksSpec,
    author: bytes,
) -> set[int]:
    """Which of a copy's fingerprints the store holds for the source room: never a stopped
    one, nor (where the policy exempts them) one the same member wrote there."""
    candidates = [value for value in values if not engine.index.is_stopped(value)]
    return await engines.store.matching_fingerprints(
        engine.scheme, room, candidates, author if spec.exempt_own_words else None
    )


def strongest(suspicions: Iterable[Suspicion]) -> list[Suspicion]:
    """One suspicion per source room: the strongest signal, the most matches."""
    best: dict[str, Suspicion] = {}
    for suspicion in suspicions:
        key = room_key(suspicion.source)
        current = best.get(key)
        rank = (SIGNALS.index(suspicion.signal), -len(suspicion.matched))
        if current is None or rank < (SIGNALS.index(current.signal), -len(current.matched)):
            best[key] = suspicion
    return [best[key] for key in sorted(best)]
