"""A watch-only room on a real Synapse: the bot accepts the invite to a room the policy
lists under 'watch' (no other policy covers it), posts no reminder there, and a quote of
the circle posted there becomes an alert without the words."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.rig import add_room, create_world, wait_until, watch, write_policy
from tests.matrix_live.test_leaks import CIRCLE, QUOTE, WORDS, LeakWorld, join, share, text

WATCH = 'watch:\n  - platform: matrix\n    id: "{lobby}"\n'


async def test_a_watched_room_is_joined_and_a_quote_there_flagged(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    world = await create_world(synapse, tmp_path, matrix_client, policy=CIRCLE)
    lobby = await add_room(world, "Lobby")
    circle = CIRCLE.format(room_id=world.room_id, mod=world.mod.user_id, mods_room=world.mods_room)
    write_policy(world, "circle", circle + WATCH.format(lobby=lobby))
    await world.start_bot()
    try:
        await wait_until(
            [world.mod],
            lambda: world.bot_joined() and world.bot_joined(lobby),
            "the bot accepted the invites to the circle and the watched lobby",
        )
        alice = await matrix_client("alice")
        bob = await matrix_client("bob")
        await join(alice, world.room_id)
        await join(bob, lobby)  # bob is only in the lobby: no reminder is his there
        leaks = LeakWorld(world, lobby, alice, bob, watch(world.mod))
        await share(leaks, alice)
        copy = await text(bob, lobby, QUOTE)
        [alert] = await leaks.wait_alerts(1)
        assert alert.startswith("Possible leak from Recovery circle (flag 1): a quote")
        assert f"Copy: {leaks.link(lobby, copy)}" in alert
        assert all(word not in alert and word not in caplog.text for word in WORDS)
        # the bot never posted in the watched lobby (no reminder, no rules message); bob
        # joined before the share, so a reminder would have reached the moderator by now
        posted = leaks.mod_notices.in_room(lobby)
        assert posted == [], posted
        assert world.app is not None
        assert await world.app.store.open_flags() != []
    finally:
        await world.stop_bot()
