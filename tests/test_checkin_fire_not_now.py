"""A scheduled check-in whose first message the platform would not take just now (Discord
pausing new private chats after a 40003, a passing server error) fires again at a later
tick, once; a refusal (private messages closed) is not retried. Found by the crash harness
with two processes: such fires were claimed, refused and never sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.actions import Action, PrivateMessageNotNow, PrivateMessageRefused, SendPrivate
from bot.clock import FakeClock
from tests.checkin_rig import checkin_rig, dm
from tests.conftest import ConsoleRig
from tests.test_checkin_schedules import consented, fired, local, tick_at

BERLIN = "Europe/Berlin"


def refuse_alice_while(rig: ConsoleRig, error: type[Exception], down: list[bool]) -> list[str]:
    """Alice's private messages fail with ``error`` while ``down[0]``; the texts tried."""
    tried: list[str] = []
    perform = rig.console.perform

    async def failing(action: Action) -> None:
        if isinstance(action, SendPrivate) and action.member.id == "alice" and down[0]:
            tried.append(action.text)
            raise error("403 40003")
        await perform(action)

    rig.console.perform = failing  # type: ignore[method-assign]
    return tried


async def test_a_fire_not_taken_now_is_sent_at_a_later_tick_once(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", f"/checkin schedule daily 09:00 {BERLIN}"))
        down = [True]
        tried = refuse_alice_while(rig, PrivateMessageNotNow, down)
        at_nine = local(datetime(2026, 1, 6), BERLIN)
        assert fired("alice", await tick_at(rig, clock, at_nine)) == 0
        assert tried  # it was tried, and not taken
        down[0] = False
        out = await tick_at(rig, clock, at_nine + timedelta(minutes=1))
        assert fired("alice", out) == 1 and "Question 1 of" in out
        assert fired("alice", await tick_at(rig, clock, at_nine + timedelta(minutes=2))) == 0
        history = await rig.say(*dm("alice", "stop", "/checkin history"))
        # the consent run and the fire that arrived: nothing of the attempt not taken
        assert history.count(" UTC (stopped)") == 2 and "unsent" not in history


async def test_a_refused_fire_is_not_tried_again(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", f"/checkin schedule daily 09:00 {BERLIN}"))
        tried = refuse_alice_while(rig, PrivateMessageRefused, [True])
        at_nine = local(datetime(2026, 1, 6), BERLIN)
        await tick_at(rig, clock, at_nine)
        first = len(tried)
        assert first >= 1
        await tick_at(rig, clock, at_nine + timedelta(minutes=1))
        assert len(tried) == first  # closed private messages: not asked again each tick


async def test_a_fire_not_taken_for_over_an_hour_is_skipped(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    async with checkin_rig(tmp_path, clock=clock) as rig:
        await consented(rig, "alice")
        await rig.say(*dm("alice", f"/checkin schedule daily 09:00 {BERLIN}"))
        down = [True]
        refuse_alice_while(rig, PrivateMessageNotNow, down)
        at_nine = local(datetime(2026, 1, 6), BERLIN)
        for minutes in (0, 30, 61):
            await tick_at(rig, clock, at_nine + timedelta(minutes=minutes))
        down[0] = False
        assert fired("alice", await tick_at(rig, clock, at_nine + timedelta(minutes=62))) == 0
        # the next day's fires as usual
        assert fired("alice", await tick_at(rig, clock, at_nine + timedelta(days=1))) == 1
