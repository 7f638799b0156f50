"""When a member's recurring check-in fires: wall-clock arithmetic in their own time zone.

A member who asks for a check-in "at 09:00 on weekdays" means 09:00 on *their* clock, so the
schedule is kept as a wall-clock time plus an IANA zone and only turned into UTC instants
when asked. Daylight-saving changes make that translation non-trivial, and the rules here
are the promise made to members (see DOMAIN.md, "Check-ins"):

* the time stays the same on the wall clock on both sides of a change;
* a time that does not exist that day (the spring-forward gap) fires once, at the first
  instant after the gap, rather than never;
* a time that happens twice (the fall-back fold) fires once, at its first occurrence;
* each scheduled day that happens gets exactly one check-in; a restart never repeats one.

Everything here is pure (no clock, no I/O) so the scheduler that sleeps and the store that
remembers ``last_fired`` can both be tested against it without waiting for March.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import N_, t

CatchUp = Literal["once", "skip"]
CATCH_UP_MODES: tuple[CatchUp, ...] = ("once", "skip")

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))

# A scheduled day always comes round within a week; the extra room only matters in zones
# that skip whole days (Pacific/Apia in 2011), and the hard limit stops a bug from spinning.
_SCAN_BACK_DAYS = 2
_SCAN_LIMIT_DAYS = 400
_ONE_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ScheduleError(ValueError):
    """A schedule a member asked for cannot work; the message is safe to show them."""


# Files tzdata ships beside the zones that are not anyone's clock: "Factory" reads "-00"
# (time unknown), "localtime" is whatever the server's own clock is set to, "posixrules"
# is a template for POSIX TZ strings. ZoneInfo opens all three (also under posix/ and
# right/), so a member who typed one would get check-ins on a clock that is not theirs.
_NOT_PLACES = frozenset({"factory", "localtime", "posixrules"})


def _zone(name: str) -> ZoneInfo:
    """Resolve once at validation so a typo is reported when set, not when a check-in is due."""
    if not isinstance(name, str) or not name.strip():
        raise ScheduleError(t("a time zone is needed, as an IANA name such as 'Europe/Berlin'"))
    if name.rsplit("/", 1)[-1].lower() in _NOT_PLACES:
        raise ScheduleError(
            t(
                "{name} is not the time zone of a place; use the IANA name of the place whose "
                "clock you go by, such as 'Europe/Berlin', 'America/New_York' or 'UTC'",
                name=repr(name),
            )
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        shown = name if len(name) <= 40 else name[:40] + "…"
        raise ScheduleError(
            t(
                "unknown time zone {name}; use an IANA name such as 'Europe/Berlin' or "
                "'America/New_York'",
                name=repr(shown),
            )
        ) from exc


def _require_aware(value: datetime, what: str) -> datetime:
    """Naive datetimes are ambiguous by construction, so they are refused, not guessed."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return value.astimezone(UTC)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A member's standing request; times are wall-clock so they survive DST changes."""

    days: frozenset[int]
    local_time: time
    zone: str
    paused: bool = False
    snoozed_until: datetime | None = None

    def __post_init__(self) -> None:
        days = frozenset(self.days)
        if not days:
            raise ScheduleError("a schedule needs at least one day")
        for day in days:
            if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
                raise ScheduleError(f"days are numbered 0 (Monday) to 6 (Sunday), not {day!r}")
        if not isinstance(self.local_time, time):
            raise ScheduleError("local_time must be a datetime.time")
        if self.local_time.tzinfo is not None:
            raise ScheduleError("local_time is a wall-clock time; the zone goes in 'zone'")
        _zone(self.zone)
        # Normalised so equal schedules compare equal and fold never leaks into arithmetic.
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "local_time", self.local_time.replace(fold=0))
        if self.snoozed_until is not None:
            snoozed = _require_aware(self.snoozed_until, "snoozed_until")
            object.__setattr__(self, "snoozed_until", snoozed)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The first instant after the gap that swallowed ``wall``.

    Python maps a nonexistent time to a real instant *inside* the new offset (02:30 becomes
    03:30 in Berlin), which is an hour late for the member; the promise is "shortly after",
    i.e. the moment the clock jumps. tzdata transitions fall on whole seconds, so a bisection
    on seconds between the two possible readings of ``wall`` finds that moment exactly.
    """
    readings = sorted(wall.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1))
    lo = (readings[0] - _EPOCH) // _ONE_SECOND  # before the jump: the clock still reads < wall
    hi = -((_EPOCH - readings[1]) // _ONE_SECOND)  # after the jump: the clock reads > wall
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(_EPOCH + mid * _ONE_SECOND, tz) >= wall:
            hi = mid
        else:
            lo = mid
    return _EPOCH + hi * _ONE_SECOND


def _fire_on(schedule: Schedule, day: date, tz: ZoneInfo) -> datetime | None:
    """The UTC instant the schedule fires for local ``day``, or None if it does not."""
    if day.weekday() not in schedule.days:
        return None
    wall = datetime.combine(day, schedule.local_time)
    # fold=0 is the first occurrence of a repeated time, which is the one we want.
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if _wall(instant, tz) == wall:
        return instant
    instant = _gap_end(wall, tz)
    landed = _wall(instant, tz).date()
    if landed != day:
        # The gap ran past midnight (America/Nuuk jumps from Saturday 23:00 to Sunday).
        # If ``day`` was on the clock before the jump, its check-in is owed and arrives
        # at the jump. If the zone skipped the whole day (Pacific/Apia, 2011-12-30) and
        # the landing day has a check-in of its own, nothing is owed for a day that never
        # happened, and sending both would crowd two into one morning.
        day_happened = _wall(instant - _ONE_SECOND, tz).date() >= day
        if not day_happened and landed.weekday() in schedule.days:
            return None
    return instant


def _fires_from(schedule: Schedule, day: date, tz: ZoneInfo, step: int) -> Iterator[datetime]:
    """Fires in date order (step 1) or reverse (step -1); instants rise with the date."""
    for offset in range(_SCAN_LIMIT_DAYS):
        fire = _fire_on(schedule, day + timedelta(days=step * offset), tz)
        if fire is not None:
            yield fire


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The first instant strictly after ``after`` when the check-in is sent (aware UTC).

    Strictly after, so feeding a fire back in as ``after`` moves on instead of repeating it.
    None means nothing is coming (paused); a snooze only delays, it never cancels.
    """
    after = _require_aware(after, "after")
    if schedule.paused:
        return None
    tz = schedule.tz
    start = after
    if schedule.snoozed_until is not None and schedule.snoozed_until > after:
        start = schedule.snoozed_until
    first_day = _wall(start, tz).date() - timedelta(days=_SCAN_BACK_DAYS)
    for fire in _fires_from(schedule, first_day, tz, 1):
        if fire > after and (schedule.snoozed_until is None or fire >= schedule.snoozed_until):
            return fire
    raise RuntimeError("no fire found within a year for a schedule with days")  # unreachable


