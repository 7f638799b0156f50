"""Leak-detection benchmark on real chat: speed, false flags and recall, against a naive baseline.

Uses the chitchat dataset (about 258,000 real messages in 7,168 two-person conversations,
MIT licence, ``pip install chitchat-dataset``). Conversations stand in for rooms: about a
third of the messages are indexed as "confidential", the rest is outside traffic. Outside
messages are checked as they are (every flag there is a false flag), and again with quotes
of 5-40 words taken from confidential messages, lightly edited, pasted into them (recall).
The naive baseline (``pip install rapidfuzz``) fuzzy-matches each message against stored
history, as a bot without fingerprints would have to, keeping the plaintext.

    python benchmarks/leaks.py            # full run, a few minutes
    python benchmarks/leaks.py --quick    # same figures from a smaller run, under a minute

The last line printed is one JSON object with every headline figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.leaks import (
    Fingerprinter,
    Fingerprints,
    LeakIndex,
    LeakParams,
    author_key,
    background_fingerprints,
    normalize,
)

KEY = bytes(range(32))  # a fixed key keeps runs comparable; any 32 bytes would do
PLATFORM = "chitchat"
QUOTE_LENGTHS = (5, 8, 12, 20, 40)
INDEX_SIZES = (10_000, 100_000, 1_000_000)
NAIVE_HISTORY = 10_000
NAIVE_CUTOFF = 90
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Message:
    room: str
    author: str
    day: int
    text: str


@dataclass(frozen=True, slots=True)
class Probe:
    """An outside message to check; ``source`` is the room it quotes, if any."""

    room: str
    author: str
    text: str
    source: str | None = None
    length: int = 0
    edit: str = ""


@dataclass(frozen=True, slots=True)
class Sizes:
    confidential: int
    outside: int
    quotes_per_case: int
    stream: int
    naive_plain: int
    naive_quotes_per_length: int


FULL = Sizes(86_000, 0, 2_000, 60_000, 300, 40)
QUICK = Sizes(20_000, 25_000, 300, 12_000, 80, 12)


# -- data -------------------------------------------------------------------------------------


def load_rooms() -> list[list[Message]]:
    try:
        import chitchat_dataset
    except ImportError:
        sys.exit("the chitchat dataset is missing: pip install chitchat-dataset")
    rooms: list[list[Message]] = []
    for room_id, conversation in chitchat_dataset.Dataset().items():
        messages = [
            Message(
                room_id,
                utterance["sender"],
                date.fromisoformat(utterance["timestamp"][:10]).toordinal() - EPOCH_ORDINAL,
                utterance["text"],
            )
            for turn in conversation["messages"]
            for utterance in turn
        ]
        if messages:
            rooms.append(messages)
    return rooms


def split_rooms(
    rooms: list[list[Message]], confidential: int, outside: int, rng: random.Random
) -> tuple[list[Message], list[Message]]:
    """Whole conversations go to one side, so a room is never both inside and outside."""
    order = rooms[:]
    rng.shuffle(order)
    inside: list[Message] = []
    rest: list[Message] = []
    for room in order:
        if len(inside) < confidential:
            inside.extend(room)
        elif not outside or len(rest) < outside:
            rest.extend(room)
    return inside, rest


# -- quotes with light edits ---------------------------------------------------------------


def _edit_case(words: list[str], rng: random.Random) -> list[str]:
    style = rng.randrange(4)
    if style == 0:
        return [word.lower() for word in words]
    if style == 1:
        return [word.capitalize() for word in words]
    if style == 2:
        index = rng.randrange(len(words))
        return [*words[:index], words[index].upper(), *words[index + 1 :]]
    return [words[0].capitalize(), *words[1:]]


def _edit_punctuation(words: list[str], rng: random.Random) -> list[str]:
    words = [word.strip(".,!?;:\"'") or word for word in words]
    for _ in range(rng.randrange(1, 3)):
        index = rng.randrange(len(words))
        words[index] += rng.choice((",", ".", "!", "...", "?", " -"))
    wrap = rng.randrange(3)
    if wrap == 0:
        words[0] = "\u201c" + words[0]
        words[-1] += "\u201d"
    elif wrap == 1:
        words[0] = "> " + words[0]
    return words


def _change_word(words: list[str], vocabulary: Sequence[str], rng: random.Random) -> list[str]:
    index = rng.randrange(len(words))
    replacement = rng.choice(vocabulary)
    while replacement.lower() == words[index].lower():
        replacement = rng.choice(vocabulary)
    return [*words[:index], replacement, *words[index + 1 :]]


def make_quote_probes(
    sources: Sequence[Message],
    hosts: Sequence[Message],
    per_case: int,
    rng: random.Random,
) -> list[Probe]:
    """Quotes of each length, edited for case and punctuation, and also with a changed word."""
    vocabulary = [word for message in hosts[:5000] for word in message.text.split()]
    by_length = {length: [m for m in sources if len(m.text.split()) >= length]
                 for length in QUOTE_LENGTHS}
    probes: list[Probe] = []
    for length, eligible in by_length.items():
        if not eligible:
            continue
        for edit in ("case+punct", "changed word"):
            for _ in range(per_case):
                source = rng.choice(eligible)
                host = rng.choice(hosts)
                while host.author == source.author:
                    host = rng.choice(hosts)
                words = source.text.split()
                start = rng.randrange(len(words) - length + 1)
                quote = _edit_punctuation(_edit_case(words[start : start + length], rng), rng)
                if edit == "changed word":
                    quote = _change_word(quote, vocabulary, rng)
                host_words = host.text.split()
                cut = rng.randrange(len(host_words) + 1)
                text = " ".join([*host_words[:cut], *quote, *host_words[cut:]])
                probes.append(Probe(host.room, host.author, text, source.room, length, edit))
    return probes


def eligible_counts(sources: Sequence[Message]) -> dict[int, int]:
    lengths = [len(message.text.split()) for message in sources]
    return {length: sum(1 for n in lengths if n >= length) for length in QUOTE_LENGTHS}


# -- the engine -------------------------------------------------------------------------------


class Engine:
    """The fingerprint path as the bot will run it, with author keys cached like the bot's."""

    def __init__(self, params: LeakParams) -> None:
        self.fingerprinter = Fingerprinter(KEY, params)
        self.background = background_fingerprints(self.fingerprinter)
        self.params = params
        self._authors: dict[str, bytes] = {}

    def author(self, name: str) -> bytes:
        key = self._authors.get(name)
        if key is None:
            key = self._authors[name] = author_key(KEY, PLATFORM, name)
        return key

    def new_index(self) -> LeakIndex:
        return LeakIndex(self.params, self.background)

    def index_messages(self, index: LeakIndex, messages: Iterable[Message]) -> None:
        fingerprints = self.fingerprinter.fingerprints
        for message in messages:
            index.add(fingerprints(message.text), message.room, message.day,
                      self.author(message.author))


