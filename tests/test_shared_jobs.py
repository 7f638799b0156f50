"""Two bot processes on one store run each periodic job once (bot/jobs.py).

Each "process" is a whole console app (its own store connection or pool, core, runtime and
adapter) on the same database and key, both on one fake clock, so leases run out when the
test moves time. On both backends. What is counted is what the members and moderators
would see: the console output of both processes together.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console import ConsoleAdapter
from bot.actions import AlertModerators
from bot.app import App
from bot.clock import Clock, FakeClock
from bot.commands import Registry
from bot.store.rows import RepeatAction
from bot.store.url import PostgresUrl
from tests.checkin_rig import CHECKIN_POLICY, dm, private_to
from tests.conftest import ConsoleRig, make_config, write_policy

TICK_S = 60.0
POLICY = CHECKIN_POLICY.replace(
    "  text: What is shared here stays here.\n",
    "  text: What is shared here stays here.\n  repeat:\n    every_days: 7\n",
)
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # a Monday
DUE = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)  # a Thursday, 09:00 in Berlin
PERIODIC = "A regular reminder"
FIRED = "Time for your scheduled check-in."
ALERT = "Owed alert 7f3a"
OWED = "Welcome to recovery."  # the reminder a pending resend sends


@asynccontextmanager
async def process(
    tmp: Path, database: Path | str, clock: FakeClock, holder: str | None
) -> AsyncIterator[ConsoleRig]:
    """One bot process on the shared database; ``holder`` None: no leases (each process
    runs every job, as a lone process does), so only the item claims stand between them.
    As tests/conftest.py's ``start_rig``, with the leases in place before the start."""
    if not (tmp / "policies").exists():
        write_policy(tmp / "policies", POLICY)
    setting = PostgresUrl.parse(database) if isinstance(database, str) else database
    config = make_config(tmp).model_copy(update={"database": setting})
    out = io.StringIO()
    consoles: list[ConsoleAdapter] = []

    def make(registry: Registry, clk: Clock) -> list[ConsoleAdapter]:
        consoles.append(ConsoleAdapter(registry, clk, out=out))
        return consoles

    app = await App.create(config, make, clock=clock, display_root=tmp,
                           tick_seconds=10**9, policy_poll_seconds=10**9)
    app.runtime.jobs = None
    if holder is not None:
        from bot.jobs import SharedJobs

        app.runtime.jobs = SharedJobs(app.store, clock, app.runtime.adapters, TICK_S, holder)
    try:
        await app.start()
        yield ConsoleRig(app, consoles[0], out, clock)
    finally:
        await app.close()


@asynccontextmanager
async def two(
    tmp: Path, database: Path | str, leased: bool = True
) -> AsyncIterator[tuple[ConsoleRig, ConsoleRig, FakeClock]]:
    clock = FakeClock(START)
    async with (
        process(tmp, database, clock, "a" if leased else None) as a,
        process(tmp, database, clock, "b" if leased else None) as b,
    ):
        yield a, b, clock


async def prepare(a: ConsoleRig, clock: FakeClock) -> None:
    """A periodic room reminder, a scheduled check-in, a pending private reminder, an owed
    moderator alert and a timeout's end, all coming due at :data:`DUE` and none before
    (set up through process a); the clock is left a tick before :data:`DUE`."""
    await clock.advance(DUE - timedelta(days=7) - clock.now())
    await a.say(":join bob")  # the room is known: its week starts now
    await clock.advance(timedelta(hours=1))  # past last Thursday's 09:00
    await a.say(*dm("alice", "/checkin", "agree", "stop"))
    await a.say(":room recovery", "alice: /checkin schedule thu 09:00 Europe/Berlin")
    core = a.app.core
    await clock.advance(DUE - timedelta(minutes=10) - clock.now())
    await core.alerts.queued(AlertModerators("console", "mods", ALERT))  # its send "hung"
    policy = core.policies.current.by_name("circle")
    assert policy is not None
    await a.app.store.add_reminder(  # recorded, never confirmed: resent after a minute
        "rem-carol", "console", "recovery", "recovery", "carol", "circle",
        policy.reminder_version, DUE - timedelta(seconds=61),
    )
    await a.app.store.add_repeat_action(RepeatAction(  # a repeat leaker's timeout ends
        0, "console", "frank", "circle", "timeout", 1, "done", 60, DUE,
        DUE - timedelta(hours=1),
    ))
    await clock.advance(DUE - timedelta(seconds=TICK_S) - clock.now())


async def everything_due(a: ConsoleRig, clock: FakeClock) -> None:
    await prepare(a, clock)
    await clock.advance(DUE - clock.now())


def seen(*rigs: ConsoleRig, since: tuple[int, ...] | None = None) -> dict[str, int]:
    """What members and moderators saw of each job, across the processes."""
    out = "".join(
        rig.out.getvalue()[(since[i] if since else 0):] for i, rig in enumerate(rigs)
    )
    return {
        "periodic": out.count(PERIODIC),
        "scheduled": private_to("alice", out).count(FIRED),
        "resent": private_to("carol", out).count(OWED),
        "alert": out.count(ALERT),
        "restored": out.count("(frank: timeout ended)"),
    }


