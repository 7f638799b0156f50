"""Leak-detection benchmark on real chat: speed, false flags and recall, against a naive baseline.

Uses the chitchat dataset (about 258,000 real messages in 7,168 two-person conversations,
MIT licence, ``pip install chitchat-dataset``). Conversations stand in for rooms: about a
third of the messages are indexed as "confidential", the rest is outside traffic. Outside
messages are checked as they are (every flag there is a false flag), and again with quotes
of 5-40 words taken from confidential messages, lightly edited, pasted into them (recall).
The naive baseline (``pip install rapidfuzz``) fuzzy-matches each message against stored
history, as a bot without fingerprints would have to, keeping the plaintext.

What is measured is what ships: the settings are a policy's ``LeaksSpec`` (its defaults
unless overridden on the command line), turned into index and fingerprint settings by
``bot.leaks_flow.engines`` and judged by ``bot.leaks_flow.detect.quotes``, the very
function the bot calls: the index proposes rooms, the source room's policy confirms them
(matches needed, its members' own words exempt). Only the SQLite store behind that
confirmation is replaced by an in-memory one answering the same question, so the figures
are the engine's, not the disk's; how often the store is asked is reported beside them.

The real store is measured too: 1M fingerprint rows (100,000 with --quick) are written
with ``Store.add_fingerprints`` (the confidential messages' own, then filler shaped like
messages), and the run reports the database's size once checkpointed (bytes per
fingerprint, table and its indexes), the time and RSS growth of loading the index from it
in a fresh process (what a restart costs), and the check with every candidate confirmed by
a real query.

    python benchmarks/leaks.py            # full run, a few minutes
    python benchmarks/leaks.py --quick    # same figures from a smaller run, under a minute
    python benchmarks/leaks.py --k 8 --w 5 --min-matches 2   # a policy's own settings

Two tables measure the shipped defaults where people try to dodge them and where words are
not spaced. The evasion table disguises quotes of the confidential messages as
``benchmarks/evasions.py`` describes (recall per transformation, each probe through
``detect.quotes``; split quotes through ``flagged_consecutive``, the bot's split-message
stream as the watch runs it). The multilingual table checks Japanese, Chinese,
Korean and Thai sentences from Django's catalogues (``pip install django``; see
``benchmarks/multilingual.py``) against each other: different messages sharing ordinary
phrasing must not be flagged.

The last line printed is one JSON object with every headline figure. Besides speed, memory,
disk and start-up figures, it holds ``false_flag_rate`` (``_author_exempt``,
``_no_exemption``), ``recall_<n>_words`` and ``recall_<n>_words_changed_word`` for quotes
of 5-40 words; the evasion table as ``recall_identity``, ``recall_lookalike``,
``recall_invisible``, ``recall_accents``, ``recall_small_caps``, ``recall_keycaps``,
``recall_emoji``, ``recall_split2``, ``recall_split3``, ``recall_one_word_20``,
``recall_two_words_30``, ``recall_swap`` and ``recall_spelling``; and the multilingual
table as ``false_flags_<lang>``, ``flagged_<lang>`` and ``messages_<lang>`` for ja, zh, ko
and th (a false flag is a match the same policy does not make between the two sentences'
English originals, unless they share a run of w+k-1 words or one holds the other whole).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.events import Room
from bot.leaks import Fingerprints, LeakIndex, LeakParams, author_key, normalize, tokenize
from bot.leaks.params import WORD_UNITS
from bot.leaks.tokenize import token_units
from bot.leaks_flow.detect import Suspicion, quotes, stream_quotes, with_stream
from bot.leaks_flow.engines import Engines, room_key, scheme_of, stored_params
from bot.leaks_flow.stream import StreamTails
from bot.policy.model import LeaksSpec, Policy, ReminderSpec, RoomRef
from bot.store.sqlite import Store, StoredFingerprint

if __package__:
    from benchmarks import evasions, multilingual
else:  # run as a script (python benchmarks/leaks.py): this folder is on the path
    import evasions
    import multilingual

KEY = bytes(range(32))  # a fixed key keeps runs comparable; any 32 bytes would do
PLATFORM = "chitchat"
QUOTE_LENGTHS = (5, 8, 12, 20, 40)
INDEX_SIZES = (10_000, 100_000, 1_000_000)
NAIVE_HISTORY = 10_000
NAIVE_CUTOFF = 90
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
LOAD_TIMEOUT_S = 600  # the index load in its own process; a minute at 1M on a slow machine


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
    sqlite_rows: int
    evasions_per_case: int


FULL = Sizes(86_000, 0, 2_000, 60_000, 300, 40, 1_000_000, 1_000)
QUICK = Sizes(20_000, 25_000, 300, 12_000, 80, 12, 100_000, 200)


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


# -- the bot's detection path ---------------------------------------------------------------


class MemoryStore:
    """Stands in for ``bot.store.sqlite.Store`` where leak detection reads it.

    The bot confirms every candidate room against its store; this answers the same query
    (which of these fingerprints are stored for the room, optionally by someone other than
    this author) from memory, so the benchmark measures the engine rather than the disk.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], dict[int, bytes | set[bytes]]] = {}
        self._near: dict[tuple[str, str], dict[int, list[tuple[int, int, bytes]]]] = {}
        self.confirmations = 0
        """How often a candidate room was confirmed: each is one SQLite query in the bot."""

    def add(self, scheme: str, key: str, values: Iterable[int], author: bytes) -> None:
        rows = self._rows.setdefault((scheme, key), {})
        for value in values:
            authors = rows.get(value)
            if authors is None:
                rows[value] = author
            elif isinstance(authors, bytes):
                if authors != author:
                    rows[value] = {authors, author}
            else:
                authors.add(author)

    def add_near(self, rows: Sequence[StoredFingerprint], message: int) -> None:
        """One message's near rows, in order, as ``Store.add_fingerprints`` keeps them."""
        for position, row in enumerate(rows):
            table = self._near.setdefault((row.scheme, row.room_key), {})
            table.setdefault(row.fingerprint, []).append((message, position, row.author))

    async def near_matches(
        self, scheme: str, key: str, values: Iterable[int], not_author: bytes | None
    ) -> list[list[int]]:
        """As ``Store.near_matches``: per source message, the values it holds, in order."""
        self.confirmations += 1
        rows = self._near.get((scheme, key), {})
        by_message: dict[int, list[tuple[int, int]]] = {}
        for value in set(values):
            for message, position, author in rows.get(value, ()):
                if not_author is None or author != not_author:
                    by_message.setdefault(message, []).append((position, value))
        return [[value for _, value in sorted(found)] for found in by_message.values()]

    async def stoplist(self) -> set[int]:
        return set()

    async def index_groups(self, scheme: str) -> AsyncIterator[list[Any]]:
        """Nothing to load: the benchmark fills the index itself."""
        return
        yield

    async def room_states(self) -> list[Any]:
        return []

    async def matching_fingerprints(
        self, scheme: str, key: str, values: Iterable[int], not_author: bytes | None
    ) -> set[int]:
        self.confirmations += 1
        rows = self._rows.get((scheme, key), {})
        found: set[int] = set()
        for value in values:
            authors = rows.get(value)
            if authors is None:
                continue
            if not_author is None or (
                authors != not_author
                if isinstance(authors, bytes)
                else any(author != not_author for author in authors)
            ):
                found.add(value)
        return found


