"""Scheduled check-ins in the two-process harness: members whose schedules fall due during the
run, and SIGKILLs timed to the moments they fire.

Schedules run on the members' wall clock in whole minutes, so the harness plans them on the
next minute boundaries after the script starts: ``per_minute`` members of each platform get a
daily schedule at each of ``minutes`` boundaries (one schedule, hence one fire, per member).
They are written to the store as ``/checkin schedule`` would (``save_checkin_schedule``), by
members who do nothing else, so every "Time for your scheduled check-in." they receive is one
fire.

Around each boundary two kills: the process that runs members' private messages (shard 0,
with Matrix) right when its tick sends the fires (0.2 to 2.5 s after the boundary: before,
between or after the claim and the sends), and a few seconds later the other one, whose start
sends any fire missed while it was down (bot/checkins/recurring.py ``startup``): a fire that
was claimed, sent, or both, must not go out again. The kill points follow from the seed.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.checkins import words
from bot.store import Store
from bot.store.rows import CheckinSchedule

EVERY_DAY = frozenset(range(7))
LEAD_S = 10.0  # the first boundary is at least this far from the moment the plan is made
MIN_AHEAD_S = 3.0  # a schedule written later than this before its boundary is moved on
FIRE_KILL_S = (0.2, 2.5)  # after a boundary: the firing process is killed
OTHER_KILL_S = (4.0, 8.0)  # after a boundary: the other process is killed
SCHEDULED = words.scheduled_start()


def scheduler_keys(platform: str, count: int) -> tuple[str, ...]:
    return tuple(f"{platform}:sched-{n}" for n in range(count))


@dataclass(frozen=True, slots=True)
class Fire:
    member: str  # key, "discord:sched-3"
    at: datetime  # the boundary, UTC


@dataclass
class ScheduledFires:
    """The plan (members → boundaries) and the kills around each boundary."""

    seed: int
    members: dict[str, Sequence[str]]  # platform → scheduler keys
    minutes: int
    fires: list[Fire] = field(default_factory=list)
    kills: int = 0

    def plan(self, now: datetime, lead_s: float = LEAD_S) -> list[Fire]:
        """Planned when the run starts, so that the wait for the first boundary overlaps
        the setup (``lead_s``: the setup's expected length); ``replan`` if it overran."""
        first = (now + timedelta(seconds=lead_s + 60)).replace(second=0, microsecond=0)
        boundaries = [first + timedelta(minutes=n) for n in range(self.minutes)]
        self.fires = []
        for keys in self.members.values():
            for number, key in enumerate(keys):
                self.fires.append(Fire(key, boundaries[number % len(boundaries)]))
        return self.fires

    def replan(self, now: datetime) -> None:
        """Written too close to (or past) a boundary, a schedule would wait for tomorrow."""
        if self.fires and min(self.boundaries) - now < timedelta(seconds=MIN_AHEAD_S):
            self.plan(now)

    @property
    def boundaries(self) -> list[datetime]:
        return sorted({f.at for f in self.fires})

    async def write(self, store: Store, member_ids: dict[str, str], now: datetime) -> None:
        for fire in self.fires:
            platform = fire.member.split(":", 1)[0]
            await store.save_checkin_schedule(
                CheckinSchedule(
                    platform=platform,
                    member_id=member_ids[fire.member],
                    policy="circle",
                    days=EVERY_DAY,
                    local_time=fire.at.strftime("%H:%M"),
                    zone="UTC",
                    paused=False,
                    snoozed_until=None,
                    last_fired=None,
                    created_at=now,
                )
            )

    async def kill_around_fires(self, kill: Callable[[int], Awaitable[None]]) -> None:
        """At each boundary, kill process 0 as its tick fires, then process 1 (see the
        module doc); ``kill(n)`` kills process ``n`` and starts it again."""
        rng = random.Random(self.seed * 7919 + 17)
        for boundary in self.boundaries:
            for process, (low, high) in ((0, FIRE_KILL_S), (1, OTHER_KILL_S)):
                at = boundary + timedelta(seconds=rng.uniform(low, high))
                wait = (at - datetime.now(UTC)).total_seconds()
                if wait > 0:
                    await asyncio.sleep(wait)
                await kill(process)
                self.kills += 1

    async def all_due(self, margin_s: float) -> None:
        """Until the last boundary is ``margin_s`` behind (bounded by the plan itself)."""
        if not self.fires:
            return
        wait = (max(self.boundaries) - datetime.now(UTC)).total_seconds() + margin_s
        if wait > 0:
            await asyncio.sleep(wait)


@dataclass(frozen=True, slots=True)
class FireCount:
    due: int  # schedules that fell due during the run
    fired: int  # members who got their scheduled check-in
    duplicated: int  # members who got it more than once
    claimed: int  # schedules the store shows fired (last_fired set)
    twice: tuple[str, ...] = ()


def count_fires(
    fires: Sequence[Fire], received: dict[str, list[str]], last_fired: dict[str, datetime | None]
) -> FireCount:
    """``received``: each scheduler's private messages; ``last_fired``: from the store."""
    seen = Counter({f.member: sum(1 for text in received.get(f.member, []) if SCHEDULED in text)
                    for f in fires})
    return FireCount(
        due=len(fires),
        fired=sum(1 for f in fires if seen[f.member] >= 1),
        duplicated=sum(1 for f in fires if seen[f.member] > 1),
        claimed=sum(1 for f in fires if last_fired.get(f.member) == f.at),
        twice=tuple(sorted(f"{f.member} x{seen[f.member]}" for f in fires if seen[f.member] > 1)),
    )
