"""One slow action never stalls the others, and moderator alerts are kept until delivered.

The console stands in for a platform whose alert room cannot be reached yet (the bot not in
it, a rate limit, an outage): its alerts wait, or fail, as a test says. What is tested is the
runtime and the alert outbox; tests/matrix_live/test_alert_order.py does the same on a real
homeserver.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot import runtime as runtime_module
from bot.actions import Action, AlertModerators
from bot.alert_outbox import GIVE_UP_AFTER
from bot.app import App
from bot.clock import FakeClock
from ops.status_server import health
from tests.conftest import ConsoleRig, make_config, write_policy
from tests.leak_rig import LEAK_POLICY, QUOTE, SHARED, alerts

ALERT_LINE = "[alert → #mods] Possible leak from recovery"


class AlertRoomAway(ConsoleAdapter):
    """Alerts wait until ``reachable`` is set, after failing ``failures`` times."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.reachable = asyncio.Event()
        self.failures = 0
        self.attempts = 0

    async def perform(self, action: Action) -> None:
        if isinstance(action, AlertModerators):
            self.attempts += 1
            if self.failures:
                self.failures -= 1
                raise RuntimeError("the moderators' room is not reachable yet")
            await asyncio.wait_for(self.reachable.wait(), 30)
        await super().perform(action)


@asynccontextmanager
async def away_rig(
    tmp: Path, clock: FakeClock, reachable: bool = False, failures: int = 0
) -> AsyncIterator[tuple[ConsoleRig, AlertRoomAway]]:
    if not (tmp / "policies").exists():
        write_policy(tmp / "policies", LEAK_POLICY)
    out = io.StringIO()
    holder: list[AlertRoomAway] = []

    def make(registry, clk):  # type: ignore[no-untyped-def]
        holder.append(AlertRoomAway(registry, clk, out=out))
        holder[0].failures = failures
        if reachable:
            holder[0].reachable.set()
        return holder

    app = await App.create(
        make_config(tmp), make, clock=clock, display_root=tmp,
        tick_seconds=10**9, policy_poll_seconds=10**9,
    )
    app.runtime.patience_s = 0.2
    await app.start()
    try:
        yield ConsoleRig(app, holder[0], out, clock), holder[0]
    finally:
        await app.close()


async def leak(rig: ConsoleRig) -> str:
    await rig.say(":room recovery", f"alice: {SHARED}")
    return await rig.say(":room lobby", f"bob: {QUOTE}")


def outbox(tmp: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp / "confidant.db") as db:
        return db.execute(
            "SELECT key, alert, attempts, delivered_at, given_up_at FROM alert_outbox"
        ).fetchall()


