"""Recurring check-ins across daylight-saving changes: the promise made to members.

Expected instants are written in UTC from the published transition dates (checked by hand
against the offsets, not produced by the code under test), so a wrong conversion fails.

2026 transitions used below:
  Europe/Berlin     Mar 29 02:00 CET  -> 03:00 CEST (01:00Z);
                    Oct 25 03:00 CEST -> 02:00 CET  (01:00Z)
  America/New_York  Mar  8 02:00 EST  -> 03:00 EDT  (07:00Z);
                    Nov  1 02:00 EDT  -> 01:00 EST  (06:00Z)
  Australia/Sydney  Apr  5 03:00 AEDT -> 02:00 AEST (Apr 4 16:00Z);
                    Oct  4 02:00 AEST -> 03:00 AEDT (Oct 3 16:00Z)
  Asia/Tokyo        always +09:00
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.schedules import (
    EVERY_DAY,
    WEEKDAYS,
    Schedule,
    ScheduleError,
    describe_days,
    due_fires,
    next_fire,
    parse_days,
    parse_time,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fires(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    moment = after
    for _ in range(count):
        nxt = next_fire(schedule, moment)
        assert nxt is not None
        out.append(nxt)
        moment = nxt
    return out


def fires_until(schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
    out: list[datetime] = []
    moment = after
    for _ in range(1000):  # bounded: a test window never holds this many
        nxt = next_fire(schedule, moment)
        if nxt is None or nxt > until:
            return out
        out.append(nxt)
        moment = nxt
    raise AssertionError("runaway schedule")


def local_walls(schedule: Schedule, instants: list[datetime]) -> list[datetime]:
    tz = ZoneInfo(schedule.zone)
    return [i.astimezone(tz).replace(tzinfo=None) for i in instants]


# --- 09:00 stays 09:00 on both sides of each change -------------------------------------


@pytest.mark.parametrize(
    ("zone", "after", "expected"),
    [
        (  # Berlin spring forward: 09:00 CET = 08:00Z, then 09:00 CEST = 07:00Z
            "Europe/Berlin",
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)],
        ),
        (  # Berlin fall back
            "Europe/Berlin",
            utc(2026, 10, 23, 12),
            [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)],
        ),
        (  # New York spring forward: 09:00 EST = 14:00Z, 09:00 EDT = 13:00Z
            "America/New_York",
            utc(2026, 3, 6, 20),
            [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)],
        ),
        (  # New York fall back
            "America/New_York",
            utc(2026, 10, 30, 20),
            [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)],
        ),
        (  # Sydney (southern hemisphere) DST ends in April: 09:00 AEDT = 22:00Z prev day
            "Australia/Sydney",
            utc(2026, 4, 3, 0),
            [utc(2026, 4, 3, 22), utc(2026, 4, 4, 23), utc(2026, 4, 5, 23)],
        ),
        (  # Sydney DST starts in October
            "Australia/Sydney",
            utc(2026, 10, 2, 0),
            [utc(2026, 10, 2, 23), utc(2026, 10, 3, 22), utc(2026, 10, 4, 22)],
        ),
        (  # Tokyo has no DST: 09:00 JST = 00:00Z through both European changes
            "Asia/Tokyo",
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 28, 0), utc(2026, 3, 29, 0), utc(2026, 3, 30, 0)],
        ),
    ],
)
def test_nine_oclock_stays_nine_oclock(
    zone: str, after: datetime, expected: list[datetime]
) -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), zone)
    got = fires(schedule, after, 3)
    assert got == expected
    assert all(wall.time() == time(9, 0) for wall in local_walls(schedule, got))
    assert all(f.tzinfo is not None and f.utcoffset() == timedelta(0) for f in got)


def test_tokyo_is_the_same_utc_instant_all_year() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Asia/Tokyo")
    got = fires(schedule, utc(2025, 12, 31, 12), 365)
    assert {(f.hour, f.minute) for f in got} == {(0, 0)}
    assert got[-1] == utc(2026, 12, 31, 0)


# --- a time inside the spring-forward gap fires once, when the clock jumps --------------


@pytest.mark.parametrize(
    ("zone", "local_time", "after", "expected"),
    [
        (  # 02:30 does not exist in Berlin on Mar 29: fires at 03:00 CEST = 01:00Z
            "Europe/Berlin",
            time(2, 30),
            utc(2026, 3, 27, 12),
            [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)],
        ),
        (  # 02:30 does not exist in New York on Mar 8: 03:00 EDT = 07:00Z
            "America/New_York",
            time(2, 30),
            utc(2026, 3, 6, 12),
            [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)],
        ),
        (  # 02:00 exactly is the first nonexistent minute; still fires at the jump
            "America/New_York",
            time(2, 0),
            utc(2026, 3, 6, 12),
            [utc(2026, 3, 7, 7, 0), utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 0)],
        ),
        (  # Sydney skips 02:00-03:00 on Oct 4: 03:00 AEDT = Oct 3 16:00Z
            "Australia/Sydney",
            time(2, 30),
            utc(2026, 10, 2, 0),
            [utc(2026, 10, 2, 16, 30), utc(2026, 10, 3, 16, 0), utc(2026, 10, 4, 15, 30)],
        ),
    ],
)
def test_time_in_the_gap_fires_once_at_the_jump(
    zone: str, local_time: time, after: datetime, expected: list[datetime]
) -> None:
    schedule = Schedule(EVERY_DAY, local_time, zone)
    got = fires(schedule, after, 3)
    assert got == expected
    walls = local_walls(schedule, got)
    assert walls[1].time() == time(3, 0)  # the first valid instant after the gap
    assert len({w.date() for w in walls}) == 3  # one each day, the gap day included


def test_gap_day_fire_is_not_repeated_later_that_day() -> None:
    schedule = Schedule(EVERY_DAY, time(2, 30), "Europe/Berlin")
    gap_fire = utc(2026, 3, 29, 1, 0)
    # Asking from just after the gap fire (e.g. 03:30 CEST, the reading Python would give
    # 02:30 CET) must move on to the next day, not fire "02:30" a second time.
    assert next_fire(schedule, gap_fire) == utc(2026, 3, 30, 0, 30)
    assert next_fire(schedule, utc(2026, 3, 29, 1, 29, 59)) == utc(2026, 3, 30, 0, 30)


def test_whole_skipped_day_does_not_double_up() -> None:
    """Samoa skipped Friday 2011-12-30 entirely; no local day gets two check-ins."""
    daily = Schedule(EVERY_DAY, time(9, 0), "Pacific/Apia")
    got = fires(daily, utc(2011, 12, 28, 12), 4)
    walls = local_walls(daily, got)
    assert [w.date() for w in walls] == [
        date(2011, 12, 28),
        date(2011, 12, 29),
        date(2011, 12, 31),
        date(2012, 1, 1),
    ]
    assert all(w.time() == time(9, 0) for w in walls)

    fridays = Schedule(frozenset({FRI}), time(9, 0), "Pacific/Apia")
    # The skipped Friday's check-in is not lost: it comes when the clock lands (Sat 00:00).
    assert next_fire(fridays, utc(2011, 12, 25)) == utc(2011, 12, 30, 10, 0)


def test_gap_past_midnight_still_owes_that_days_check_in() -> None:
    """Nuuk jumps from Sat 23:00 (-02) to Sun 00:00 (-01) on 2026-03-29 01:00Z."""
    schedule = Schedule(EVERY_DAY, time(23, 30), "America/Nuuk")
    got = fires(schedule, utc(2026, 3, 27, 12), 3)
    assert got == [
        utc(2026, 3, 28, 1, 30),  # Fri 23:30 -02
        utc(2026, 3, 29, 1, 0),  # Saturday's 23:30 never happens: sent at the jump
        utc(2026, 3, 30, 0, 30),  # Sun 23:30 -01, Sunday's own
    ]
    saturdays = Schedule(frozenset({SAT}), time(23, 30), "America/Nuuk")
    assert next_fire(saturdays, utc(2026, 3, 27, 12)) == utc(2026, 3, 29, 1, 0)


# --- a time inside the repeated hour fires once, at its first occurrence ----------------


@pytest.mark.parametrize(
    ("zone", "local_time", "after", "first", "second_reading", "next_day"),
    [
        (  # Berlin 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET) on Oct 25
            "Europe/Berlin",
            time(2, 30),
            utc(2026, 10, 24, 12),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 25, 1, 30),
            utc(2026, 10, 26, 1, 30),
        ),
        (  # New York 01:30 happens at 05:30Z (EDT) and 06:30Z (EST) on Nov 1
            "America/New_York",
            time(1, 30),
            utc(2026, 10, 31, 12),
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 1, 6, 30),
            utc(2026, 11, 2, 6, 30),
        ),
        (  # Sydney 02:30 happens at 15:30Z (AEDT) and 16:30Z (AEST) on Apr 4 UTC
            "Australia/Sydney",
            time(2, 30),
            utc(2026, 4, 4, 0),
            utc(2026, 4, 4, 15, 30),
            utc(2026, 4, 4, 16, 30),
            utc(2026, 4, 5, 16, 30),
        ),
    ],
)
def test_time_in_the_repeated_hour_fires_once(
    zone: str,
    local_time: time,
    after: datetime,
    first: datetime,
    second_reading: datetime,
    next_day: datetime,
) -> None:
    schedule = Schedule(EVERY_DAY, local_time, zone)
    tz = ZoneInfo(zone)
    # Both instants really do read the same on the wall clock...
    assert first.astimezone(tz).time() == second_reading.astimezone(tz).time() == local_time
    # ...but only the first is a fire, and the next one is a day later.
    assert fires(schedule, after, 2) == [first, next_day]
    assert next_fire(schedule, first) == next_day
    assert next_fire(schedule, second_reading - timedelta(minutes=1)) == next_day


# --- weekly days, strictness, pause and snooze ------------------------------------------


def test_weekly_days_honoured_across_spring_forward() -> None:
    schedule = Schedule(frozenset({MON, WED, FRI}), time(18, 45), "Europe/Berlin")
    got = fires(schedule, utc(2026, 3, 22), 6)
    assert got == [
        utc(2026, 3, 23, 17, 45),  # Mon, CET
        utc(2026, 3, 25, 17, 45),  # Wed
        utc(2026, 3, 27, 17, 45),  # Fri
        utc(2026, 3, 30, 16, 45),  # Mon, CEST
        utc(2026, 4, 1, 16, 45),  # Wed
        utc(2026, 4, 3, 16, 45),  # Fri
    ]
    assert [w.weekday() for w in local_walls(schedule, got)] == [MON, WED, FRI] * 2


def test_weekday_is_the_members_local_day_not_utc() -> None:
    # Monday 08:00 in Tokyo is Sunday 23:00Z: the day is judged on the member's calendar.
    schedule = Schedule(frozenset({MON}), time(8, 0), "Asia/Tokyo")
    assert next_fire(schedule, utc(2026, 6, 1)) == utc(2026, 6, 7, 23, 0)


def test_next_fire_is_strictly_after() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "America/New_York")
    fire = utc(2026, 6, 1, 13)
    assert next_fire(schedule, fire - timedelta(microseconds=1)) == fire
    assert next_fire(schedule, fire) == utc(2026, 6, 2, 13)


def test_after_in_another_offset_is_understood() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Europe/Berlin")
    after = datetime(2026, 6, 1, 8, 59, tzinfo=ZoneInfo("Europe/Berlin"))
    assert next_fire(schedule, after) == utc(2026, 6, 1, 7, 0)


def test_paused_never_fires() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Europe/Berlin", paused=True)
    assert next_fire(schedule, utc(2026, 3, 28)) is None
    assert due_fires(schedule, utc(2026, 3, 1), utc(2026, 4, 1), "once") == []


def test_snooze_delays_to_the_first_fire_not_before_it() -> None:
    base = Schedule(EVERY_DAY, time(9, 0), "Europe/Berlin")
    snoozed = Schedule(
        base.days, base.local_time, base.zone, snoozed_until=utc(2026, 3, 29, 12)
    )
    # Snoozed over the spring change: the first fire is Monday 09:00 CEST.
    assert next_fire(snoozed, utc(2026, 3, 27, 12)) == utc(2026, 3, 30, 7)
    # A snooze ending exactly on a fire lets that fire through.
    exact = Schedule(base.days, base.local_time, base.zone, snoozed_until=utc(2026, 3, 29, 7))
    assert next_fire(exact, utc(2026, 3, 27, 12)) == utc(2026, 3, 29, 7)
    # A snooze in the past changes nothing.
    assert next_fire(snoozed, utc(2026, 4, 2, 12)) == next_fire(base, utc(2026, 4, 2, 12))


def test_snooze_in_another_offset_is_normalised_to_utc() -> None:
    until = datetime(2026, 3, 29, 14, tzinfo=ZoneInfo("Europe/Berlin"))
    schedule = Schedule(EVERY_DAY, time(9, 0), "Europe/Berlin", snoozed_until=until)
    assert schedule.snoozed_until == utc(2026, 3, 29, 12)
    assert schedule.snoozed_until.tzinfo is UTC


# --- validation -------------------------------------------------------------------------


def test_unknown_zone_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match=r"unknown time zone 'Mars/Olympus_Mons'.*IANA"):
        Schedule(EVERY_DAY, time(9), "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="unknown time zone"):
        Schedule(EVERY_DAY, time(9), "../../etc/passwd")
    with pytest.raises(ValueError, match="time zone is needed"):
        Schedule(EVERY_DAY, time(9), "  ")


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (frozenset(), "at least one day"),
        (frozenset({7}), "0 \\(Monday\\) to 6"),
        (frozenset({-1}), "0 \\(Monday\\) to 6"),
        (frozenset({True}), "0 \\(Monday\\) to 6"),
    ],
)
def test_bad_days_are_refused(days: frozenset[int], message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule(days, time(9), "Europe/Berlin")


def test_wall_clock_time_must_be_naive_and_instants_aware() -> None:
    with pytest.raises(ScheduleError, match="wall-clock"):
        Schedule(EVERY_DAY, time(9, tzinfo=UTC), "Europe/Berlin")
    with pytest.raises(ValueError, match="snoozed_until"):
        Schedule(EVERY_DAY, time(9), "Europe/Berlin", snoozed_until=datetime(2026, 1, 1))
    schedule = Schedule(EVERY_DAY, time(9), "Europe/Berlin")
    with pytest.raises(ValueError, match="after"):
        next_fire(schedule, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="now"):
        due_fires(schedule, utc(2026, 1, 1), datetime(2026, 1, 2), "once")


def test_schedule_normalises_inputs() -> None:
    a = Schedule({MON, FRI}, time(9, 0, fold=1), "Europe/Berlin")  # type: ignore[arg-type]
    b = Schedule(frozenset({FRI, MON}), time(9, 0), "Europe/Berlin")
    assert a == b
    assert isinstance(a.days, frozenset)
    assert a.local_time.fold == 0


# --- restarts: missed check-ins are sent once or skipped, never twice -------------------


def test_downtime_across_spring_forward_sends_latest_once() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Europe/Berlin")
    last = utc(2026, 3, 27, 8)  # Fri 09:00 CET sent
    now = utc(2026, 3, 30, 12)  # back on Monday afternoon; Sat, Sun, Mon were missed
    assert due_fires(schedule, last, now, "once") == [utc(2026, 3, 30, 7)]
    assert due_fires(schedule, last, now, "skip") == []
    # A second restart after the catch-up was sent finds nothing more.
    assert due_fires(schedule, utc(2026, 3, 30, 7), now, "once") == []
    assert due_fires(schedule, utc(2026, 3, 30, 7), utc(2026, 3, 31, 6, 59), "once") == []


def test_downtime_across_fall_back_with_repeated_time_sends_one() -> None:
    schedule = Schedule(EVERY_DAY, time(1, 30), "America/New_York")
    first = utc(2026, 11, 1, 5, 30)  # 01:30 EDT, the fire
    repeat = utc(2026, 11, 1, 6, 30)  # 01:30 EST, not a fire
    # Down from Saturday's fire until just after the repeated 01:30.
    got = due_fires(schedule, utc(2026, 10, 31, 5, 30), repeat + timedelta(minutes=5), "once")
    assert got == [first]
    # Restarting again between the two readings of 01:30 must not send the second.
    assert due_fires(schedule, first, repeat, "once") == []
    assert due_fires(schedule, first, repeat + timedelta(hours=1), "once") == []


def test_downtime_over_the_gap_sends_the_gap_fire_once() -> None:
    schedule = Schedule(EVERY_DAY, time(2, 30), "Europe/Berlin")
    gap_fire = utc(2026, 3, 29, 1, 0)
    got = due_fires(schedule, utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 2, 0), "once")
    assert got == [gap_fire]
    assert due_fires(schedule, gap_fire, utc(2026, 3, 29, 23, 0), "once") == []


def test_fire_exactly_at_restart_counts_as_due() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Asia/Tokyo")
    assert due_fires(schedule, utc(2026, 5, 1, 0), utc(2026, 5, 2, 0), "once") == [
        utc(2026, 5, 2, 0)
    ]
    assert due_fires(schedule, utc(2026, 5, 1, 0), utc(2026, 5, 1, 23, 59), "once") == []


def test_never_fired_schedule_has_nothing_to_catch_up() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Asia/Tokyo")
    assert due_fires(schedule, None, utc(2026, 5, 2, 12), "once") == []


def test_snoozed_fires_are_not_missed_fires() -> None:
    schedule = Schedule(
        EVERY_DAY, time(9, 0), "Europe/Berlin", snoozed_until=utc(2026, 3, 31, 12)
    )
    assert due_fires(schedule, utc(2026, 3, 27, 8), utc(2026, 3, 31, 10), "once") == []
    assert due_fires(schedule, utc(2026, 3, 27, 8), utc(2026, 4, 1, 10), "once") == [
        utc(2026, 4, 1, 7)
    ]


def test_unknown_catch_up_mode_is_refused() -> None:
    schedule = Schedule(EVERY_DAY, time(9, 0), "Asia/Tokyo")
    with pytest.raises(ValueError, match="catch_up"):
        due_fires(schedule, utc(2026, 5, 1), utc(2026, 5, 2), "all")


@pytest.mark.parametrize("catch_up", ["once", "skip"])
def test_a_year_of_crashes_never_sends_twice(catch_up: str) -> None:
    """A bot that crashes often through both 2026 changes: every send unique, none early."""
    schedule = Schedule(frozenset({MON, THU, SAT, SUN}), time(2, 30), "Europe/Berlin")
    tz = ZoneInfo("Europe/Berlin")
    sent: list[datetime] = []
    last: datetime | None = utc(2026, 1, 1)
    now = utc(2026, 1, 1)
    end = utc(2027, 1, 1)
    uptime, downtime = timedelta(days=9, hours=5), timedelta(days=4, hours=7)
    for _ in range(200):  # bounded: about 27 up/down cycles cover the year
        if now >= end:
            break
        # Up: send each fire as it comes.
        up_until = min(now + uptime, end)
        for fire in fires_until(schedule, now, up_until):
            sent.append(fire)
            last = fire
        # Down, then restart.
        now = up_until + downtime
        for fire in due_fires(schedule, last, now, catch_up):
            sent.append(fire)
            last = fire
    assert now >= end
    assert len(sent) == len(set(sent))
    assert sent == sorted(sent)
    every = set(fires_until(schedule, utc(2026, 1, 1), now))
    assert set(sent) <= every
    local_days = [s.astimezone(tz).date() for s in sent]
    assert len(local_days) == len(set(local_days))
    # Both change days are Sundays; the gap day fires at 03:00, the fold day at first 02:30.
    if catch_up == "once":
        assert len(sent) > len(every) // 2
    walls = {s.astimezone(tz).date(): s.astimezone(tz) for s in every}
    assert walls[date(2026, 3, 29)].time() == time(3, 0)
    assert walls[date(2026, 10, 25)].utcoffset() == timedelta(hours=2)


# --- parsing what members type ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mon,wed,fri", {MON, WED, FRI}),
        ("Mon, Wed,  FRI", {MON, WED, FRI}),
        ("monday wednesday friday", {MON, WED, FRI}),
        ("tues thurs", {TUE, THU}),
        ("weekdays", {MON, TUE, WED, THU, FRI}),
        ("daily", set(range(7))),
        ("every day", set(range(7))),
        ("weekends", {SAT, SUN}),
        ("mon-fri", {MON, TUE, WED, THU, FRI}),
        ("fri - mon", {FRI, SAT, SUN, MON}),
        ("sun,sun,sunday", {SUN}),
    ],
)
def test_parse_days_accepts_what_people_type(text: str, expected: set[int]) -> None:
    assert parse_days(text) == frozenset(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "which days"),
        (" , ", "which days"),
        ("mnday", "don't recognise 'mnday'"),
        ("mon,funday", "don't recognise 'funday'"),
        ("mo", "don't recognise 'mo'"),
        ("mon-", "don't recognise ''"),
    ],
)
def test_parse_days_explains_mistakes(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message) as info:
        parse_days(text)
    assert "mon,wed,fri" in str(info.value) or "which days" in str(info.value)


def test_parse_days_error_does_not_echo_long_input() -> None:
    junk = "x" * 500
    with pytest.raises(ScheduleError) as info:
        parse_days(junk)
    assert len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00", time(9, 0)),
        ("9:00", time(9, 0)),
        ("21:30", time(21, 30)),
        ("00:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("7.15", time(7, 15)),
        ("9am", time(9, 0)),
        ("9:30 PM", time(21, 30)),
        ("12am", time(0, 0)),
        ("12pm", time(12, 0)),
        (" 08:05 ", time(8, 5)),
    ],
)
def test_parse_time_accepts_what_people_type(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25:00", "isn't a time of day"),
        ("09:60", "isn't a time of day"),
        ("9", "needs minutes or am/pm"),
        ("13pm", "hour is 1 to 12"),
        ("0am", "hour is 1 to 12"),
        ("noon-ish", "isn't a time I understand"),
        ("", "isn't a time I understand"),
        ("9:5", "isn't a time I understand"),
    ],
)
def test_parse_time_explains_mistakes(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message) as info:
        parse_time(text)
    assert isinstance(info.value, ValueError)


def test_describe_days_round_trips_through_parse_days() -> None:
    for days in (EVERY_DAY, WEEKDAYS, frozenset({MON, WED, FRI}), frozenset({SUN})):
        assert parse_days(describe_days(days)) == days
    assert describe_days(frozenset({SUN, MON})) == "mon,sun"


# --- properties over two years ----------------------------------------------------------

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # changes at midnight, so 00:xx is the gap
    "Europe/Dublin",  # tzdata models winter as negative DST
    "America/Nuuk",  # jumps from Saturday 23:00 straight to Sunday 00:00
]
START, END = datetime(2025, 1, 1), datetime(2026, 12, 31)

# Times near the usual transition hours are where bugs live, so they are drawn often.
times_st = st.one_of(
    st.builds(time, st.integers(0, 3), st.sampled_from([0, 1, 15, 30, 45, 59])),
    st.times(),
)
schedules_st = st.builds(
    Schedule,
    days=st.frozensets(st.integers(0, 6), min_size=1),
    local_time=times_st,
    zone=st.sampled_from(ZONES),
)
# Starting points near the spring and autumn changes of both hemispheres, or anywhere.
near_changes_st = st.builds(
    lambda year, month, day, hour: datetime(year, month, day, hour, tzinfo=UTC),
    st.sampled_from([2025, 2026]),
    st.sampled_from([3, 4, 9, 10, 11]),
    st.integers(1, 28),
    st.integers(0, 23),
)
instants_st = st.one_of(
    near_changes_st,
    st.datetimes(min_value=START, max_value=END, timezones=st.just(UTC)),
)


@settings(max_examples=150, deadline=None)
@given(schedule=schedules_st, after=instants_st)
def test_iterated_fires_keep_every_promise(schedule: Schedule, after: datetime) -> None:
    tz = ZoneInfo(schedule.zone)
    got = fires(schedule, after, 30)

    # Strictly increasing, starting after `after`, always aware UTC.
    assert got[0] > after
    assert all(a < b for a, b in itertools.pairwise(got))
    assert all(f.utcoffset() == timedelta(0) for f in got)

    owners: list[date] = []  # the scheduled day each fire is for
    calendar: list[date] = []  # the local day it lands on
    for fire in got:
        local = fire.astimezone(tz)
        wall = local.replace(tzinfo=None)
        owner = wall.date()
        assert local.fold == 0, "a repeated time fires at its first occurrence only"
        if wall.time() != schedule.local_time:
            # Only allowed on a gap day, and then at the jump: a microsecond earlier the
            # clock read before the wanted time, at the fire it reads after it.
            before = (fire - timedelta(microseconds=1)).astimezone(tz).replace(tzinfo=None)
            # The jump may start at midnight (Santiago: 00:00 -> 01:00) or cross it (Nuuk).
            same_day = datetime.combine(wall.date(), schedule.local_time)
            owner = wall.date() if before < same_day < wall else before.date()
            wanted = datetime.combine(owner, schedule.local_time)
            assert before < wanted < wall, (schedule, fire, wall)
            assert wall - wanted <= timedelta(hours=1)
        assert owner.weekday() in schedule.days
        owners.append(owner)
        calendar.append(wall.date())

    # Exactly one fire per scheduled day: none twice, none skipped.
    assert len(owners) == len(set(owners))
    span = (owners[-1] - owners[0]).days
    expected = {
        owners[0] + timedelta(days=i)
        for i in range(span + 1)
        if (owners[0] + timedelta(days=i)).weekday() in schedule.days
    }
    assert set(owners) == expected
    # Never two on one local calendar day, except where a gap carried a check-in past
    # midnight (America/Nuuk); then the day's own check-in still comes, hours later.
    carried = sum(o != c for o, c in zip(owners, calendar, strict=True))
    assert len(calendar) - len(set(calendar)) <= carried
    if schedule.zone != "America/Nuuk":
        assert len(calendar) == len(set(calendar))


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules_st,
    last=instants_st,
    downtime=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
    snooze=st.one_of(st.none(), st.timedeltas(timedelta(days=-5), timedelta(days=20))),
)
def test_catch_up_agrees_with_walking_forward(
    schedule: Schedule, last: datetime, downtime: timedelta, snooze: timedelta | None
) -> None:
    if snooze is not None:
        schedule = Schedule(
            schedule.days, schedule.local_time, schedule.zone, snoozed_until=last + snooze
        )
    now = last + downtime
    missed = fires_until(schedule, last, now)
    once = due_fires(schedule, last, now, "once")
    assert once == missed[-1:]
    assert due_fires(schedule, last, now, "skip") == []
    if once:
        assert last < once[0] <= now
        # Recording it as sent leaves nothing due: no duplicate on the next restart.
        assert due_fires(schedule, once[0], now, "once") == []
        assert next_fire(schedule, now) not in (None, once[0])


@pytest.mark.parametrize(
    "zone", ["Factory", "localtime", "posixrules", "posix/Factory", "right/Factory"]
)
def test_zones_that_are_not_places_are_refused_with_names_that_work(zone: str) -> None:
    """tzdata ships these beside the zones and ZoneInfo opens them, but none is a clock a
    member lives by ("Factory" has no offset at all, "localtime" is the server's)."""
    with pytest.raises(ValueError, match="not the time zone of a place") as caught:
        Schedule(EVERY_DAY, time(9), zone)
    assert "Europe/Berlin" in str(caught.value)
    Schedule(EVERY_DAY, time(9), "Europe/Berlin")  # a place's zone still works
    Schedule(EVERY_DAY, time(9), "UTC")