def fill_synthetic(index: LeakIndex, target: int, rng: random.Random) -> int:
    """Pad the index with random fingerprints (as from unrelated rooms) up to ``target``."""
    added = 0
    day = 17_700
    while len(index) < target:
        batch = min(4, target - len(index))
        values = frozenset(rng.getrandbits(60) for _ in range(batch))
        room = f"filler-{rng.randrange(5000)}"
        index.add(Fingerprints(values, False, 20), room, day, bytes(16))
        added += batch
    return added


def flagged(engine: Engine, index: LeakIndex, probe: Probe, exempt_author: bool) -> list[str]:
    matches = index.lookup(
        engine.fingerprinter.fingerprints(probe.text),
        exclude_room=probe.room,
        exclude_author=engine.author(probe.author) if exempt_author else None,
    )
    return [match.room_key for match in matches]


def false_flags(
    engine: Engine, index: LeakIndex, outside: Sequence[Message], exempt_author: bool
) -> tuple[int, int]:
    flags = 0
    whole = 0
    for message in outside:
        probe = Probe(message.room, message.author, message.text)
        if flagged(engine, index, probe, exempt_author):
            flags += 1
            whole += engine.fingerprinter.fingerprints(message.text).whole_message
    return flags, whole


def recall(engine: Engine, index: LeakIndex, probes: Sequence[Probe]) -> dict[str, float]:
    hits: dict[str, list[int]] = {}
    for probe in probes:
        hit = probe.source in flagged(engine, index, probe, exempt_author=True)
        hits.setdefault(f"{probe.length}|{probe.edit}", [0, 0])
        hits[f"{probe.length}|{probe.edit}"][0] += hit
        hits[f"{probe.length}|{probe.edit}"][1] += 1
    return {case: found / total for case, (found, total) in hits.items()}


