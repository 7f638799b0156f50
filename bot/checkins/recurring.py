"""Recurring check-ins: the member's schedule commands, and firing them on the core's tick.

The arithmetic (which instants are due, across daylight-saving changes) lives in the pure
:mod:`bot.schedules`; this module keeps the promises that need the store and the clock:

* each due instant starts at most one check-in, because ``last_fired`` is committed
  *before* the check-in is sent (a crash in between loses one, it never repeats one);
* a fire that fell while Confidant was down is sent once on return or skipped, per the
  policy's ``checkins.missed``; a fire while running is simply on time;
* pausing, and the hours of a snooze, leave nothing owed to catch up on afterwards.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from bot import schedules
from bot.actions import Action, SendPrivate
from bot.checkins import words
from bot.checkins.commands import Args, privately
from bot.events import CommandInvoked, Member
from bot.schedules import Schedule, ScheduleError
from bot.store.protocol import Store
from bot.store.rows import CheckinSchedule

if TYPE_CHECKING:
    from bot.checkins.flow import Checkins
    from bot.jobs import PlatformCheck

log = logging.getLogger("confidant.checkins")

MAX_SNOOZE_HOURS = 24 * 14


def as_schedule(row: CheckinSchedule) -> Schedule:
    hour, minute = (int(part) for part in row.local_time.split(":"))
    return Schedule(row.days, time(hour, minute), row.zone, row.paused, row.snoozed_until)


def describe_next(row: CheckinSchedule, after: datetime) -> str:
    """The next fire on the member's own clock, which is the one they think in."""
    fire = schedules.next_fire(as_schedule(row), after)
    if fire is None:
        return words.paused()
    return words.local_time(fire.astimezone(as_schedule(row).tz))


RETRY_FIRE_WITHIN = timedelta(hours=1)
"""A fire not taken by the platform is tried again at later ticks for this long; later, a
check-in hours after its time would surprise more than help."""
_FIRE_KEY = "fire"


def fire_key(member: Member, fire: datetime, previous: datetime | None) -> str:
    """The idempotency key of a fire's first message: which fire, and the ``last_fired`` it
    replaced (to give the claim back). Ids and times only."""
    parts = (_FIRE_KEY, member.platform, member.id, fire.isoformat(),
             previous.isoformat() if previous else "")
    return "\x1f".join(parts)


def parse_fire_key(key: str | None) -> tuple[Member, datetime, datetime | None] | None:
    parts = (key or "").split("\x1f")
    if len(parts) != 5 or parts[0] != _FIRE_KEY:
        return None
    previous = datetime.fromisoformat(parts[4]) if parts[4] else None
    return Member(parts[1], parts[2]), datetime.fromisoformat(parts[3]), previous


