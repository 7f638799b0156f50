"""Recurring check-ins on the console: set by the member, fired by the core's tick at their
local time on both sides of daylight-saving changes, held by snooze and pause, and kept
once-only across restarts (sent once or skipped per policy, never twice)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import FakeClock
from tests.checkin_rig import CHECKIN_POLICY, checkin_rig, dm, file_block, private_to
from tests.conftest import ConsoleRig, make_config, start_rig

FIRED = "Time for your scheduled check-in."


def fired(who: str, output: str) -> int:
    return private_to(who, output).count(FIRED)


async def consented(rig: ConsoleRig, *members: str) -> None:
    """Each member agreed to the intro once, so a scheduled check-in opens with questions."""
    for who in members:
        await rig.say(*dm(who, "/checkin", "agree", "stop"))


async def tick_at(rig: ConsoleRig, clock: FakeClock, when: datetime) -> str:
    """Move the clock to ``when`` and run the runtime's periodic tick there."""
    assert when >= clock.now()
    await clock.advance(when - clock.now())
    start = len(rig.out.getvalue())
    await rig.app.runtime.tick()
    return rig.out.getvalue()[start:]


def local(day: datetime, zone: str, hour: int = 9) -> datetime:
    """``hour``:00 on the wall clock of ``zone`` that day, as a UTC instant."""
    wall = datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZoneInfo(zone))
    return wall.astimezone(UTC)


async def test_schedule_fires_privately_at_the_local_time(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))  # a Monday
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        out = await rig.say(
            ":room recovery", "alice: /checkin schedule mon,thu 09:00 Europe/Berlin"
        )
        assert "[only alice sees, #recovery] Sent to you privately." in out
        told = private_to("alice", out)
        assert "mon,thu at 09:00 (Europe/Berlin)" in told and "Thu 2026-01-08 09:00 CET" in told
        thursday = datetime(2026, 1, 8, 8, 0, tzinfo=UTC)  # 09:00 in Berlin (CET)
        out = await tick_at(rig, clock, thursday - timedelta(minutes=1))
        assert fired("alice", out) == 0
        out = await tick_at(rig, clock, thursday)
        assert fired("alice", out) == 1 and "Question 1 of 4" in private_to("alice", out)
        assert "[#recovery]" not in out  # nothing of it in the room
        out = await tick_at(rig, clock, thursday + timedelta(minutes=1))
        assert fired("alice", out) == 0  # once per due instant
        await rig.say(*dm("alice", "stop"))
        # Friday to Sunday are not scheduled; Monday is
        for day in (9, 10, 11, 12):
            out = await tick_at(rig, clock, datetime(2026, 1, day, 8, 0, tzinfo=UTC))
            assert fired("alice", out) == (1 if day == 12 else 0), day


async def test_nine_stays_nine_local_across_dst_in_two_zones(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 5, 16, 0, tzinfo=UTC))
    zones = {"alice": "Europe/Berlin", "bob": "America/New_York"}
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, *zones)
        for who, zone in zones.items():
            out = await rig.say(*dm(who, f"/checkin schedule daily 09:00 {zone}"))
            assert "daily at 09:00" in private_to(who, out)
        # New York springs forward on 8 March 2026, Berlin on 29 March: UTC hours move.
        assert local(datetime(2026, 3, 7), "America/New_York").hour == 14
        assert local(datetime(2026, 3, 9), "America/New_York").hour == 13
        assert local(datetime(2026, 3, 28), "Europe/Berlin").hour == 8
        assert local(datetime(2026, 3, 30), "Europe/Berlin").hour == 7
        # every morning from before one change to after the other, as the runtime ticks
        days = [datetime(2026, 3, 6) + timedelta(days=n) for n in range(25)]
        due = sorted((local(day, zone), who) for day in days for who, zone in zones.items())
        for when, who in due:
            other = next(w for w in zones if w != who)
            out = await tick_at(rig, clock, when - timedelta(minutes=1))
            assert fired(who, out) == 0, (who, when)
            out = await tick_at(rig, clock, when)
            assert (fired(who, out), fired(other, out)) == (1, 0), (who, when)
            shown = when.astimezone(ZoneInfo(zones[who]))
            assert (shown.hour, shown.minute) == (9, 0)
            await rig.say(*dm(who, "stop"))


