"""Split quotes: recall and false flags of reading a member's messages as one stream.

Same data and the same decision code as benchmarks/leaks.py (the chitchat dataset, whole
conversations as rooms, ``detect.quotes`` and ``detect.stream_quotes`` judging), but with
each message's real time, since the stream joins a member's messages by how far apart
they came. Measured:

* split recall: a 15, 18 or 21-word quote of a confidential message posted as 2 or 3
  messages (cut at random places, 30 seconds apart) by an outside member, with and
  without the stream;
* false flags: every outside room replayed in order with real times, with and without the
  stream (and with and without the own-words exemption);
* the confidential side: a 12-20-word quote spanning two consecutive messages of one
  confidential member, posted outside as one message, caught with each message indexed
  alone and with the junction fingerprints indexed too, and what those cost in stored
  fingerprints and false flags.

    python benchmarks/leaks_stream.py --quick

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from benchmarks.leaks import EPOCH_ORDINAL, PLATFORM, Detector, Judge, Message, Said
from bot.events import Room
from bot.leaks import Fingerprints
from bot.leaks_flow.engines import room_key
from bot.leaks_flow.stream import StreamTails, junction_fingerprints
from bot.policy.model import LeaksSpec

SPLIT_LENGTHS = (15, 18, 21)
JUNCTION_LENGTHS = (12, 16, 20)


def load() -> list[list[Said]]:
    import chitchat_dataset

    rooms: list[list[Said]] = []
    for room_id, conversation in chitchat_dataset.Dataset().items():
        said = [
            Said(room_id, u["sender"], datetime.fromisoformat(u["timestamp"]), u["text"])
            for turn in conversation["messages"]
            for u in turn
        ]
        if said:
            rooms.append(sorted(said, key=lambda s: s.at))
    return rooms


def index_with_junctions(detector: Detector, inside: Sequence[Said], spec: LeaksSpec) -> int:
    """Add, as ``LeakWatch`` would with junction indexing, the fingerprints of shingles
    that cross from a member's message into their next one; returns how many."""
    tails = StreamTails(timedelta(minutes=spec.stream_minutes))
    fingerprinter = detector.engine.lookup  # the same k and w as stored
    added = 0
    for n, said in enumerate(inside):
        room = Room(PLATFORM, said.room)
        author = detector.author(said.author)
        tokens = fingerprinter.tokens(said.text)
        joined = tails.join(room_key(room), author, str(n), tokens, said.at, spec.k - 1)
        if joined is None:
            continue
        values = junction_fingerprints(fingerprinter, joined)
        if values:
            day = said.at.date().toordinal() - EPOCH_ORDINAL
            fingerprints = Fingerprints(frozenset(values), False, len(joined.tokens))
            detector.add(fingerprints, room_key(room), day, author)
            added += len(values)
    return added


def split_probes(
    inside: Sequence[Said], outside: Sequence[Said], per_case: int, rng: random.Random
) -> list[tuple[int, int, str, list[str], str]]:
    """(length, parts, source room, the parts' texts, poster) per probe."""
    probes = []
    for length in SPLIT_LENGTHS:
        eligible = [s for s in inside if len(s.text.split()) >= length]
        for parts in (2, 3):
            for _ in range(per_case):
                source = rng.choice(eligible)
                words = source.text.split()
                start = rng.randrange(len(words) - length + 1)
                quote = words[start : start + length]
                cuts = sorted(rng.sample(range(1, length), parts - 1))
                texts = [
                    " ".join(quote[a:b])
                    for a, b in zip([0, *cuts], [*cuts, length], strict=True)
                ]
                poster = rng.choice(outside).author
                while poster == source.author:  # people repeating themselves are exempt
                    poster = rng.choice(outside).author
                probes.append((length, parts, source.room, texts, poster))
    return probes


def junction_probes(
    inside: Sequence[Said], outside: Sequence[Said], per_case: int, rng: random.Random,
    window: timedelta,
) -> list[tuple[int, str, str, str]]:
    """(length, source room, the copy, poster): a quote across two consecutive messages."""
    last: dict[tuple[str, str], Said] = {}
    pairs: list[tuple[Said, Said]] = []
    for said in inside:
        before = last.get((said.room, said.author))
        if before is not None and said.at - before.at <= window:
            pairs.append((before, said))
        last[(said.room, said.author)] = said
    probes = []
    for length in JUNCTION_LENGTHS:
        eligible = [
            (a, b) for a, b in pairs
            if len(a.text.split()) + len(b.text.split()) >= length
            and a.text.split() and b.text.split()
        ]
        for _ in range(per_case):
            a, b = rng.choice(eligible)
            wa, wb = a.text.split(), b.text.split()
            low = max(1, length - len(wb))
            high = min(len(wa), length - 1)
            take = rng.randint(low, high)
            quote = wa[len(wa) - take :] + wb[: length - take]
            host = rng.choice(outside)
            while host.author == a.author:
                host = rng.choice(outside)
            probes.append((length, a.room, " ".join(quote), host.author))
    return probes