def make_policy(spec: LeaksSpec) -> Policy:
    return Policy(
        name="benchmark",
        source="benchmarks/leaks.py",
        rooms=(RoomRef(platform="console", name="benchmark"),),
        reminder=ReminderSpec(text="What is said here stays here."),
        leaks=spec,
    )


class Detector:
    """One policy's leak detection, built and judged by the bot's own code.

    ``Engines.load`` derives the index settings and background stop list from the policy,
    confidential messages are stored as ``LeakWatch`` stores them, and every check is a call
    of ``detect.quotes``. ``exempt`` chooses the own-words exemption per check, so one index
    serves both the policy as configured and the comparison without the exemption.
    """

    def __init__(self, spec: LeaksSpec) -> None:
        self.spec = spec
        self.store = MemoryStore()
        self.engines = Engines(KEY, self.store)  # type: ignore[arg-type]
        self.policies = {
            exempt: make_policy(spec.model_copy(update={"exempt_own_words": exempt}))
            for exempt in (False, True)
        }
        asyncio.run(self.engines.load((self.policies[spec.exempt_own_words],)))
        self.scheme = scheme_of(spec)
        self.engine = self.engines.engines[self.scheme]
        self.index: LeakIndex = self.engine.index
        self._authors: dict[str, bytes] = {}

    def author(self, name: str) -> bytes:
        key = self._authors.get(name)
        if key is None:
            key = self._authors[name] = author_key(KEY, PLATFORM, name)
        return key

    def index_messages(self, messages: Iterable[Message]) -> None:
        """As ``LeakWatch._index``: store the message's fingerprints, then index them."""
        for message in messages:
            room = Room(PLATFORM, message.room)
            fingerprints = self.engines.fingerprints_to_store(self.spec, message.text)
            self.engines.remember(room)
            if fingerprints:
                self.add(fingerprints, room_key(room), message.day,
                         self.author(message.author))
                like = StoredFingerprint(0, self.scheme, room_key(room), "benchmark",
                                         message.day, self.author(message.author), b"")
                near = self.engines.near_rows(self.spec, message.text, like)
                if near:  # long messages also keep near shingles (near-verbatim quotes)
                    self.store.add_near(near, id(message))
                    self.engine.add_near(near)

    def add(self, fingerprints: Fingerprints, key: str, day: int, author: bytes) -> None:
        self.store.add(self.scheme, key, fingerprints.values, author)
        self.index.add(fingerprints, key, day, author)

    def reset(self) -> None:
        """An empty index and store under the same settings (for the speed runs)."""
        self.store = MemoryStore()
        self.engines.store = self.store  # type: ignore[assignment]
        asyncio.run(self.engines.load((self.policies[self.spec.exempt_own_words],)))
        self.engine = self.engines.engines[self.scheme]
        self.index = self.engine.index

    def checker(self, exempt: bool | None = None) -> Callable[[Probe], Any]:
        """A coroutine function: the suspicions ``detect.quotes`` raises for a probe."""
        policy = self.policies[self.spec.exempt_own_words if exempt is None else exempt]
        engines = self.engines

        def covered(_: Room) -> Policy:
            return policy  # only confidential rooms are ever indexed

        async def check(probe: Probe) -> list[Suspicion]:
            author = author_key(KEY, PLATFORM, probe.author)  # per message, as on_posted does
            return await quotes(probe.text, Room(PLATFORM, probe.room), author, engines,
                                covered, False)

        return check

    def suspicions(
        self, probes: Sequence[Probe], exempt: bool | None = None
    ) -> list[list[Suspicion]]:
        check = self.checker(exempt)

        async def run() -> list[list[Suspicion]]:
            return [await check(probe) for probe in probes]

        return asyncio.run(run())

    def flagged(self, probes: Sequence[Probe], exempt: bool | None = None) -> list[list[str]]:
        """The source room ids flagged for each probe."""
        return [[s.source.id for s in found] for found in self.suspicions(probes, exempt)]


@dataclass(frozen=True, slots=True)
class Said:
    room: str
    author: str
    at: datetime
    text: str


class Judge:
    """The watch's decision for one message: alone, then (optionally) with its stream."""

    def __init__(self, detector: Detector, spec: LeaksSpec, exempt: bool = True) -> None:
        self.detector = detector
        self.policy: Policy = detector.policies[exempt]
        self.window = timedelta(minutes=spec.stream_minutes)
        self.tails = StreamTails(self.window)
        self.k = spec.k

    def covered(self, _: Room) -> Policy:
        return self.policy

    async def check(self, said: Said, message_id: str, stream: bool) -> list[Suspicion]:
        engines = self.detector.engines
        room = Room(PLATFORM, said.room)
        author = author_key(KEY, PLATFORM, said.author)
        found = await quotes(said.text, room, author, engines, self.covered, False)
        if stream:
            tokens = self.detector.engine.lookup.tokens(said.text)
            joined = self.tails.join(
                room_key(room), author, message_id, tokens, said.at, self.k - 1
            )
            if joined is not None:
                found = with_stream(
                    found,
                    await stream_quotes(joined, room, author, engines, self.covered, False),
                )
                # as LeakWatch: the rest of a quote already flagged joins that flag
                found = [
                    s for s in found if not (s.parts and room_key(s.source) in joined.flagged)
                ]
            for suspicion in found:
                self.tails.mark_flagged(room_key(room), author, room_key(suspicion.source), 0)
        return found


def fill_synthetic(detector: Detector, target: int, rng: random.Random) -> int:
    """Pad the index with random fingerprints (as from unrelated rooms) up to ``target``."""
    index = detector.index
    added = 0
    day = 17_700
    while len(index) < target:
        batch = min(4, target - len(index))
        values = frozenset(rng.getrandbits(60) for _ in range(batch))
        # Straight into the index, not the store: random values never become candidates,
        # and keeping them out of the in-memory store keeps the RSS figure the index's.
        index.add(Fingerprints(values, False, 20), f"{PLATFORM}:filler-{rng.randrange(5000)}",
                  day, bytes(16))
        added += batch
    return added