ONCE = {"periodic": 1, "scheduled": 1, "resent": 1, "alert": 1, "restored": 1}
NONE = {"periodic": 0, "scheduled": 0, "resent": 0, "alert": 0, "restored": 0}


def marks(*rigs: ConsoleRig) -> tuple[int, ...]:
    return tuple(len(rig.out.getvalue()) for rig in rigs)


async def test_each_job_fires_once_across_two_processes(
    tmp_path: Path, database: Path | str
) -> None:
    async with two(tmp_path, database) as (a, b, clock):
        await everything_due(a, clock)
        start = marks(a, b)
        for _ in range(3):  # both keep ticking, a minute apart
            await b.app.runtime.tick()
            await a.app.runtime.tick()
            await clock.advance(timedelta(seconds=TICK_S))
        assert seen(a, b, since=start) == ONCE
        assert seen(b, since=start[1:]) == ONCE  # b ticked first: it holds the leases
        assert seen(a, since=start[:1]) == NONE


async def test_a_dead_holder_is_replaced_within_the_bound_and_nothing_fires_twice(
    tmp_path: Path, database: Path | str
) -> None:
    async with two(tmp_path, database) as (a, b, clock):
        await prepare(a, clock)
        await a.app.runtime.tick()  # a holds every lease (nothing is due yet) ...
        died = clock.now()  # ... and dies: it never ticks or renews again
        assert b.app.runtime.jobs is not None
        lease, bound = b.app.runtime.jobs.lease, b.app.runtime.jobs.takeover_bound
        assert (lease, bound) == (timedelta(seconds=150), timedelta(seconds=210))
        start = marks(a, b)
        ran_at = None
        for _ in range(6):  # b ticks every minute: the jobs wait out a's lease, then run
            await b.app.runtime.tick()
            if ran_at is None and seen(b, since=start[1:]) != NONE:
                ran_at = clock.now()
            await clock.advance(timedelta(seconds=TICK_S))
        assert ran_at is not None and lease < ran_at - died <= bound, ran_at - died
        assert seen(a, b, since=start) == ONCE
        # a comes back (it was only stalled): b's lease stands, a runs nothing
        await a.app.runtime.tick()
        await b.app.runtime.tick()
        assert seen(a, b, since=start) == ONCE


async def test_a_stale_holder_is_fenced_off_after_a_takeover(
    tmp_path: Path, database: Path | str
) -> None:
    """a took its leases, then stalled past them before running its jobs; b took over
    meanwhile. a's jobs check the lease (its epoch) just before they run, and stop."""
    async with two(tmp_path, database) as (a, b, clock):
        await everything_due(a, clock)
        assert a.app.runtime.jobs is not None and b.app.runtime.jobs is not None
        stale = await a.app.runtime.jobs.duties()  # a is about to run ...
        await clock.advance(timedelta(seconds=TICK_S * 2.5))  # ... and stalls
        taken = await b.app.runtime.jobs.duties()  # b's tick takes the leases over ...
        assert taken.held and set(taken.held.values()) == {2}  # each a new epoch
        start = marks(a, b)
        actions = await a.app.core.tick(stale)  # ... while a wakes up and carries on
        await a.app.runtime.execute(actions)
        assert actions == []
        assert seen(a, since=start[:1]) == NONE
        await b.app.runtime.tick()  # ... and b's tick runs the jobs
        assert seen(a, b, since=start) == ONCE