def measure_speed(
    engine: Engine, index: LeakIndex, stream: Sequence[Probe]
) -> tuple[float, float, float, float]:
    """(messages/s, p50 ms, p99 ms, max ms) for fingerprint + lookup, one message at a time."""
    fingerprints = engine.fingerprinter.fingerprints
    lookup = index.lookup
    keyed = [(p.text, p.room, engine.author(p.author)) for p in stream]
    for text, room, author in keyed[:2000]:  # warm the caches (char map, regex, dict)
        lookup(fingerprints(text), room, author)
    start = time.perf_counter()
    for text, room, author in keyed:
        lookup(fingerprints(text), room, author)
    elapsed = time.perf_counter() - start
    clock = time.perf_counter_ns
    latencies: list[int] = []
    record = latencies.append
    for text, room, author in keyed:
        began = clock()
        lookup(fingerprints(text), room, author)
        record(clock() - began)
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1e6

    return len(keyed) / elapsed, pct(0.50), pct(0.99), latencies[-1] / 1e6


def rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# -- the naive baseline ---------------------------------------------------------------------


def naive_matcher(history: Sequence[Message]) -> Callable[[str], set[str]]:
    """Fuzzy substring search of every stored message (partial_ratio >= 90)."""
    try:
        from rapidfuzz import fuzz, process
    except ImportError:
        sys.exit("rapidfuzz is missing: pip install rapidfuzz")
    texts = [normalize(message.text) for message in history]
    rooms = [message.room for message in history]
    keep = [i for i, text in enumerate(texts) if len(text.split()) >= 3]
    choices = [texts[i] for i in keep]
    choice_rooms = [rooms[i] for i in keep]

    def match(text: str) -> set[str]:
        query = normalize(text)
        if len(query.split()) < 3:
            return set()
        found = process.extract(
            query, choices, scorer=fuzz.partial_ratio, processor=None,
            score_cutoff=NAIVE_CUTOFF, limit=None,
        )
        return {choice_rooms[position] for _, _, position in found}

    return match


# -- report -----------------------------------------------------------------------------------