def outside_probes(messages: Iterable[Message]) -> list[Probe]:
    return [Probe(message.room, message.author, message.text) for message in messages]


def false_flags(flags: Sequence[Sequence[str]]) -> int:
    return sum(1 for found in flags if found)


def recall(detector: Detector, probes: Sequence[Probe]) -> dict[str, float]:
    hits: dict[str, list[int]] = {}
    for probe, found in zip(probes, detector.flagged(probes), strict=True):
        case = hits.setdefault(f"{probe.length}|{probe.edit}", [0, 0])
        case[0] += probe.source in found
        case[1] += 1
    return {case: found / total for case, (found, total) in hits.items()}


def measure_speed(
    detector: Detector, stream: Sequence[Probe]
) -> tuple[float, float, float, float, float]:
    """(messages/s, p50 ms, p99 ms, max ms, store confirmations per message) for the bot's
    quote check (author key, fingerprints, index lookup, policy confirmation), one message
    at a time."""
    check = detector.checker()
    clock = time.perf_counter_ns
    latencies: list[int] = []

    async def run() -> float:
        for probe in stream[:2000]:  # warm the caches (char map, regex, dict)
            await check(probe)
        start = time.perf_counter()
        for probe in stream:
            await check(probe)
        elapsed = time.perf_counter() - start
        record = latencies.append
        for probe in stream:
            began = clock()
            await check(probe)
            record(clock() - began)
        return elapsed

    detector.store.confirmations = 0
    elapsed = asyncio.run(run())
    confirmations = detector.store.confirmations / (len(stream) * 2 + min(2000, len(stream)))
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] / 1e6

    return len(stream) / elapsed, pct(0.50), pct(0.99), latencies[-1] / 1e6, confirmations


@dataclass(frozen=True, slots=True)
class LoadFigures:
    """Loading the index from the store as a freshly started bot does."""

    seconds: float
    cpu_seconds: float
    """Processor time of the whole process (the store's reader thread included): steadier
    than ``seconds`` on a machine shared with other work."""
    postings: int
    peak_growth: int
    """Peak RSS during the load (VmHWM) above the RSS just before it."""
    kept_growth: int
    """RSS after the load above the RSS before it: the index, and what the load left."""


@dataclass(frozen=True, slots=True)
class SqliteFigures:
    rows: int
    real_rows: int
    disk_bytes: int
    """Database file once checkpointed (closing the store folds the WAL in), less an empty
    store's, so the figure is the fingerprints' own."""
    load: LoadFigures
    rate: float
    p50: float
    p99: float
    worst: float


def filler_rows(
    scheme: str, policy: str, count: int, rng: random.Random
) -> Iterator[StoredFingerprint]:
    """Rows as from unrelated messages, shaped as the bot stores them: four fingerprints per
    message sharing its room, day, author hash and message hash (as ``fill_synthetic`` pads
    the in-memory index), rooms named like the corpus's, 2,000 authors, 90 days."""
    authors = [rng.randbytes(16) for _ in range(2_000)]
    rooms = [f"{PLATFORM}:{uuid.UUID(int=rng.getrandbits(128))}" for _ in range(5_000)]
    written = 0
    while written < count:
        room, author, message = rng.choice(rooms), rng.choice(authors), rng.randbytes(16)
        day = 17_700 - rng.randrange(90)
        for _ in range(min(4, count - written)):
            yield StoredFingerprint(rng.getrandbits(60), scheme, room, policy, day, author,
                                    message)
            written += 1


async def fill_store(
    path: Path, spec: LeaksSpec, messages: Sequence[Message], size: int, rng: random.Random
) -> int:
    """Write ``size`` fingerprint rows with ``Store.add_fingerprints`` (the confidential
    messages' own, then filler) and close the store; returns how many rows are real."""
    policy = make_policy(spec)
    scheme = scheme_of(spec)
    store = await Store.open(path, datetime.now(UTC))
    try:
        engines = Engines(KEY, store)
        rows: list[StoredFingerprint] = []
        for number, message in enumerate(messages):
            room = Room(PLATFORM, message.room)
            author = author_key(KEY, PLATFORM, message.author)
            ident = engines.message_hash(PLATFORM, message.room, str(number))
            rows += [
                StoredFingerprint(value, scheme, room_key(room), policy.name, message.day,
                                  author, ident)
                for value in engines.fingerprints_to_store(spec, message.text).values
            ]
            if len(rows) >= size:
                break
        del rows[size:]
        real = len(rows)
        rows += filler_rows(scheme, policy.name, size - real, rng)
        await store.add_fingerprints(rows)
    finally:
        await store.close()
    return real


def file_bytes(path: Path) -> int:
    """The database and its write-ahead log (absent once the last connection closed)."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def empty_store_bytes(folder: Path) -> int:
    path = folder / "empty.db"
    store = await Store.open(path, datetime.now(UTC))
    await store.close()
    return file_bytes(path)


def proc_status(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in bytes."""
    with open("/proc/self/status") as status:
        for entry in status:
            if entry.startswith(field + ":"):
                return int(entry.split()[1]) * 1024
    return 0


def rss_bytes() -> int:
    return proc_status("VmRSS")


def load_in_fresh_process(path: str, spec: dict[str, Any]) -> LoadFigures:
    """``Engines.load`` as ``LeakWatch.start`` runs it, timed, in a process that has done
    nothing else: its peak RSS is the load's, not left over from the benchmark's own work."""
    policy = make_policy(LeaksSpec(**spec))

    async def run() -> LoadFigures:
        store = await Store.open(Path(path), datetime.now(UTC))
        try:
            engines = Engines(KEY, store)
            gc.collect()
            before = rss_bytes()
            began, began_cpu = time.perf_counter(), time.process_time()
            postings = await engines.load((policy,))
            seconds = time.perf_counter() - began
            cpu_seconds = time.process_time() - began_cpu
            return LoadFigures(seconds, cpu_seconds, postings, proc_status("VmHWM") - before,
                               rss_bytes() - before)
        finally:
            await store.close()

    return asyncio.run(run())


def measure_load(path: Path, spec: LeaksSpec) -> LoadFigures:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(load_in_fresh_process, str(path), spec.model_dump()).result(
            timeout=LOAD_TIMEOUT_S
        )


