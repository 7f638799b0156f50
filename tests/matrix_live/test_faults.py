"""The homeserver restarting in the middle of a burst of joins, on a Synapse of the test's own
(restarting the session's one would disturb every other test).

Joins Synapse accepted before it stopped reach the bot after the restart from its saved sync
token; reminders whose sending the outage broke wait for the homeserver and go out once it
is back, without the core's periodic resend (which never runs here). Every member ends up
reminded exactly once, and the bot syncs again within 5 s of the homeserver's /health."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from nio import AsyncClient, JoinResponse

from adapters.matrix.client import MatrixAdapter
from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import TEST_BCRYPT_ROUNDS, sync_once
from tests.matrix_live.rig import REMINDER, BotWorld, create_world, wait_until, watch

RECOVERY_TARGET_S = 5.0
BURST = 8  # members; half join before the outage, half after


@asynccontextmanager
async def own_homeserver(
    tmp_path: Path, client_factory: Any
) -> AsyncIterator[tuple[LocalSynapse, BotWorld, Any]]:
    homeserver = LocalSynapse(
        tmp_path / "hs", relaxed_rate_limits=True, bcrypt_rounds=TEST_BCRYPT_ROUNDS
    )
    await homeserver.start()
    try:
        make = client_factory(homeserver)
        world = await create_world(homeserver, tmp_path / "bot", make)
        await world.start_bot()
        try:
            await wait_until([world.mod], world.bot_joined, "the bot joined")
            yield homeserver, world, make
        finally:
            await world.stop_bot()
    finally:
        await homeserver.stop()


async def join_all(members: list[AsyncClient], room_id: str) -> None:
    responses = await asyncio.gather(*(m.join(room_id) for m in members))
    assert all(isinstance(r, JoinResponse) for r in responses), responses


async def wait_connected(adapter: MatrixAdapter, connected: bool, deadline_s: float) -> float:
    """Seconds until ``adapter.connected`` is ``connected`` (bounded; polled every 50 ms)."""
    began = time.monotonic()
    for _ in range(int(deadline_s / 0.05) + 1):
        if adapter.connected is connected:
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    raise AssertionError(f"the adapter's connected state did not become {connected}")


async def test_a_homeserver_restart_mid_burst_loses_no_join_and_repeats_none(
    tmp_path: Path,
    matrix_client_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with own_homeserver(tmp_path, matrix_client_factory) as (homeserver, world, make):
        members = [await make(f"burst{i}") for i in range(BURST)]
        notices = [watch(member) for member in members]
        await asyncio.gather(*(sync_once(member) for member in members))
        before, after = members[: BURST // 2], members[BURST // 2 :]
        app, adapter = world.app, world.adapter
        assert app is not None and adapter is not None

        await join_all(before, world.room_id)
        await homeserver.stop()  # while the bot is syncing and reminding those joins
        await wait_connected(adapter, False, deadline_s=30)
        await homeserver.start()  # returns once /health answers
        back_in = await wait_connected(adapter, True, deadline_s=RECOVERY_TARGET_S * 2)
        assert back_in <= RECOVERY_TARGET_S, f"sync back {back_in:.2f} s after /health"

        await join_all(after, world.room_id)
        # no periodic resend (the runtime's tick never runs here): the reminders the outage
        # cut off go out as soon as the homeserver is back
        await wait_until(
            members,
            lambda: all(n.containing(REMINDER) for n in notices),
            "every member of the burst reminded",
            deadline_s=60,
        )
        # a moderator command answered after everything: nothing further is on its way
        mod_notices = watch(world.mod)
        await world.mod.room_send(
            world.room_id, "m.room.message", {"msgtype": "m.text", "body": "!policy show"}
        )
        await wait_until(
            [world.mod, *members],
            lambda: bool(mod_notices.containing("Policy circle")),
            "the moderator's answer",
        )
        assert [len(n.containing(REMINDER)) for n in notices] == [1] * BURST
        assert await app.store.pending_reminders() == []
        for member in members:
            assert await app.store.was_reminded(
                "matrix", world.room_id, member.user_id, "circle", None
            )