def line(label: str, *cells: object) -> None:
    print(f"  {label:<44}" + "".join(f"{cell!s:>14}" for cell in cells))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, under a minute")
    parser.add_argument("--seed", type=int, default=20260515)
    defaults = LeakParams()
    parser.add_argument("--k", type=int, default=defaults.k)
    parser.add_argument("--w", type=int, default=defaults.w)
    parser.add_argument("--min-matches", type=int, default=defaults.min_matches)
    parser.add_argument("--min-tokens-whole", type=int, default=defaults.min_tokens_whole)
    parser.add_argument("--stop-rooms", type=int, default=defaults.stop_rooms)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    rng = random.Random(args.seed)
    params = LeakParams(
        k=args.k, w=args.w, min_matches=args.min_matches,
        min_tokens_whole=args.min_tokens_whole, stop_rooms=args.stop_rooms,
    )
    began = time.perf_counter()

    rooms = load_rooms()
    total = sum(map(len, rooms))
    inside, outside = split_rooms(rooms, sizes.confidential, sizes.outside, rng)
    del rooms
    engine = Engine(params)
    print(f"Leak detection benchmark ({'quick' if args.quick else 'full'}), chitchat dataset: "
          f"{total:,} messages; k={params.k}, w={params.w}, min_matches={params.min_matches}, "
          f"min_tokens_whole={params.min_tokens_whole}, stop_rooms={params.stop_rooms}, "
          f"background phrases -> {len(engine.background)} hashes")
    print(f"  confidential: {len(inside):,} messages in "
          f"{len({m.room for m in inside}):,} rooms; outside: {len(outside):,} messages")

    # Accuracy on the real confidential slice.
    index = engine.new_index()
    start = time.perf_counter()
    engine.index_messages(index, inside)
    add_rate = len(inside) / (time.perf_counter() - start)
    print(f"  indexed {len(index):,} fingerprints ({index.posting_count:,} postings) "
          f"at {add_rate:,.0f} messages/s")

    flags, flags_whole = false_flags(engine, index, outside, exempt_author=False)
    flags_exempt, _ = false_flags(engine, index, outside, exempt_author=True)
    rate = flags / len(outside)
    rate_exempt = flags_exempt / len(outside)
    quote_probes = make_quote_probes(inside, outside, sizes.quotes_per_case, rng)
    recalls = recall(engine, index, quote_probes)
    eligible = eligible_counts(inside)

    print("\nAccuracy")
    line("false flags per outside message", f"{rate:.4%}", f"({flags} of {len(outside):,})")
    line("  of which short (whole-message) matches", flags_whole)
    line("false flags, author's own words exempt", f"{rate_exempt:.4%}", f"({flags_exempt})")
    line("recall by quote length (words)", "case+punct", "+changed word", "sources")
    for length in QUOTE_LENGTHS:
        line(f"  {length}", f"{recalls.get(f'{length}|case+punct', float('nan')):.2%}",
             f"{recalls.get(f'{length}|changed word', float('nan')):.2%}", eligible[length])

    # The same accuracy figures for other settings a policy may choose, for comparison.
    alternatives: dict[str, dict[str, float]] = {}
    alternative_params = {
        "k8 w5 min_matches=1, no whole-message": LeakParams(min_matches=1, min_tokens_whole=8),
        "k11 w2 min_matches=1, no whole-message": LeakParams(
            k=11, w=2, min_matches=1, min_tokens_whole=11
        ),
        "k8 w5 min_matches=2, whole-message from 6": LeakParams(min_tokens_whole=6),
    }
    print("\nOther settings (same data, same quotes)")
    line("", "false flags", "author exempt", "recall 12w", "recall 20w")
    for label, other in alternative_params.items():
        other_engine = Engine(other)
        other_index = other_engine.new_index()
        other_engine.index_messages(other_index, inside)
        other_ff = false_flags(other_engine, other_index, outside, exempt_author=False)[0]
        other_ffa = false_flags(other_engine, other_index, outside, exempt_author=True)[0]
        other_recall = recall(other_engine, other_index, quote_probes)
        alternatives[label] = {
            "false_flag_rate": round(other_ff / len(outside), 6),
            "false_flag_rate_author_exempt": round(other_ffa / len(outside), 6),
            "recall_12_words": round(other_recall.get("12|case+punct", 0.0), 4),
            "recall_20_words": round(other_recall.get("20|case+punct", 0.0), 4),
        }
        line(label, f"{other_ff / len(outside):.4%}", f"{other_ffa / len(outside):.4%}",
             f"{other_recall.get('12|case+punct', 0.0):.2%}",
             f"{other_recall.get('20|case+punct', 0.0):.2%}")
        del other_index

    # Speed and latency at three index sizes.
    print("\nSpeed: fingerprint + lookup per outside message (one core)")
    line("stored fingerprints", "messages/s", "p50 ms", "p99 ms", "max ms")
    plain = [Probe(m.room, m.author, m.text) for m in rng.sample(outside, min(len(outside),
                                                                              sizes.stream))]
    stream = plain + rng.sample(quote_probes, min(len(quote_probes), sizes.stream // 10))
    rng.shuffle(stream)
    speed: dict[int, tuple[float, float, float, float]] = {}
    bytes_per_fp = rss_per_fp = 0.0
    for size in INDEX_SIZES:
        del index
        gc.collect()
        rss_before = rss_bytes()
        index = engine.new_index()
        real = 0
        for message in inside:
            if len(index) >= size:
                break
            engine.index_messages(index, (message,))
            real += 1
        synthetic = fill_synthetic(index, size, rng)
        speed[size] = measure_speed(engine, index, stream)
        msgs, p50, p99, worst = speed[size]
        line(f"{len(index):>9,} ({real:,} real msgs + {synthetic:,} synthetic)",
             f"{msgs:,.0f}", f"{p50:.3f}", f"{p99:.3f}", f"{worst:.2f}")
        if size == INDEX_SIZES[-1]:
            bytes_per_fp = index.approximate_bytes() / len(index)
            rss_per_fp = (rss_bytes() - rss_before) / len(index)
    line("memory per stored fingerprint at 1M", f"{bytes_per_fp:.0f} B",
         f"(RSS {rss_per_fp:.0f} B)")
    del index

    # The naive baseline against the same history, same probes, same process.
    history = inside[:NAIVE_HISTORY]
    naive = naive_matcher(history)
    small = engine.new_index()
    engine.index_messages(small, history)
    naive_plain = [Probe(m.room, m.author, m.text) for m in rng.sample(outside, sizes.naive_plain)]
    naive_quotes = [
        probe
        for probe in make_quote_probes(history, outside, sizes.naive_quotes_per_length, rng)
        if probe.edit == "case+punct"
    ]
    probes = naive_plain + naive_quotes
    start = time.perf_counter()
    naive_found = [naive(probe.text) for probe in probes]
    naive_rate = len(probes) / (time.perf_counter() - start)
    ours_rate = measure_speed(engine, small, probes * max(1, 5000 // len(probes)))[0]
    ours_found = [set(flagged(engine, small, probe, exempt_author=False)) for probe in probes]

    def naive_stats(found: list[set[str]]) -> tuple[float, float]:
        plain_flags = sum(bool(f) for f in found[: len(naive_plain)]) / len(naive_plain)
        long_quotes = [
            (probe, f) for probe, f in zip(probes, found, strict=True)
            if probe.source and probe.length >= 12
        ]
        hits = sum(probe.source in f for probe, f in long_quotes) / max(1, len(long_quotes))
        return plain_flags, hits

    naive_ff, naive_recall = naive_stats(naive_found)
    ours_ff, ours_recall = naive_stats(ours_found)
    speedup = ours_rate / naive_rate
    print(f"\nNaive baseline: rapidfuzz partial_ratio >= {NAIVE_CUTOFF} over "
          f"{len(history):,} stored messages ({len(probes)} probes)")
    line("", "naive", "fingerprints")
    line("messages/s", f"{naive_rate:,.1f}", f"{ours_rate:,.0f}")
    line("false flags per outside message", f"{naive_ff:.2%}", f"{ours_ff:.2%}")
    line("recall, quotes of 12+ words", f"{naive_recall:.2%}", f"{ours_recall:.2%}")
    line("speed-up", "", f"{speedup:,.0f}x")
    print(f"\n  total time {time.perf_counter() - began:.1f} s")

    result = {
        "mode": "quick" if args.quick else "full",
        "confidential_messages": len(inside),
        "outside_messages": len(outside),
        "msgs_per_s_10k": round(speed[INDEX_SIZES[0]][0]),
        "msgs_per_s_100k": round(speed[INDEX_SIZES[1]][0]),
        "msgs_per_s_1m": round(speed[INDEX_SIZES[2]][0]),
        "p50_ms_1m": round(speed[INDEX_SIZES[2]][1], 4),
        "p99_ms_10k": round(speed[INDEX_SIZES[0]][2], 4),
        "p99_ms_100k": round(speed[INDEX_SIZES[1]][2], 4),
        "p99_ms_1m": round(speed[INDEX_SIZES[2]][2], 4),
        "bytes_per_fingerprint": round(bytes_per_fp, 1),
        "naive_msgs_per_s_10k": round(naive_rate, 2),
        "speedup_vs_naive_10k": round(speedup, 1),
        "naive_false_flag_rate": round(naive_ff, 6),
        "naive_recall_12plus_words": round(naive_recall, 4),
        "false_flag_rate": round(rate, 6),
        "false_flag_rate_author_exempt": round(rate_exempt, 6),
        **{f"recall_{n}_words": round(recalls.get(f"{n}|case+punct", 0.0), 4)
           for n in QUOTE_LENGTHS},
        **{f"recall_{n}_words_changed_word": round(recalls.get(f"{n}|changed word", 0.0), 4)
           for n in QUOTE_LENGTHS},
        "params": {"k": params.k, "w": params.w, "min_matches": params.min_matches,
                   "min_tokens_whole": params.min_tokens_whole,
                   "stop_rooms": params.stop_rooms},
        "alternatives": alternatives,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