def sqlite_speed(
    spec: LeaksSpec, messages: Sequence[Message], size: int, stream: Sequence[Probe],
    rng: random.Random,
) -> SqliteFigures:
    """The quote check with the bot's SQLite store behind it, as the bot starts and runs.

    Rows go into a throw-away store through ``Store.add_fingerprints`` (real messages, then
    filler up to ``size``); its size on disk is taken once closed; the index is loaded from
    it as ``LeakWatch.start`` does, first in a fresh process (time and memory at start-up),
    then here, and every candidate room is confirmed by a real query.
    """
    policy = make_policy(spec)

    async def run(path: Path) -> tuple[float, list[int]]:
        store = await Store.open(path, datetime.now(UTC))
        try:
            engines = Engines(KEY, store)
            await engines.load((policy,))
            for message in messages:  # at start-up the bot knows them from room_states
                engines.remember(Room(PLATFORM, message.room))

            def covered(_: Room) -> Policy:
                return policy

            async def check(probe: Probe) -> None:
                author = author_key(KEY, PLATFORM, probe.author)
                await quotes(probe.text, Room(PLATFORM, probe.room), author, engines,
                             covered, False)

            for probe in stream[:2000]:
                await check(probe)
            began = time.perf_counter()
            for probe in stream:
                await check(probe)
            rate = len(stream) / (time.perf_counter() - began)
            latencies: list[int] = []
            for probe in stream:
                start = time.perf_counter_ns()
                await check(probe)
                latencies.append(time.perf_counter_ns() - start)
        finally:
            await store.close()
        return rate, sorted(latencies)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        real = asyncio.run(fill_store(path, spec, messages, size, rng))
        disk = file_bytes(path) - asyncio.run(empty_store_bytes(Path(folder)))
        load = measure_load(path, spec)
        rate, latencies = asyncio.run(run(path))
    p50 = latencies[len(latencies) // 2] / 1e6
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] / 1e6
    return SqliteFigures(size, real, disk, load, rate, p50, p99, latencies[-1] / 1e6)


# -- short disclosures ----------------------------------------------------------------------

WHOLE_FROM = (4, 6, 8, 10)
"""Shortest messages (in words) matched whole, for the short-disclosure table."""


@dataclass(frozen=True, slots=True)
class ShortFigures:
    false_flag_rate: float
    whole_message_flags: int
    """Outside messages flagged by a whole-message match (the cost of matching whole)."""
    recall: float
    """Share of short confidential messages (from this length up to k-1 words) found when
    reposted whole elsewhere, with case and punctuation changed."""
    probes: int


def short_disclosures(
    spec: LeaksSpec, inside: Sequence[Message], plain: Sequence[Probe],
    outside: Sequence[Message], per_case: int, rng: random.Random,
) -> dict[int, ShortFigures]:
    """What whole-message matching of short messages costs and finds, by shortest length.

    A message under k words carries no shingle; with ``whole_message`` on, one keyed hash
    of the whole normalised message is stored and matched. For each shortest length the
    policy is rebuilt, the confidential slice indexed, every outside message checked (false
    flags) and short confidential messages reposted whole by someone else (recall).
    """
    figures: dict[int, ShortFigures] = {}
    for shortest in WHOLE_FROM:
        whole = spec.model_copy(update={"whole_message": True, "min_tokens_whole": shortest})
        detector = Detector(whole)
        detector.index_messages(inside)
        found = detector.suspicions(plain)
        flags = false_flags(found)
        by_whole = sum(1 for suspicions in found if any(s.whole_message for s in suspicions))
        eligible = [m for m in inside
                    if shortest <= len(tokenize(normalize(m.text))) < spec.k]
        probes: list[Probe] = []
        for source in rng.sample(eligible, min(per_case, len(eligible))):
            host = rng.choice(outside)
            if host.author == source.author:
                continue
            words = _edit_case(source.text.split(), rng)
            probes.append(Probe(host.room, host.author, " ".join(words) + rng.choice("!.? "),
                                source.room))
        hits = sum(probe.source in rooms
                   for probe, rooms in zip(probes, detector.flagged(probes), strict=True))
        figures[shortest] = ShortFigures(flags / len(plain), by_whole,
                                         hits / max(1, len(probes)), len(probes))
        del detector
    return figures


# -- the evasion table -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvasionProbe:
    """A quote someone tried to disguise: one message, or consecutive ones in one room."""

    evasion: str
    room: str
    author: str
    parts: tuple[str, ...]
    source: str


def make_evasion_probes(
    sources: Sequence[Message], hosts: Sequence[Message], per_case: int, rng: random.Random
) -> list[EvasionProbe]:
    """``per_case`` disguised quotes per transformation in ``benchmarks/evasions.py``, each
    from a confidential message, posted by an outside member (inside one of their own
    messages, or on its own as consecutive posts when split)."""
    vocabulary = [word for message in hosts[:5000] for word in message.text.split()]
    split_words = [message.text.split() for message in sources]
    probes: list[EvasionProbe] = []
    for evasion in evasions.EVASIONS:
        eligible = [n for n, words in enumerate(split_words) if len(words) >= evasion.words]
        if evasion.needs is not None:
            eligible = [n for n in eligible if evasion.needs(split_words[n])]
        made = 0
        for _ in range(per_case * 20):  # bounded: a condition may reject many sources
            if made == per_case or not eligible:
                break
            n = rng.choice(eligible)
            words = evasions.quote_words(split_words[n], evasion, rng)
            if words is None:
                continue
            host = rng.choice(hosts)
            if host.author == sources[n].author:  # their own words are exempt: not a leak
                continue
            parts = evasion.transform(words, rng, vocabulary)
            if len(parts) == 1:  # a disguised quote inside the member's own message
                host_words = host.text.split()
                cut = rng.randrange(len(host_words) + 1)
                parts = [" ".join([*host_words[:cut], parts[0], *host_words[cut:]])]
            probes.append(EvasionProbe(evasion.name, host.room, host.author, tuple(parts),
                                       sources[n].room))
            made += 1
    return probes


async def flagged_consecutive(judge: Judge, probe: EvasionProbe, tag: str) -> set[str]:
    """Source rooms flagged for a member's consecutive messages in one room, through the
    bot's split-message stream: one call per part, in order, half a minute apart, the same
    room and author, as the watch sees them."""
    found: set[str] = set()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for i, part in enumerate(probe.parts):
        said = Said(probe.room, probe.author, at + timedelta(seconds=30 * i), part)
        for suspicion in await judge.check(said, f"{tag}-{i}", stream=True):
            found.add(suspicion.source.id)
    return found