def _latest_fire_at_or_before(schedule: Schedule, moment: datetime) -> datetime | None:
    tz = schedule.tz
    first_day = _wall(moment, tz).date() + timedelta(days=_SCAN_BACK_DAYS)
    for fire in _fires_from(schedule, first_day, tz, -1):
        if fire <= moment:
            return fire
    return None


def due_fires(
    schedule: Schedule,
    last_fired: datetime | None,
    now: datetime,
    catch_up: str,
) -> list[datetime]:
    """Check-ins missed while the bot was down, per the room's catch-up policy.

    A member who missed three mornings wants one check-in on return, not three in a row,
    so "once" yields at most the latest missed fire and "skip" yields none. Anything at or
    before ``last_fired`` has been sent already and is never returned, so calling this
    again after a second restart cannot repeat a check-in. A schedule that has never fired
    has nothing to catch up on: pass its creation time as ``last_fired`` if a fire between
    creation and a crash should count as missed. After sending, record the returned instant
    as ``last_fired``; then ``next_fire(schedule, now)`` gives the next one to wait for.
    """
    if catch_up not in CATCH_UP_MODES:
        raise ValueError(f"catch_up must be one of {', '.join(CATCH_UP_MODES)}, not {catch_up!r}")
    now = _require_aware(now, "now")
    if last_fired is None or schedule.paused or catch_up == "skip":
        return []
    last_fired = _require_aware(last_fired, "last_fired")
    latest = _latest_fire_at_or_before(schedule, now)
    if latest is None or latest <= last_fired:
        return []
    if schedule.snoozed_until is not None and latest < schedule.snoozed_until:
        return []
    return [latest]