async def test_an_alert_waiting_for_its_room_holds_up_nothing_and_arrives_once(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    async with away_rig(tmp_path, clock) as (rig, away):
        out = await asyncio.wait_for(leak(rig), 5)  # returned although the alert waits
        assert alerts(out) == []
        # the next events are handled meanwhile
        rules = await asyncio.wait_for(rig.say(":room recovery", "carol: /rules"), 5)
        assert "What is shared here stays here." in rules
        runtime = rig.app.runtime
        assert [w.action for w in runtime._waiting.values()] == ["AlertModerators"]
        [(_, _, _, delivered, _)] = outbox(tmp_path)
        assert delivered is None  # written before it went out
        away.reachable.set()
        for _ in range(100):  # bounded: the alert finishes in the background
            if not runtime._waiting:
                break
            await asyncio.sleep(0.02)
        assert rig.out.getvalue().count(ALERT_LINE) == 1
        [(_, _, attempts, delivered, _)] = outbox(tmp_path)
        assert delivered is not None and attempts == 0
        await rig.app.runtime.tick()  # nothing owed: nothing again
        assert rig.out.getvalue().count(ALERT_LINE) == 1


async def test_a_failed_alert_is_sent_again_after_a_pause_exactly_once(tmp_path: Path) -> None:
    clock = FakeClock()
    async with away_rig(tmp_path, clock, reachable=True, failures=1) as (rig, away):
        assert alerts(await leak(rig)) == []
        [(_, _, attempts, delivered, _)] = outbox(tmp_path)
        assert (attempts, delivered) == (1, None)
        await rig.app.runtime.tick()  # the pause is not over
        assert away.attempts == 1
        await clock.advance(timedelta(seconds=61))
        await rig.app.runtime.tick()
        await rig.app.runtime.tick()
        assert away.attempts == 2
        assert rig.out.getvalue().count(ALERT_LINE) == 1
        [(_, _, _, delivered, _)] = outbox(tmp_path)
        assert delivered is not None


async def test_an_alert_cut_off_by_a_stop_is_sent_at_the_next_start_once(tmp_path: Path) -> None:
    clock = FakeClock()
    async with away_rig(tmp_path, clock) as (rig, _):
        await leak(rig)
        [(key, _, _, delivered, _)] = outbox(tmp_path)
        assert delivered is None
    async with away_rig(tmp_path, clock, reachable=True) as (rig, away):
        assert rig.out.getvalue().count(ALERT_LINE) == 1
        assert away.attempts == 1
        [(again, _, _, delivered, _)] = outbox(tmp_path)
        assert again == key and delivered is not None  # the same key: a platform dedupes
    async with away_rig(tmp_path, clock, reachable=True) as (rig, away):
        assert away.attempts == 0 and ALERT_LINE not in rig.out.getvalue()


async def test_an_alert_never_deliverable_is_given_up_with_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    async with away_rig(tmp_path, clock, reachable=True, failures=10**6) as (rig, away):
        await leak(rig)
        for _ in range(60):  # bounded: hourly pauses cover the two days in under 60 ticks
            await clock.advance(timedelta(hours=1))
            await rig.app.runtime.tick()
            if outbox(tmp_path)[0][4] is not None:
                break
        [(_, _, attempts, delivered, given_up)] = outbox(tmp_path)
        assert delivered is None and given_up is not None
        assert attempts >= GIVE_UP_AFTER // timedelta(hours=1)
        assert "could not be delivered" in caplog.text
        tried = away.attempts
        await clock.advance(timedelta(hours=2))
        await rig.app.runtime.tick()
        assert away.attempts == tried


async def test_owed_alerts_are_sealed_at_rest(tmp_path: Path) -> None:
    """An alert never quotes a confidential room, but one may carry a member's own words
    (a report, shared check-in answers): the stored alert is sealed, never plain words."""
    clock = FakeClock()
    async with away_rig(tmp_path, clock) as (rig, _):
        await leak(rig)
        [(_, sealed, _, _, _)] = outbox(tmp_path)
        assert isinstance(sealed, bytes)
        for word in ("Possible leak", "recovery", "lobby", "bob"):
            assert word.encode() not in sealed


async def test_healthz_says_delayed_while_an_alert_or_action_waits_over_a_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    async with away_rig(tmp_path, clock) as (rig, away):
        await leak(rig)
        runtime = rig.app.runtime
        assert await runtime.delays() == []  # waiting, but not for a minute yet
        await clock.advance(timedelta(seconds=61))
        monkeypatch.setattr(runtime_module, "LATE_S", 0.0)  # the action, too, by wall time
        delays = await runtime.delays()
        assert {"action": "AlertModerators", "owed": True, "seconds": 61} in delays
        assert any(d.get("platform") == "console" for d in delays)
        status, body = health(runtime.adapters, delays)
        assert status == 503 and body["status"] == "delayed" and body["waiting"] == delays
        away.reachable.set()
        for _ in range(100):
            if not runtime._waiting:
                break
            await asyncio.sleep(0.02)
        assert await runtime.delays() == []
        assert health(runtime.adapters, [])[0] == 200
