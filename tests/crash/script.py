"""The crash harness's event script: what the members do, in order, and where the bot dies.

Everything here follows from the seed alone (one ``random.Random``, no clock, no I/O), so a
run that breaks an invariant can be replayed with the same stream and the same kill points;
``Script.digest`` names the stream in the report. The mix is shaped after a busy support
group: most events are posts (cheap for the bot), with joins (each a reminder, on Matrix an
encrypted private chat), agreements, check-in conversations and quotes of confidential posts
in an ordinary room spread through them. A kill is tied to a step index: the bot is killed
right after that step was sent, after a seeded delay so that it can land mid-handling.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from enum import StrEnum

PLATFORMS = ("matrix", "discord")
QUESTIONS = ("mood", "slept", "support", "note")  # the harness policy's check-in questions
SUPPORT_OPTIONS = ("meeting", "sponsor", "friends", "nothing")
REPLIES_PER_SESSION = len(QUESTIONS) + 2  # consent, the answers, one spare for a resume

JOIN_SHARE = 0.04  # of all events, split between the platforms
AGREE_CHANCE = 0.7  # of joiners
SESSION_SHARE = 0.012  # check-in conversations (each 1 + REPLIES_PER_SESSION events)
QUOTE_SHARE = 0.02
CIRCLE_SHARE = 0.6  # of posts; the rest go to the lobby
MIN_SOURCE_WORDS = 16  # a quote copies 14 to 20 words: above the 12-word guarantee
# A quote comes this many steps after its source, as people quote what they have read:
# a Matrix post takes the bot a moment longer to see than a Discord quote of it.
QUOTE_AFTER = 40
MAX_KILL_DELAY_MS = 400

_WORDS = (
    "morning evening week meeting sponsor family mother father sister brother friend work "
    "job boss rent money sleep dream walk river park coffee tea kitchen garden dog cat "
    "phone call letter message doctor nurse clinic appointment bus train car bike rain "
    "snow sun wind cold warm tired angry calm scared proud lonely hopeful honest quiet "
    "loud early late today yesterday tomorrow again still never always sometimes maybe "
    "really almost enough better worse slowly quickly finally started stopped tried "
    "wanted needed said told asked remembered forgot called wrote read cooked cleaned "
    "waited listened laughed cried slept woke drove walked sat stood left came went "
    "found lost kept gave took held moved stayed felt thought knew hoped worried "
    "birthday holiday weekend night hour minute year month step group room table chair "
    "window door street city village shop market book song film game plan promise "
    "chance choice change habit craving relapse recovery patience courage kindness"
)
VOCABULARY = tuple(_WORDS.split())
LEADS = (
    "in the other group someone said",
    "guess what I heard:",
    "not mine but",
    "a friend of mine told me",
    "overheard today:",
)


class Kind(StrEnum):
    JOIN = "join"  # a joiner joins the confidential circle
    AGREE = "agree"  # a joiner agrees to the circle's reminder
    POST = "post"  # a regular posts in the circle or the lobby
    QUOTE = "quote"  # a regular copies part of a circle post into a lobby
    CHECKIN = "checkin"  # a regular starts a private check-in
    REPLY = "reply"  # a regular replies in their check-in (the driver reads the question)


@dataclass(frozen=True, slots=True)
class Step:
    index: int
    kind: Kind
    platform: str
    member: str  # a member key: "matrix:reg-0", "discord:join-12"
    room: str = ""  # POST and QUOTE: "circle" or "lobby"
    text: str = ""
    source: int = -1  # QUOTE: the index of the circle post it copies from
    session: int = -1  # CHECKIN and REPLY


@dataclass(frozen=True, slots=True)
class Session:
    """One check-in conversation and what the member types for each question."""

    number: int
    platform: str
    member: str
    answers: tuple[tuple[str, str], ...]

    def answer(self, question_id: str) -> str:
        return dict(self.answers)[question_id]


@dataclass(frozen=True, slots=True)
class Kill:
    after: int  # the step index after which the bot is killed
    delay_ms: int


@dataclass(frozen=True)
class Script:
    seed: int
    steps: tuple[Step, ...]
    kills: tuple[Kill, ...]
    sessions: tuple[Session, ...]
    regulars: dict[str, tuple[str, ...]] = field(default_factory=dict)
    joiners: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def digest(self) -> str:
        """Names the stream and kill points: equal seeds and sizes give equal digests."""
        return hashlib.sha256(repr((self.steps, self.kills)).encode()).hexdigest()[:16]

    def count(self, kind: Kind) -> int:
        return sum(1 for step in self.steps if step.kind is kind)


def member_key(platform: str, role: str, number: int) -> str:
    return f"{platform}:{role}-{number}"


def make_script(seed: int, events: int, kills: int, regulars: int = 6) -> Script:
    """``events`` steps, ``kills`` kill points, ``regulars`` long-standing members per
    platform (they post, quote and check in; joiners only join and agree)."""
    if events < 20 or kills < 0 or regulars < 2:
        raise ValueError("at least 20 events and 2 regulars per platform, kills >= 0")
    rng = random.Random(seed)
    plan = _Plan(events)
    regular_keys = {p: tuple(member_key(p, "reg", n) for n in range(regulars)) for p in PLATFORMS}
    joins = max(1, round(events * JOIN_SHARE / 2))
    joiner_keys = {p: tuple(member_key(p, "join", n) for n in range(joins)) for p in PLATFORMS}
    _plan_joins(rng, plan, joiner_keys)
    sessions = _plan_sessions(rng, plan, seed, [k for p in PLATFORMS for k in regular_keys[p]])
    _fill_posts(rng, plan, regular_keys)
    return Script(
        seed=seed,
        steps=tuple(plan.steps()),
        kills=_plan_kills(rng, events, kills),
        sessions=tuple(sessions),
        regulars=regular_keys,
        joiners=joiner_keys,
    )


class _Plan:
    """Steps by index; a step that wants a taken index moves to the next free one."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.slots: dict[int, Step] = {}

    def place(self, wanted: int, make: object) -> int | None:
        for index in range(max(0, wanted), self.size):
            if index not in self.slots:
                self.slots[index] = make(index)  # type: ignore[operator]
                return index
        return None

    def steps(self) -> list[Step]:
        return [self.slots[index] for index in range(self.size)]