async def split_recall(
    detector: Detector, spec: LeaksSpec, probes: Sequence[tuple[int, int, str, list[str], str]]
) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    for stream in (False, True):
        hits: dict[str, list[int]] = {}
        for n, (length, parts, source, texts, poster) in enumerate(probes):
            judge = Judge(detector, spec)
            at = datetime(2026, 1, 5, 9, 0)
            flagged: list[str] = []
            for i, text in enumerate(texts):
                said = Said(f"probe-{n}", poster, at + timedelta(seconds=30 * i), text)
                found = await judge.check(said, f"p{n}-{i}", stream)
                flagged += [s.source.id for s in found]
            case = hits.setdefault(f"{length} words in {parts}", [0, 0, 0])
            case[0] += source in flagged
            case[1] += 1
            case[2] += flagged.count(source) > 1  # flagged more than once
        figures["stream" if stream else "alone"] = {
            case: round(found / total, 4) for case, (found, total, _) in hits.items()
        }
        figures[("stream" if stream else "alone") + "_flagged_twice"] = {
            case: twice for case, (_, _, twice) in hits.items()
        }
    return figures


async def replay(
    detector: Detector, spec: LeaksSpec, rooms: Sequence[Sequence[Said]], stream: bool,
    exempt: bool,
) -> tuple[int, int, float]:
    """(messages flagged, messages checked, µs per message) replaying outside rooms."""
    flagged = checked = 0
    judge = Judge(detector, spec, exempt)
    started = time.perf_counter()
    for room in rooms:
        for n, said in enumerate(room):
            found = await judge.check(said, f"{said.room}-{n}", stream)
            flagged += bool(found)
            checked += 1
    return flagged, checked, (time.perf_counter() - started) * 1e6 / max(checked, 1)


async def junction_recall(
    detector: Detector, probes: Sequence[tuple[int, str, str, str]]
) -> dict[str, float]:
    hits: dict[int, list[int]] = {}
    judge = Judge(detector, detector.spec)
    for n, (length, source, text, poster) in enumerate(probes):
        said = Said(f"copy-{n}", poster, datetime(2026, 1, 5, 9, 0), text)
        found = await judge.check(said, f"c{n}", False)
        case = hits.setdefault(length, [0, 0])
        case[0] += source in [s.source.id for s in found]
        case[1] += 1
    return {f"{length} words": round(a / b, 4) for length, (a, b) in hits.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller sample")
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--stream-minutes", type=float, default=LeaksSpec().stream_minutes)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    spec = LeaksSpec(stream_minutes=args.stream_minutes)
    confidential, outside_size, per_case = (
        (20_000, 25_000, 300) if args.quick else (86_000, 172_000, 2_000)
    )
    rooms = load()
    rng.shuffle(rooms)
    inside_rooms: list[list[Said]] = []
    outside_rooms: list[list[Said]] = []
    count_in = count_out = 0
    for room in rooms:
        if count_in < confidential:
            inside_rooms.append(room)
            count_in += len(room)
        elif count_out < outside_size:
            outside_rooms.append(room)
            count_out += len(room)
    inside = [s for room in inside_rooms for s in room]
    outside = [s for room in outside_rooms for s in room]
    detector = Detector(spec)
    detector.index_messages(
        Message(s.room, s.author, s.at.date().toordinal() - EPOCH_ORDINAL, s.text)
        for s in inside
    )
    stored_alone = detector.index.posting_count
    result: dict[str, object] = {"stream_minutes": spec.stream_minutes,
                                 "confidential": len(inside), "outside": len(outside)}
    probes = split_probes(inside, outside, per_case, rng)
    result["split_recall"] = asyncio.run(split_recall(detector, spec, probes))
    print("split recall", json.dumps(result["split_recall"]))
    for stream in (False, True):
        for exempt in (True, False):
            flagged, checked, micros = asyncio.run(
                replay(detector, spec, outside_rooms, stream, exempt)
            )
            label = f"false_flags_{'stream' if stream else 'alone'}_{'exempt' if exempt else 'all'}"
            result[label] = round(100 * flagged / checked, 4)
            result[f"us_per_message_{'stream' if stream else 'alone'}_{exempt}"] = round(micros, 1)
            print(label, f"{flagged}/{checked}", f"{result[label]}%", f"{micros:.1f} µs/msg")
    window = timedelta(minutes=spec.stream_minutes)
    jprobes = junction_probes(inside, outside, per_case, rng, window)
    result["junction_recall_alone"] = asyncio.run(junction_recall(detector, jprobes))
    print("junction recall, messages indexed alone", result["junction_recall_alone"])
    added = index_with_junctions(detector, inside, spec)
    result["junction_postings_added_pct"] = round(100 * added / stored_alone, 1)
    result["junction_recall_indexed"] = asyncio.run(junction_recall(detector, jprobes))
    print("junction recall, junctions indexed", result["junction_recall_indexed"],
          f"(+{added} postings on {stored_alone})")
    for exempt in (True, False):
        flagged, checked, _ = asyncio.run(replay(detector, spec, outside_rooms, True, exempt))
        label = f"false_flags_junctions_stream_{'exempt' if exempt else 'all'}"
        result[label] = round(100 * flagged / checked, 4)
        print(label, f"{flagged}/{checked}", f"{result[label]}%")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