_DAY_ALIASES: dict[str, int] = {}
for _index, _name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
):
    for _length in range(3, len(_name) + 1):
        _DAY_ALIASES.setdefault(_name[:_length], _index)
_DAY_ALIASES.update({"tues": 1, "thur": 3, "thurs": 3})
_DAY_GROUPS: dict[str, frozenset[int]] = {
    "daily": EVERY_DAY,
    "everyday": EVERY_DAY,
    "every day": EVERY_DAY,
    "weekdays": WEEKDAYS,
    "weekends": frozenset({5, 6}),
    "weekend": frozenset({5, 6}),
}
_HELP_DAYS = N_("use day names like mon,wed,fri, a range like mon-fri, or 'weekdays' or 'daily'")


def _short(text: str) -> str:
    return text if len(text) <= 20 else text[:20] + "…"


def _one_day(token: str) -> int:
    try:
        return _DAY_ALIASES[token]
    except KeyError:
        unknown = t("I don't recognise {token} as a day;", token=repr(_short(token)))
        raise ScheduleError(f"{unknown} {t(_HELP_DAYS)}") from None


def parse_days(text: str) -> frozenset[int]:
    """Read the days a member typed after ``/checkin schedule`` (0 = Monday).

    Forgiving on case, spacing and abbreviations because members type this on phones; a
    range wraps round the week ("fri-mon") since that is what people mean by it.
    """
    cleaned = re.sub(r"\s*-\s*", "-", " ".join(text.lower().split()))
    if not cleaned:
        raise ScheduleError(t("which days?") + " " + t(_HELP_DAYS))
    if cleaned in _DAY_GROUPS:
        return _DAY_GROUPS[cleaned]
    days: set[int] = set()
    for token in re.split(r"[,\s]+", cleaned):
        if not token:
            continue
        if token in _DAY_GROUPS:
            days |= _DAY_GROUPS[token]
        elif "-" in token:
            first, _, last = token.partition("-")
            start, end = _one_day(first), _one_day(last)
            days.update((start + i) % 7 for i in range((end - start) % 7 + 1))
        else:
            days.add(_one_day(token))
    if not days:
        raise ScheduleError(t("which days?") + " " + t(_HELP_DAYS))
    return frozenset(days)


_TIME_RE = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?$")
_HELP_TIME = N_("use a 24-hour time like 09:00 or 21:30 (9am and 9:30pm work too)")


def parse_time(text: str) -> time:
    """Read the wall-clock time a member typed; 24-hour first, am/pm as a courtesy."""
    cleaned = " ".join(text.lower().split())
    match = _TIME_RE.match(cleaned)
    if not match:
        raise ScheduleError(
            t("{time} isn't a time I understand;", time=repr(_short(text.strip())))
            + " "
            + t(_HELP_TIME)
        )
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = match.group(3)
    if suffix is None and match.group(2) is None:
        raise ScheduleError(
            t("{time} needs minutes or am/pm;", time=repr(_short(cleaned))) + " " + t(_HELP_TIME)
        )
    if suffix is not None:
        if not 1 <= hour <= 12:
            raise ScheduleError(
                t("{time}: with am/pm the hour is 1 to 12", time=repr(_short(cleaned)))
            )
        hour = hour % 12 + (12 if suffix.startswith("p") else 0)
    if hour > 23 or minute > 59:
        raise ScheduleError(
            t("{time} isn't a time of day;", time=repr(_short(cleaned))) + " " + t(_HELP_TIME)
        )
    return time(hour, minute)


def describe_days(days: frozenset[int]) -> str:
    """The confirmation a member reads back, in the same words parse_days accepts."""
    if days == EVERY_DAY:
        return "daily"
    if days == WEEKDAYS:
        return "weekdays"
    return ",".join(DAY_NAMES[d] for d in sorted(days))
