"""An alert that waits for its room holds up nothing, and arrives once the room is there.

As an admin sets the bot up: it is invited to the confidential room before it has the power
to enforce anything there, and before it is in the moderators' room. Its "cannot enforce"
alert has nowhere to go yet. Meanwhile the bot must go on accepting invites (the moderators'
room among them), and the alert must reach that room once the bot is in it, exactly once.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from nio import RoomInviteResponse, RoomKickResponse

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import create_world, wait_until, watch

MISSING_POWER = "cannot do everything"


async def test_the_bot_accepts_invites_while_an_alert_waits_and_delivers_it_once(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client, bot_level=0)
    # the moderators' room exists, but the bot is not invited there yet
    assert isinstance(
        await world.mod.room_kick(world.mods_room, world.bot_id), RoomKickResponse
    )
    alerts = watch(world.mod)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot in the circle")
        await asyncio.sleep(1.0)  # its alert about the missing power is under way by now
        invited_at = time.monotonic()
        assert isinstance(
            await world.mod.room_invite(world.mods_room, world.bot_id), RoomInviteResponse
        )
        await wait_until(
            [world.mod], lambda: world.bot_joined(world.mods_room), "the bot in the mods room"
        )
        # accepted at once, not after the waiting alert gave up (a 30 s wait for its room)
        assert time.monotonic() - invited_at < 15

        def told() -> list[str]:
            return [b for r, b in alerts.seen if r == world.mods_room and MISSING_POWER in b]

        await wait_until([world.mod], lambda: bool(told()), "the waiting alert delivered")
        assert "not enforced" in told()[0]
        await asyncio.sleep(2.0)
        await sync_once(world.mod)
        assert len(told()) == 1
        assert world.app is not None
        owed = await world.app.store.owed_alerts()
        assert owed == []
    finally:
        await world.stop_bot()