def evasion_recall(detector: Detector, probes: Sequence[EvasionProbe]) -> dict[str, float]:
    """Per transformation, the share of disguised quotes whose source room was flagged."""
    async def run() -> list[set[str]]:
        # a fresh stream per probe: one probe's parts never join another's
        return [
            await flagged_consecutive(Judge(detector, detector.spec), probe, f"e{n}")
            for n, probe in enumerate(probes)
        ]

    hits: dict[str, list[int]] = {}
    for probe, found in zip(probes, asyncio.run(run()), strict=True):
        case = hits.setdefault(probe.evasion, [0, 0])
        case[0] += probe.source in found
        case[1] += 1
    return {name: found / total for name, (found, total) in hits.items()}


# -- the multilingual table -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LanguageFlags:
    messages: int
    flagged: int
    """Messages flagged as quoting another, different message."""
    false_flags: int
    """Of those, the flags the same policy does not raise on the same two sentences in
    English: a match on phrasing the script's shingles were too short to tell apart."""
    longest_false_run: float
    """The longest run of words a falsely flagged pair shares (0 without any)."""


def shared_run_words(one: str, two: str) -> float:
    """The longest run of tokens two texts share, in words (unspaced characters weigh their
    script's fraction of a word, as when shingles are cut)."""
    first, second = tokenize(normalize(one)), tokenize(normalize(two))
    weights = token_units(first) or [WORD_UNITS] * len(first)
    best = 0
    previous = [0] * (len(second) + 1)
    for i, token in enumerate(first):
        current = [0] * (len(second) + 1)
        for j, other in enumerate(second):
            if token == other:
                current[j + 1] = previous[j] + weights[i]
                best = max(best, current[j + 1])
        previous = current
    return best / WORD_UNITS


def sentence_probes(language: str, sentences: Sequence[Any], field: str) -> list[Probe]:
    """Each sentence posted again in its own room by its own author (``field``: its text or
    its English original)."""
    return [Probe(f"{language}-{n}", f"{language}-author-{n}", getattr(sentence, field))
            for n, sentence in enumerate(sentences)]


def words_of(text: str) -> float:
    tokens = tokenize(normalize(text))
    return sum(token_units(tokens) or [WORD_UNITS] * len(tokens)) / WORD_UNITS


def multilingual_false_flags(spec: LeaksSpec) -> dict[str, LanguageFlags]:
    """False flags between different messages that share ordinary phrasing, per language.

    Every distinct sentence of each language (``benchmarks/multilingual.py``) is a
    confidential message in a room of its own, by an author of its own; each is then
    posted again in its own room and checked, as the bot checks any message, against all
    the others (a quote in its own room is never a leak). The catalogue is a parallel text,
    so each flag is judged against English, where the defaults were measured: a flag the
    same policy also raises between the two English originals is a template sentence
    repeated with a word changed (a quote by the bot's own rule, in any language); one it
    does not raise in English is a false flag of the script's shingles, unless the two
    share a run of w+k-1 words or one holds the whole of the other.
    """
    detector = Detector(spec)
    guaranteed = stored_params(spec).guaranteed_run
    # One English index per language: the catalogues share their English originals, which
    # in one index would be stored from several rooms and stopped as common phrasing.
    english: dict[str, Detector] = {}
    texts: dict[str, list[multilingual.Sentence]] = {}
    for language in multilingual.LANGUAGES:
        seen: set[str] = set()
        kept: list[multilingual.Sentence] = []
        texts[language] = kept
        for sentence in multilingual.sentences(language):
            form = normalize(sentence.text)
            if form and form not in seen:  # the same words twice are no false flag
                seen.add(form)
                kept.append(sentence)
        english[language] = Detector(spec)
        for side, text_of in ((detector, "text"), (english[language], "english")):
            side.index_messages(
                Message(f"{language}-{n}", f"{language}-author-{n}", 20_000,
                        getattr(sentence, text_of))
                for n, sentence in enumerate(kept)
            )
    figures: dict[str, LanguageFlags] = {}
    for language, kept in texts.items():
        found = detector.flagged(sentence_probes(language, kept, "text"))
        in_english = english[language].flagged(sentence_probes(language, kept, "english"))
        false = 0
        longest = 0.0
        for n, (rooms, english_rooms) in enumerate(zip(found, in_english, strict=True)):
            runs = []
            for room in rooms:
                other = kept[int(room.rsplit("-", 1)[1])]
                if room in english_rooms or other.english == kept[n].english:
                    continue
                # A run of w+k-1 words, or the whole of the shorter message, is a quote in
                # any language, however the English original was worded.
                run = shared_run_words(kept[n].text, other.text)
                if run < min(guaranteed, words_of(kept[n].text), words_of(other.text)):
                    runs.append(run)
            if runs:
                false += 1
                longest = max(longest, *runs)
        figures[language] = LanguageFlags(len(kept), sum(map(bool, found)), false,
                                          round(longest, 2))
    return figures


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
    print(f"  {label:<50}" + "".join(f" {cell!s:>13}" for cell in cells))


def describe(spec: LeaksSpec) -> str:
    whole = f"whole from {spec.min_tokens_whole} words" if spec.whole_message else "no whole"
    matches = "1 match" if spec.min_matches == 1 else f"{spec.min_matches} matches"
    return f"k{spec.k} w{spec.w}, {matches}, {whole}"