async def test_snooze_pause_resume_and_stop(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    berlin = "Europe/Berlin"
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", f"/checkin schedule daily 09:00 {berlin}"))

        async def fires_on(day: int) -> int:
            out = await tick_at(rig, clock, local(datetime(2026, 1, day), berlin))
            await rig.say(*dm("alice", "stop"))
            return fired("alice", out)

        assert await fires_on(6) == 1
        await clock.advance(timedelta(hours=2))
        out = await rig.say(*dm("alice", "/checkin snooze 30"))
        assert "no scheduled check-in for the next 30 hours" in out
        assert await fires_on(7) == 0  # inside the snooze
        assert await fires_on(8) == 1  # after it, and nothing owed for the 7th
        out = await rig.say(*dm("alice", "/checkin pause"))
        assert "paused" in out
        assert await fires_on(9) == 0
        assert await fires_on(10) == 0
        await clock.advance(timedelta(hours=3))
        out = await rig.say(*dm("alice", "/checkin resume"))
        assert "on again; the next one is Sun 2026-01-11 09:00 CET" in out
        assert fired("alice", await tick_at(rig, clock, clock.now() + timedelta(minutes=1))) == 0
        assert await fires_on(11) == 1
        out = await rig.say(*dm("alice", "/checkin stop"))
        assert "schedule is removed" in out
        assert await rig.app.store.checkin_schedule("console", "alice") is None
        assert await fires_on(12) == 0
        out = await rig.say(*dm("alice", "/checkin pause"))
        assert "You have no check-in schedule" in out


async def test_friendly_errors_and_nothing_stored(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        for args, expected in (
            ("funday 09:00 Europe/Berlin", "I don't recognise 'funday' as a day"),
            ("mon 25:00 Europe/Berlin", "isn't a time of day"),
            ("mon 09:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
            ("mon 09:00 Factory", "'Factory' is not the time zone of a place"),
            ("mon 09:00 localtime", "such as 'Europe/Berlin'"),
            ("mon 09:00 posixrules", "not the time zone of a place"),
        ):
            out = await rig.say(*dm("alice", f"/checkin schedule {args}"))
            assert "could not set that schedule" in out and expected in out, out
        out = await rig.say(*dm("alice", "/checkin snooze 0"))
        assert "Snooze for 1 to" in out
        assert await rig.app.store.checkin_schedules() == []


async def restarted(tmp_path: Path, clock: FakeClock) -> ConsoleRig:
    return await start_rig(make_config(tmp_path), clock)


async def missed_while_down(tmp_path: Path, policy: str) -> list[int]:
    """Fires seen: at the first restart (three mornings missed), a tick after it, and a
    second restart; the schedule was made on Monday, the bot went down before Tuesday 09:00."""
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    async with checkin_rig(tmp_path, policy, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", "/checkin schedule daily 09:00 Europe/Berlin"))
    await clock.advance(timedelta(days=3))  # Thursday 12:00 UTC: Tue, Wed, Thu missed
    seen = []
    rig = await restarted(tmp_path, clock)
    try:
        seen.append(fired("alice", rig.out.getvalue()))
        await rig.say(*dm("alice", "stop"))
        seen.append(fired("alice", await tick_at(rig, clock, clock.now() + timedelta(minutes=5))))
    finally:
        await rig.app.close()
    await clock.advance(timedelta(minutes=5))
    rig = await restarted(tmp_path, clock)
    try:
        seen.append(fired("alice", rig.out.getvalue()))
        # and the next morning fires on time as usual
        seen.append(fired("alice", await tick_at(rig, clock, datetime(2026, 1, 9, 8, tzinfo=UTC))))
        row = await rig.app.store.checkin_schedule("console", "alice")
        assert row is not None and row.last_fired == datetime(2026, 1, 9, 8, tzinfo=UTC)
    finally:
        await rig.app.close()
    return seen


async def test_restart_sends_a_missed_checkin_once(tmp_path: Path) -> None:
    assert await missed_while_down(tmp_path, CHECKIN_POLICY) == [1, 0, 0, 1]


async def test_restart_skips_a_missed_checkin_when_the_policy_says_so(tmp_path: Path) -> None:
    assert await missed_while_down(tmp_path, CHECKIN_POLICY + "  missed: skip\n") == [0, 0, 0, 1]


async def test_last_fired_is_saved_before_the_checkin_is_sent(tmp_path: Path) -> None:
    """A crash after the send started: the restart does not send it again."""
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", "/checkin schedule daily 09:00 Europe/Berlin"))
        checkins = rig.app.core.checkins
        assert checkins is not None
        store = rig.app.store
        seen: list[object] = []

        async def crash(*_: object) -> list[object]:
            row = await store.checkin_schedule("console", "alice")
            seen.append(row.last_fired if row else None)
            raise RuntimeError("crash while sending")

        checkins.start_scheduled = crash  # type: ignore[method-assign,assignment]
        with contextlib.suppress(RuntimeError):
            await tick_at(rig, clock, datetime(2026, 1, 6, 8, tzinfo=UTC))
        assert seen == [datetime(2026, 1, 6, 8, tzinfo=UTC)]
    await clock.advance(timedelta(hours=1))
    rig = await restarted(tmp_path, clock)
    try:
        assert fired("alice", rig.out.getvalue()) == 0
    finally:
        await rig.app.close()


async def test_mydata_lists_and_forgetme_removes_the_schedule(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(*dm("alice", "/checkin schedule mon-fri 7:30am America/New_York"))
        await rig.say(*dm("bob", "/checkin schedule daily 21:00 Europe/Berlin"))
        text = private_to("alice", await rig.say(*dm("alice", "/mydata")))
        data = json.loads(file_block(text, "confidant-mydata.json"))
        [schedule] = data["checkin_schedules"]
        assert (schedule["days"], schedule["local_time"], schedule["zone"]) == (
            "0,1,2,3,4", "07:30", "America/New_York"
        )
        assert "Europe/Berlin" not in json.dumps(data)  # bob's
        await rig.say(*dm("alice", "/forgetme confirm"))
        assert await rig.app.store.checkin_schedule("console", "alice") is None
        assert await rig.app.store.checkin_schedule("console", "bob") is not None


async def test_a_time_the_clock_skips_fires_once_when_it_jumps(tmp_path: Path) -> None:
    """02:30 does not happen in Berlin on 29 March 2026: the check-in comes at 03:00 CEST."""
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", "/checkin schedule sun 02:30 Europe/Berlin"))
        jump = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 CET becomes 03:00 CEST
        assert fired("alice", await tick_at(rig, clock, jump - timedelta(minutes=1))) == 0
        assert fired("alice", await tick_at(rig, clock, jump)) == 1
        await rig.say(*dm("alice", "stop"))
        assert fired("alice", await tick_at(rig, clock, jump + timedelta(hours=2))) == 0