async def test_two_processes_racing_on_one_item_send_it_once(
    tmp_path: Path, database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No leases at all (say both believed they held them): both find every item due,
    from what they read before either wrote, and each item still goes out once."""
    async with two(tmp_path, database, leased=False) as (a, b, clock):
        await everything_due(a, clock)
        store = b.app.store
        due = clock.now()
        snapshot: dict[str, Any] = {
            "room_states": await store.room_states(),
            "checkin_schedules": await store.checkin_schedules(),
            "pending_reminders": await store.pending_reminders(
                due - timedelta(seconds=60), due_at=due, max_attempts=3
            ),
            "owed_alerts": await store.owed_alerts(due_by=due),
            "repeat_actions_due": await store.repeat_actions_due(due),
        }
        assert all(snapshot.values())
        snapshot["open_checkin"] = await store.open_checkin("console", "alice")  # none yet
        assert snapshot["open_checkin"] is None
        start = marks(a, b)
        await a.app.runtime.tick()
        for name, rows in snapshot.items():  # b read before a wrote
            monkeypatch.setattr(store, name, _returning(rows))
        await b.app.runtime.tick()
        assert seen(a, b, since=start) == ONCE


def _returning(rows: object) -> Callable[..., Awaitable[object]]:
    async def read(*_: object, **__: object) -> object:
        return rows

    return read


async def test_room_work_goes_to_the_process_that_serves_the_room(
    tmp_path: Path, database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a's adapter serves other rooms (another shard, say): the periodic reminder of
    #recovery is b's, whichever process ticks first; member work is shared as before."""
    async with two(tmp_path, database) as (a, b, clock):
        adapter = a.app.runtime.adapters["console"]
        monkeypatch.setattr(adapter, "serves_room", lambda room: room.id != "recovery",
                            raising=False)
        monkeypatch.setattr(adapter, "job_scope", lambda: "shard-1", raising=False)
        from bot.jobs import SharedJobs

        a.app.runtime.jobs = SharedJobs(a.app.store, clock, a.app.runtime.adapters, TICK_S, "a")
        await everything_due(a, clock)
        start = marks(a, b)
        await a.app.runtime.tick()
        await b.app.runtime.tick()
        assert seen(a, since=start[:1]) == {**ONCE, "periodic": 0}
        assert seen(b, since=start[1:]) == {**NONE, "periodic": 1}


async def test_a_process_starting_beside_a_running_one_repeats_nothing(
    tmp_path: Path, database: Path | str
) -> None:
    """What a start owes (interrupted reminders, alerts, check-ins) may be on its way from
    a process that is running: b's start leaves it to the holders' ticks, claimed, and
    leaves an alert for a platform b does not run owed rather than dropping it."""
    clock = FakeClock(START)
    async with process(tmp_path, database, clock, "a") as a:
        await everything_due(a, clock)
        await a.app.runtime.tick()  # a runs it all: alice's check-in is open, asking
        assert "Question 1 of 4" in private_to("alice", a.out.getvalue())
        core = a.app.core
        elsewhere = await core.alerts.queued(AlertModerators("matrix", "mods", "Owed 5c1d"))
        await clock.advance(timedelta(minutes=11))  # due again; matrix is run elsewhere
        await a.app.runtime.tick()
        policy = core.policies.current.policies[0]
        await a.app.store.add_reminder(  # a is sending these right now
            "rem-erin", "console", "recovery", "recovery", "erin", "circle",
            policy.reminder_version, clock.now() - timedelta(seconds=10),
        )
        await core.alerts.queued(AlertModerators("console", "mods", "In flight 91be"))
        async with process(tmp_path, database, clock, "b") as b:
            started = b.out.getvalue()
            assert private_to("erin", started) == ""
            assert private_to("alice", started) == ""  # not asked again
            assert "In flight 91be" not in started
            key = elsewhere.idempotency_key
            assert key is not None and await b.app.store.alert_row(key) is not None


async def test_processes_ticking_at_once_without_leases_send_each_item_once(
    tmp_path: Path, pg_database: str
) -> None:
    """Both processes tick at the same moment, with no lease between them, on two
    connection pools of one PostgreSQL, their statements really at once (one SQLite
    connection per process takes turns too evenly for the race to show)."""
    async with two(tmp_path, pg_database, leased=False) as (a, b, clock):
        await everything_due(a, clock)
        start = marks(a, b)
        for _ in range(3):
            await asyncio.gather(a.app.runtime.tick(), b.app.runtime.tick())
            await clock.advance(timedelta(seconds=TICK_S))
        assert seen(a, b, since=start) == ONCE


async def test_a_clean_restart_hands_the_leases_over_and_resumes_its_checkins(
    tmp_path: Path, database: Path | str
) -> None:
    """A lone process on a shared store, stopped cleanly mid-check-in and started again:
    its leases were released, so the new start holds them at once, asks the interrupted
    check-in where it stands, and runs the next tick's jobs without waiting a lease out."""
    clock = FakeClock(START)
    async with process(tmp_path, database, clock, "a") as a:
        await everything_due(a, clock)
        await a.app.runtime.tick()
        assert "Question 1 of 4" in private_to("alice", a.out.getvalue())
    async with process(tmp_path, database, clock, "a2") as again:
        assert "continues where you left off" in private_to("alice", again.out.getvalue())
        assert again.app.runtime.jobs is not None
        assert again.app.runtime.jobs.held == [
            "members:console", "rooms:console:all", "store"]


async def test_member_work_stays_where_private_replies_arrive(
    tmp_path: Path, database: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a's adapter does not receive members' private replies (a Discord process without
    shard 0, say): a never takes the member work, even ticking first; b does."""
    async with two(tmp_path, database) as (a, b, clock):
        adapter = a.app.runtime.adapters["console"]
        monkeypatch.setattr(adapter, "receives_private_messages", lambda: False,
                            raising=False)
        from bot.jobs import SharedJobs

        a.app.runtime.jobs = SharedJobs(a.app.store, clock, a.app.runtime.adapters, TICK_S, "a")
        await everything_due(a, clock)
        start = marks(a, b)
        await a.app.runtime.tick()
        await b.app.runtime.tick()
        assert seen(a, since=start[:1]) == {**NONE, "periodic": 1}
        assert seen(b, since=start[1:]) == {**ONCE, "periodic": 0}
        assert a.app.runtime.jobs.held == ["rooms:console:all", "store"]