def _plan_joins(rng: random.Random, plan: _Plan, joiners: dict[str, tuple[str, ...]]) -> None:
    low, high = round(plan.size * 0.02), round(plan.size * 0.85)
    gap_low, gap_high = max(8, plan.size // 300), max(30, plan.size // 60)
    for platform, keys in joiners.items():
        for key in keys:
            joined = plan.place(
                rng.randint(low, high), lambda i, p=platform, k=key: Step(i, Kind.JOIN, p, k)
            )
            if joined is not None and rng.random() < AGREE_CHANCE:
                plan.place(
                    joined + rng.randint(gap_low, gap_high),
                    lambda i, p=platform, k=key: Step(i, Kind.AGREE, p, k),
                )


def _plan_sessions(rng: random.Random, plan: _Plan, seed: int, members: list[str]) -> list[Session]:
    count = max(2, round(plan.size * SESSION_SHARE))
    low, span = round(plan.size * 0.03), round(plan.size * 0.9)
    free_from = dict.fromkeys(members, 0)  # a member's sessions never overlap
    sessions: list[Session] = []
    for number in range(count):
        member = members[number % len(members)]
        platform = member.split(":", 1)[0]
        session = Session(number, platform, member, _answers(rng, seed, number))
        wanted = max(free_from[member], low + number * span // count + rng.randint(0, 5))
        at = plan.place(
            wanted,
            lambda i, s=session: Step(i, Kind.CHECKIN, s.platform, s.member, session=s.number),
        )
        if at is None:
            break
        sessions.append(session)
        for _ in range(REPLIES_PER_SESSION):
            placed = plan.place(
                at + rng.randint(6, 16),
                lambda i, s=session: Step(i, Kind.REPLY, s.platform, s.member, session=s.number),
            )
            if placed is None:
                break
            at = placed
        free_from[member] = at + 1
    return sessions


def _answers(rng: random.Random, seed: int, number: int) -> tuple[tuple[str, str], ...]:
    """What the member types: a 2-5 mood (1 would be a crisis sign in some policies), and a
    note unique to the session so a stored answer can be told apart from any other."""
    note = f"note {seed}-{number} " + " ".join(rng.choice(VOCABULARY) for _ in range(3))
    return (
        ("mood", str(rng.randint(2, 5))),
        ("slept", rng.choice(("yes", "no"))),
        ("support", rng.choice(SUPPORT_OPTIONS)),
        ("note", note),
    )


def _fill_posts(rng: random.Random, plan: _Plan, regulars: dict[str, tuple[str, ...]]) -> None:
    free = [i for i in range(plan.size) if i not in plan.slots]
    quote_slots = set(
        rng.sample([i for i in free if i >= plan.size * 0.05], k=_quote_count(plan.size, free))
    )
    sources: list[Step] = []  # circle posts long enough to quote
    for index in free:
        platform = rng.choice(PLATFORMS)
        member = rng.choice(regulars[platform])
        usable = (
            [s for s in sources if s.index <= index - QUOTE_AFTER and s.member != member]
            if index in quote_slots
            else []
        )
        if usable:
            source = rng.choice(usable)
            words = source.text.split()
            length = rng.randint(14, min(20, len(words)))
            start = rng.randint(0, len(words) - length)
            text = f"{rng.choice(LEADS)} {' '.join(words[start : start + length])}"
            plan.slots[index] = Step(
                index, Kind.QUOTE, platform, member, "lobby", text, source=source.index
            )
            continue
        room = "circle" if rng.random() < CIRCLE_SHARE else "lobby"
        text = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(6, 30)))
        step = Step(index, Kind.POST, platform, member, room, text)
        plan.slots[index] = step
        if room == "circle" and len(text.split()) >= MIN_SOURCE_WORDS:
            sources.append(step)


def _quote_count(size: int, free: list[int]) -> int:
    eligible = sum(1 for i in free if i >= size * 0.05)
    return min(eligible, max(1, round(size * QUOTE_SHARE)))


def _plan_kills(rng: random.Random, events: int, kills: int) -> tuple[Kill, ...]:
    """One kill in each of ``kills`` equal stretches of the run, so they spread out and
    never fall on the same step."""
    low, high = max(3, round(events * 0.03)), events - 2
    kills = min(kills, max(0, high - low))
    points = []
    for number in range(kills):
        begin = low + (high - low) * number // kills
        end = low + (high - low) * (number + 1) // kills - 1
        points.append(Kill(rng.randint(begin, max(begin, end)), rng.randint(0, MAX_KILL_DELAY_MS)))
    return tuple(points)


def filler(seed: int, index: int) -> str:
    """A post for a step whose conversation has ended: seeded by the step, so a replay
    sends the same words."""
    rng = random.Random(seed * 1_000_003 + index)
    return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(6, 20)))