def spec_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> LeaksSpec:
    """The shipped ``LeaksSpec()`` with only the settings given on the command line changed."""
    names = ("k", "w", "min_matches", "whole_message", "min_tokens_whole", "stop_rooms",
             "exempt_own_words", "near_quotes", "near_min_words", "near_min_matches")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if "min_tokens_whole" in overrides:
        overrides.setdefault("whole_message", True)
    try:
        return LeaksSpec(**overrides)
    except ValueError as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Without settings, the shipped policy defaults (LeaksSpec()) are measured.",
    )
    parser.add_argument("--quick", action="store_true", help="smaller run, under a minute")
    parser.add_argument("--seed", type=int, default=20260515)
    parser.add_argument("--k", type=int, help="tokens per shingle")
    parser.add_argument("--w", type=int, help="winnowing window, in shingles")
    parser.add_argument("--min-matches", type=int, help="matching fingerprints for a flag")
    parser.add_argument("--whole-message", action=argparse.BooleanOptionalAction,
                        help="match messages shorter than k whole")
    parser.add_argument("--min-tokens-whole", type=int,
                        help="shortest message matched whole (implies --whole-message)")
    parser.add_argument("--stop-rooms", type=int, help="rooms that make a fingerprint common")
    parser.add_argument("--exempt-own-words", action=argparse.BooleanOptionalAction,
                        help="a person repeating their own words is not flagged")
    parser.add_argument("--near-quotes", action=argparse.BooleanOptionalAction,
                        help="near-verbatim quotes (a word or two edited) by near shingles")
    parser.add_argument("--near-min-words", type=int,
                        help="shortest confidential message that keeps near shingles")
    parser.add_argument("--near-min-matches", type=int,
                        help="near shingles in order in one source message for a flag")
    args = parser.parse_args(argv)
    spec = spec_from_args(parser, args)
    shipped = spec == LeaksSpec()
    sizes = QUICK if args.quick else FULL
    rng = random.Random(args.seed)
    began = time.perf_counter()

    if multilingual.django_locale_root() is None:  # before minutes of work, not after
        sys.exit("Django's catalogues are missing (the multilingual table): pip install django")
    rooms = load_rooms()
    total = sum(map(len, rooms))
    inside, outside = split_rooms(rooms, sizes.confidential, sizes.outside, rng)
    del rooms
    detector = Detector(spec)
    index = detector.index
    stored = stored_params(spec)
    print(f"Leak detection benchmark ({'quick' if args.quick else 'full'}), chitchat dataset: "
          f"{total:,} messages")
    print(f"  policy: {'shipped defaults' if shipped else 'overridden'}: k={spec.k}, w={spec.w}, "
          f"min_matches={spec.min_matches}, whole_message={spec.whole_message} "
          f"(min_tokens_whole={spec.min_tokens_whole}), stop_rooms={spec.stop_rooms}, "
          f"exempt_own_words={spec.exempt_own_words}")
    print(f"  as the bot runs it: index {index.params}; stored from "
          f"{stored.min_tokens_whole} tokens; any shared run of {stored.guaranteed_run} words "
          f"is caught; background phrases -> {len(index.background)} hashes")
    print(f"  confidential: {len(inside):,} messages in "
          f"{len({m.room for m in inside}):,} rooms; outside: {len(outside):,} messages")

    # Accuracy on the real confidential slice.
    start = time.perf_counter()
    detector.index_messages(inside)
    add_rate = len(inside) / (time.perf_counter() - start)
    print(f"  indexed {len(index):,} fingerprints ({index.posting_count:,} postings) "
          f"at {add_rate:,.0f} messages/s")

    plain = outside_probes(outside)
    by_exemption = {exempt: detector.suspicions(plain, exempt) for exempt in (False, True)}
    configured = by_exemption[spec.exempt_own_words]
    flags = false_flags(configured)
    flags_whole = sum(1 for found in configured if any(s.whole_message for s in found))
    rate = flags / len(outside)
    rate_exempt = false_flags(by_exemption[True]) / len(outside)
    rate_not_exempt = false_flags(by_exemption[False]) / len(outside)
    other = by_exemption[not spec.exempt_own_words]
    near_figures = near_table(detector, inside, outside, plain, by_exemption,
                              sizes.quotes_per_case, random.Random(args.seed + 15))
    del by_exemption
    quote_probes = make_quote_probes(inside, outside, sizes.quotes_per_case, rng)
    recalls = recall(detector, quote_probes)
    eligible = eligible_counts(inside)

    print("\nAccuracy (the policy's own decision, as the bot makes it)")
    line("false flags per outside message", f"{rate:.4%}", f"({flags} of {len(outside):,})")
    line("  of which short (whole-message) matches", flags_whole)
    line(f"  with own-words exemption {'off' if spec.exempt_own_words else 'on'} instead",
         f"{false_flags(other) / len(outside):.4%}", f"({false_flags(other)})")
    line("recall by quote length (words)", "case+punct", "+changed word", "sources")
    for length in QUOTE_LENGTHS:
        line(f"  {length}", f"{recalls.get(f'{length}|case+punct', float('nan')):.2%}",
             f"{recalls.get(f'{length}|changed word', float('nan')):.2%}", eligible[length])

    # The same accuracy figures for other settings a policy may choose, for comparison.
    first = LeakParams()  # the engine's own defaults, from before policies had any
    alternative_specs = (
        LeaksSpec(k=first.k, w=first.w, min_matches=first.min_matches, whole_message=True,
                  min_tokens_whole=first.min_tokens_whole, stop_rooms=first.stop_rooms),
        LeaksSpec(k=first.k, w=first.w),
        LeaksSpec(whole_message=True),
    )
    alternatives: dict[str, dict[str, float]] = {}
    print("\nOther settings (same data, same quotes; the rest as shipped)")
    line("", "false flags", "no exemption", "recall 12w", "recall 20w")
    for alternative in alternative_specs:
        label = describe(alternative)
        other_detector = Detector(alternative)
        other_detector.index_messages(inside)
        other_ff = false_flags(other_detector.suspicions(plain)) / len(outside)
        other_fo = false_flags(other_detector.suspicions(plain, exempt=False)) / len(outside)
        other_recall = recall(other_detector, quote_probes)
        alternatives[label] = {
            "false_flag_rate": round(other_ff, 6),
            "false_flag_rate_no_exemption": round(other_fo, 6),
            "recall_12_words": round(other_recall.get("12|case+punct", 0.0), 4),
            "recall_20_words": round(other_recall.get("20|case+punct", 0.0), 4),
        }
        line(label, f"{other_ff:.4%}", f"{other_fo:.4%}",
             f"{other_recall.get('12|case+punct', 0.0):.2%}",
             f"{other_recall.get('20|case+punct', 0.0):.2%}")
        del other_detector

    # Short messages matched whole: the cost in false flags, and what it finds.
    shorts = short_disclosures(spec, inside, plain, outside, sizes.quotes_per_case, rng)
    print("\nShort disclosures: messages under k words matched whole (whole_message on)")
    line("shortest message matched whole", "false flags", "by whole", "recall", "probes")
    line("  off (as shipped)" if not spec.whole_message else "  as configured",
         f"{rate:.4%}", flags_whole, "", "")
    for shortest, figures in shorts.items():
        line(f"  from {shortest} words", f"{figures.false_flag_rate:.4%}",
             figures.whole_message_flags, f"{figures.recall:.2%}", figures.probes)

    # Disguised quotes and other languages, with the policy as configured.
    evasion_probes = make_evasion_probes(inside, outside, sizes.evasions_per_case, rng)
    evaded = evasion_recall(detector, evasion_probes)
    print("\nEvasion: quotes disguised as someone dodging detection would "
          f"({sizes.evasions_per_case} per row, benchmarks/evasions.py)")
    line("transformation", "recall")
    for name, value in evaded.items():
        line(f"  {name}", f"{value:.2%}")
    languages = multilingual_false_flags(spec)
    print(f"\nOther languages: different messages sharing ordinary phrasing "
          f"({multilingual.source_version()} catalogues, each against all the others)")
    line("language", "messages", "flagged", "false flags", "longest run")
    for language, figures in languages.items():
        line(f"  {language}", figures.messages, figures.flagged, figures.false_flags,
             f"{figures.longest_false_run:g} words")

    # Speed and latency at three index sizes.
    print("\nSpeed: the bot's quote check per outside message (one core)")
    line("stored fingerprints", "messages/s", "p50 ms", "p99 ms", "max ms", "confirm/msg")
    sample = rng.sample(outside, min(len(outside), sizes.stream))
    stream = outside_probes(sample) + rng.sample(
        quote_probes, min(len(quote_probes), sizes.stream // 10)
    )
    rng.shuffle(stream)
    speed: dict[int, tuple[float, float, float, float, float]] = {}
    bytes_per_fp = rss_per_fp = 0.0
    for size in INDEX_SIZES:
        detector.reset()
        index = detector.index
        gc.collect()
        rss_before = rss_bytes()
        real = 0
        for message in inside:
            if len(index) >= size:
                break
            detector.index_messages((message,))
            real += 1
        synthetic = fill_synthetic(detector, size, rng)
        speed[size] = measure_speed(detector, stream)
        msgs, p50, p99, worst, confirms = speed[size]
        line(f"{len(index):>9,} ({real:,} real msgs + {synthetic:,} synthetic)",
             f"{msgs:,.0f}", f"{p50:.3f}", f"{p99:.3f}", f"{worst:.2f}", f"{confirms:.3f}")
        if size == INDEX_SIZES[-1]:
            bytes_per_fp = index.approximate_bytes() / len(index)
            rss_per_fp = (rss_bytes() - rss_before) / len(index)
    line("memory per stored fingerprint at 1M", f"{bytes_per_fp:.0f} B",
         f"(RSS {rss_per_fp:.0f} B)")
    print(f"  ({len(stream) - len(sample):,} of the {len(stream):,} messages carry a quote; "
          "confirm/msg = store queries per message, SQLite in the bot, memory here)")
    detector.reset()
    gc.collect()
    sqlite = sqlite_speed(spec, inside, sizes.sqlite_rows, stream, rng)
    load = sqlite.load
    line(f"with the SQLite store, {sqlite.rows:,} rows", f"{sqlite.rate:,.0f}",
         f"{sqlite.p50:.3f}", f"{sqlite.p99:.3f}", f"{sqlite.worst:.2f}")

    # What those rows cost at rest and at start-up.
    db_per_fp = sqlite.disk_bytes / sqlite.rows
    print(f"\nStart-up and disk: the SQLite store with {sqlite.rows:,} fingerprints "
          f"({sqlite.real_rows:,} from the confidential messages, the rest message-shaped filler)")
    line(f"index load at start-up ({load.postings:,} postings)",
         f"{load.seconds:.2f} s", f"CPU {load.cpu_seconds:.2f} s")
    line("  RSS growth during the load: peak, kept", f"{load.peak_growth / 1e6:.0f} MB",
         f"{load.kept_growth / 1e6:.0f} MB")
    line("disk per stored fingerprint (row + 4 indexes)", f"{db_per_fp:.0f} B",
         f"{db_per_fp:.0f} MB/1M")

    # The naive baseline against the same history, same probes, same process.
    history = inside[:NAIVE_HISTORY]
    naive = naive_matcher(history)
    small = Detector(spec)
    small.index_messages(history)
    naive_plain = outside_probes(rng.sample(outside, sizes.naive_plain))
    naive_quotes = [
        probe
        for probe in make_quote_probes(history, outside, sizes.naive_quotes_per_length, rng)
        if probe.edit == "case+punct"
    ]
    probes = naive_plain + naive_quotes
    start = time.perf_counter()
    naive_found = [naive(probe.text) for probe in probes]
    naive_rate = len(probes) / (time.perf_counter() - start)
    ours_rate = measure_speed(small, probes * max(1, 5000 // len(probes)))[0]
    ours_found = [set(found) for found in small.flagged(probes)]

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
        "shipped_defaults": shipped,
        "confidential_messages": len(inside),
        "outside_messages": len(outside),
        "msgs_per_s_10k": round(speed[INDEX_SIZES[0]][0]),
        "msgs_per_s_100k": round(speed[INDEX_SIZES[1]][0]),
        "msgs_per_s_1m": round(speed[INDEX_SIZES[2]][0]),
        "p50_ms_1m": round(speed[INDEX_SIZES[2]][1], 4),
        "p99_ms_10k": round(speed[INDEX_SIZES[0]][2], 4),
        "p99_ms_100k": round(speed[INDEX_SIZES[1]][2], 4),
        "p99_ms_1m": round(speed[INDEX_SIZES[2]][2], 4),
        "max_ms_1m": round(speed[INDEX_SIZES[2]][3], 4),
        "store_confirmations_per_msg_1m": round(speed[INDEX_SIZES[2]][4], 4),
        "sqlite_rows": sqlite.rows,
        "sqlite_msgs_per_s": round(sqlite.rate),
        "sqlite_p50_ms": round(sqlite.p50, 4),
        "sqlite_p99_ms": round(sqlite.p99, 4),
        "sqlite_max_ms": round(sqlite.worst, 4),
        "index_load_s": round(load.seconds, 2),
        "index_load_s_1m": round(load.seconds, 2) if sqlite.rows == 1_000_000 else None,
        "index_load_cpu_s": round(load.cpu_seconds, 2),
        "index_load_peak_rss_growth_mb": round(load.peak_growth / 1e6, 1),
        "index_load_rss_kept_mb": round(load.kept_growth / 1e6, 1),
        "db_bytes": sqlite.disk_bytes,
        "db_bytes_per_fingerprint": round(db_per_fp, 1),
        "db_mb_per_1m_fingerprints": round(db_per_fp, 1),  # MB of 10^6 bytes, as above
        "bytes_per_fingerprint": round(bytes_per_fp, 1),
        "naive_msgs_per_s_10k": round(naive_rate, 2),
        "speedup_vs_naive_10k": round(speedup, 1),
        "naive_false_flag_rate": round(naive_ff, 6),
        "naive_recall_12plus_words": round(naive_recall, 4),
        "false_flag_rate": round(rate, 6),
        "false_flag_rate_author_exempt": round(rate_exempt, 6),
        "false_flag_rate_no_exemption": round(rate_not_exempt, 6),
        "false_flags_whole_message": flags_whole,
        **{f"recall_{n}_words": round(recalls.get(f"{n}|case+punct", 0.0), 4)
           for n in QUOTE_LENGTHS},
        **{f"recall_{n}_words_changed_word": round(recalls.get(f"{n}|changed word", 0.0), 4)
           for n in QUOTE_LENGTHS},
        "params": {
            **spec.model_dump(include={"k", "w", "min_matches", "whole_message",
                                       "min_tokens_whole", "stop_rooms", "exempt_own_words"}),
            "index": {"k": index.params.k, "w": index.params.w,
                      "min_matches": index.params.min_matches,
                      "min_tokens_whole": index.params.min_tokens_whole,
                      "stop_rooms": index.params.stop_rooms},
        },
        "alternatives": alternatives,
        "short_disclosures": {
            f"whole_from_{shortest}_words": {
                "false_flag_rate": round(figures.false_flag_rate, 6),
                "whole_message_flags": figures.whole_message_flags,
                "recall": round(figures.recall, 4),
            }
            for shortest, figures in shorts.items()
        },
        **{f"recall_{name}": round(value, 4) for name, value in evaded.items()},
        **{f"false_flags_{language}": figures.false_flags
           for language, figures in languages.items()},
        **{f"flagged_{language}": figures.flagged for language, figures in languages.items()},
        **{f"messages_{language}": figures.messages for language, figures in languages.items()},
        **near_figures,
    }
    print(json.dumps(result))
    return 0


# -- near-verbatim quotes (a word or two changed, dropped or swapped) --------------------------

NEAR_CASES = (
    ("one changed word", 20),
    ("dropped word", 20),
    ("adjacent swap", 20),
    ("two changed words", 30),
    ("one changed word", 30),
)


def _near_edit(words: list[str], case: str, vocabulary: Sequence[str],
               rng: random.Random) -> list[str]:
    """One evasion: words changed (anywhere, one or two), one dropped, two adjacent swapped."""
    if case == "dropped word":
        index = rng.randrange(len(words))
        return [*words[:index], *words[index + 1 :]]
    if case == "adjacent swap":
        for _ in range(20):  # two equal neighbours would swap into the same text
            index = rng.randrange(len(words) - 1)
            if words[index].lower() != words[index + 1].lower():
                break
        return [*words[:index], words[index + 1], words[index], *words[index + 2 :]]
    changed = words
    for _ in range(2 if case == "two changed words" else 1):
        changed = _change_word(changed, vocabulary, rng)
    return changed


def make_near_probes(sources: Sequence[Message], hosts: Sequence[Message], per_case: int,
                     rng: random.Random) -> list[Probe]:
    """Quotes of 20 and 30 words, edited for case and punctuation, then by one evasion."""
    vocabulary = [word for message in hosts[:5000] for word in message.text.split()]
    probes: list[Probe] = []
    for case, length in NEAR_CASES:
        eligible = [m for m in sources if len(m.text.split()) >= length]
        for _ in range(per_case if eligible else 0):
            source = rng.choice(eligible)
            host = rng.choice(hosts)
            while host.author == source.author:
                host = rng.choice(hosts)
            words = source.text.split()
            start = rng.randrange(len(words) - length + 1)
            quote = _near_edit(words[start : start + length], case, vocabulary, rng)
            quote = _edit_punctuation(_edit_case(quote, rng), rng)
            host_words = host.text.split()
            cut = rng.randrange(len(host_words) + 1)
            text = " ".join([*host_words[:cut], *quote, *host_words[cut:]])
            probes.append(Probe(host.room, host.author, text, source.room, length, case))
    return probes


def near_table(detector: Detector, inside: Sequence[Message], outside: Sequence[Message],
               plain: Sequence[Probe], flagged: dict[bool, Sequence[Sequence[Suspicion]]],
               per_case: int, rng: random.Random) -> dict[str, Any]:
    """Recall on near-verbatim quotes, what near matching costs in false flags (flags no main
    fingerprint backs), and what it keeps per confidential message."""
    spec = detector.spec
    probes = make_near_probes(inside, outside, per_case, rng)
    recalls: dict[str, list[int]] = {}
    for probe, found in zip(probes, detector.flagged(probes), strict=True):
        case = recalls.setdefault(f"{probe.edit}|{probe.length}", [0, 0])
        case[0] += probe.source in found
        case[1] += 1
    lookup = detector.engine.lookup

    def near_only(probe: Probe, found: Sequence[Suspicion]) -> bool:
        main = lookup.fingerprints(probe.text).values
        return bool(found) and all(not (s.matched & main) for s in found)

    near_flags = {exempt: sum(near_only(p, f) for p, f in zip(plain, flagged[exempt],
                                                                 strict=True))
                  for exempt in flagged}
    near = detector.engine.near
    keeping = sum(1 for m in inside if len(lookup.tokens(m.text)) >= spec.near_min_words)
    near_postings = near.posting_count if near is not None else 0
    near_bytes = near.approximate_bytes() if near is not None else 0
    print(f"\nNear-verbatim quotes (near shingles of {lookup.params.near_k} words, kept by "
          f"messages of {spec.near_min_words}+ words; {spec.near_min_matches} in order in one "
          "source message)")
    line("recall by evasion", "quote words", "recall", "probes")
    result: dict[str, Any] = {}
    for case, length in NEAR_CASES:
        hits, total = recalls.get(f"{case}|{length}", [0, 0])
        line(f"  {case}", length, f"{hits / max(1, total):.2%}", total)
        result[f"near_recall_{case.replace(' ', '_')}_{length}_words"] = round(
            hits / max(1, total), 4)
    for exempt, count in sorted(near_flags.items()):
        label = "with own-words exemption" if exempt else "without the exemption"
        line(f"false flags only near matching raised, {label}", f"{count / len(plain):.4%}",
             f"({count})")
        key = "author_exempt" if exempt else "no_exemption"
        result[f"near_false_flag_rate_{key}"] = round(count / len(plain), 6)
    line("confidential messages keeping near shingles", f"{keeping / len(inside):.2%}",
         f"({keeping:,})")
    line("near rows per confidential message (store)", f"{near_postings / len(inside):.2f}",
         f"main {detector.index.posting_count / len(inside):.2f}")
    line("near index memory per confidential message", f"{near_bytes / len(inside):.0f} B",
         f"({near_bytes / 1e6:.1f} MB)")
    result.update({
        "near_k": lookup.params.near_k,
        "near_min_words": spec.near_min_words,
        "near_min_matches": spec.near_min_matches,
        "near_messages_share": round(keeping / len(inside), 4),
        "near_postings": near_postings,
        "near_rows_per_confidential_message": round(near_postings / len(inside), 3),
        "main_rows_per_confidential_message": round(
            detector.index.posting_count / len(inside), 3),
        "near_index_bytes_per_confidential_message": round(near_bytes / len(inside), 1),
    })
    return result


if __name__ == "__main__":
    raise SystemExit(main())
