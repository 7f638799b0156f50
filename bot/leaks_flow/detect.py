"""Which confidential rooms a message seems to come from, and how we know.

Structural signals (a forward, a link, a reply pointing into a confidential room) are
certain and need no text; quotes are found by keyed fingerprints. The message text is
hashed here and dropped: what leaves this module is rooms, signals and hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.events import MessageRef, Room
from bot.leaks import Fingerprints, LeakParams
from bot.leaks_flow.engines import Engines, room_key
from bot.policy.model import Policy

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
        fingerprints = engines.lookup_fingerprints(engine, text, seen)
        if not fingerprints:
            continue
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
            candidates = [v for v in fingerprints.values if not engine.index.is_stopped(v)]
            confirmed = await engines.store.matching_fingerprints(
                engine.scheme,
                match.room_key,
                candidates,
                author if spec.exempt_own_words else None,
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
    return found


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