class Recurring:
    """One per check-ins; remembers when this run started so that a fire since then counts
    as on time and only earlier ones as missed during downtime."""

    def __init__(self, checkins: Checkins) -> None:
        self.checkins = checkins
        self._running_since: datetime | None = None

    @property
    def store(self) -> Store:
        return self.checkins.core.store

    # -- firing -----------------------------------------------------------------------------
    async def startup(self, mine: PlatformCheck | None = None) -> list[Action]:
        """Fires missed while down: the latest of each schedule once, or none (policy);
        with several processes, of the platforms this one runs (``mine``)."""
        now = self.checkins.core.clock.now()
        self._running_since = now
        return await self._fire_due(now, downtime=True, mine=mine)

    async def tick(self, mine: PlatformCheck | None = None) -> list[Action]:
        """Check-ins whose time came; with several processes (bot/jobs.py), those of the
        platforms whose private messages are this process's (``mine``)."""
        now = self.checkins.core.clock.now()
        if self._running_since is None:  # ticked before startup: nothing was down
            self._running_since = now
        return await self._fire_due(now, downtime=False, mine=mine)

    async def _fire_due(
        self, now: datetime, downtime: bool, mine: PlatformCheck | None = None
    ) -> list[Action]:
        actions: list[Action] = []
        for row in await self.store.checkin_schedules():
            if mine is not None and not await mine(row.platform):
                continue
            spec = self.checkins.spec(row.policy)
            if spec is None:
                continue  # the policy's check-ins went away; the schedule waits for them
            try:
                schedule = as_schedule(row)
            except ScheduleError:
                log.warning("a check-in schedule on %s has an unusable zone", row.platform)
                continue
            since = row.last_fired or row.created_at
            if not downtime and self._running_since is not None:
                since = max(since, self._running_since - timedelta(seconds=1))
            due = schedules.due_fires(schedule, since, now, "once")
            if not due:
                continue
            fire = due[-1]
            # Committed before anything is sent: a crash from here on never sends it twice;
            # moved from what was read, so of two processes finding it due one sends it.
            if not await self.store.claim_checkin_fire(
                row.platform, row.member_id, row.last_fired, fire
            ):
                continue
            if downtime and spec.missed == "skip":
                log.info("a scheduled check-in missed while down was skipped (policy)")
                continue
            member = Member(row.platform, row.member_id)
            started = await self.checkins.start_scheduled(member, row.policy, now)
            if started and isinstance(started[0], SendPrivate):  # its first message
                key = fire_key(member, fire, row.last_fired)
                started[0] = replace(started[0], idempotency_key=key)
            actions += started
        return actions

    async def not_sent_now(self, key: str) -> None:
        """A fire's first message was not taken just now (Discord pausing new private chats
        after too many, a passing server error): nothing of it reached the member, so the
        claim goes back and the check-in opened for it closes, and a later tick fires it
        again, once. Not for a refusal (private messages closed): that stays a fire."""
        parsed = parse_fire_key(key)
        if parsed is None:
            return
        member, fire, previous = parsed
        now = self.checkins.core.clock.now()
        if now - fire > RETRY_FIRE_WITHIN:
            log.info("a scheduled check-in could not be sent within %s; it is skipped",
                     RETRY_FIRE_WITHIN)
            return
        if not await self.store.claim_checkin_fire(member.platform, member.id, fire, previous):
            return  # moved meanwhile (the member changed the schedule): nothing to give back
        await self.checkins.discard_unsent(member, fire)
        log.info("a scheduled check-in was not taken on %s just now; it fires again",
                 member.platform)

    # -- commands ---------------------------------------------------------------------------
    async def cmd_schedule(self, event: CommandInvoked, args: Args) -> list[Action]:
        member, prefix = event.invoker, self.checkins.core.prefix(event.room.platform)
        policy = await self.checkins.policy_for(event.room, member)
        if policy is None or self.checkins.spec(policy.name) is None:
            return [self.checkins.core.reply(event, words.not_set_up(prefix))]
        try:
            days = schedules.parse_days(str(args["days"]))
            local = schedules.parse_time(str(args["time"]))
            schedule = Schedule(days, local, str(args["zone"]).strip())
        except ScheduleError as error:
            return privately(self.checkins, event, words.schedule_refused(str(error), prefix))
        row = CheckinSchedule(
            member.platform, member.id, policy.name, schedule.days,
            local.strftime("%H:%M"), schedule.zone, False, None, None, event.at,
        )
        await self.store.save_checkin_schedule(row)
        log.info("check-in schedule set on %s", member.platform)
        text = words.schedule_set(
            schedules.describe_days(schedule.days), row.local_time, row.zone, prefix
        )
        said = f"{text}\n{words.next_fire(describe_next(row, event.at))}"
        return privately(self.checkins, event, said)

    async def cmd_snooze(self, event: CommandInvoked, args: Args) -> list[Action]:
        hours = args["hours"]
        assert isinstance(hours, int)
        if not 1 <= hours <= MAX_SNOOZE_HOURS:
            return privately(self.checkins, event, words.snooze_range(MAX_SNOOZE_HOURS))
        until = event.at + timedelta(hours=hours)
        who = event.invoker
        if not await self.store.update_checkin_schedule(who.platform, who.id, snoozed_until=until):
            return self._none(event)
        return privately(self.checkins, event, words.snoozed(hours))

    async def cmd_pause(self, event: CommandInvoked, _: Args) -> list[Action]:
        who = event.invoker
        if not await self.store.update_checkin_schedule(who.platform, who.id, paused=True):
            return self._none(event)
        prefix = self.checkins.core.prefix(event.room.platform)
        return privately(self.checkins, event, words.schedule_paused(prefix))

    async def cmd_resume(self, event: CommandInvoked, _: Args) -> list[Action]:
        """Resuming owes nothing for the paused days: they count as fired up to now."""
        who = event.invoker
        updated = await self.store.update_checkin_schedule(
            who.platform, who.id, paused=False, clear_snooze=True, last_fired=event.at
        )
        row = await self.store.checkin_schedule(who.platform, who.id)
        if not updated or row is None:
            return self._none(event)
        return privately(self.checkins, event, words.schedule_resumed(describe_next(row, event.at)))

    async def cmd_stop(self, event: CommandInvoked, _: Args) -> list[Action]:
        who = event.invoker
        if not await self.store.delete_checkin_schedule(who.platform, who.id):
            return self._none(event)
        log.info("check-in schedule removed on %s", who.platform)
        return privately(self.checkins, event, words.schedule_removed())

    def _none(self, event: CommandInvoked) -> list[Action]:
        prefix = self.checkins.core.prefix(event.room.platform)
        return privately(self.checkins, event, words.no_schedule(prefix))
