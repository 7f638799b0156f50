"""One App running both adapters (Matrix on the session's Synapse, Discord on the protocol
fake) shares one leak index: a covered Matrix room quoted in a Discord channel is flagged,
and a covered Discord channel quoted in a Matrix room. Each platform's alert links what it
can link (its own messages) and names the other platform's by ids."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nio import JoinResponse

from adapters.discord import make_discord_adapter
from adapters.matrix.client import MatrixAdapter
from adapters.matrix.homeserver import LocalSynapse
from bot.app import App
from bot.config import load_config
from tests.discord_fake import FakeDiscord
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import (
    add_room,
    create_world,
    poll_until,
    send,
    wait_until,
    watch,
    write_policy,
)

BOTH = """\
name: circle
rooms:
  - platform: matrix
    id: "{room_id}"
  - platform: discord
    name: circle
moderators:
  - platform: matrix
    user: "{mod}"
  - platform: discord
    user: "DISCORD_MOD"
alerts:
  - platform: matrix
    id: "{mods_room}"
  - platform: discord
    name: mods
reminder:
  text: What is shared in the circle stays in the circle.
  delivery: room
leaks:
  actions:
    remind_poster: false
"""
LOBBY = """\
name: lobby
rooms:
  - platform: matrix
    id: "{lobby}"
reminder:
  text: Welcome to the lobby.
  delivery: room
leaks:
  enabled: false
"""
ON_MATRIX = (
    "the night before my court date I sat in the car for three hours because I could not "
    "face going inside"
)
ON_DISCORD = (
    "when the nurse called my name I walked straight out of the clinic and kept walking "
    "until it was dark"
)
WORDS = ("court", "hours", "nurse", "clinic")


def quote_of(text: str) -> str:
    """Fourteen of its words, as someone retelling it elsewhere would."""
    return "she wrote " + " ".join(text.split()[2:16])


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def fingerprinted(app: App, room_key: str) -> bool:
    return any(f.room_key == room_key for f in await app.store.fingerprints())


async def test_one_index_across_matrix_and_discord(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
    discord_fake: FakeDiscord,
) -> None:
    world_d = discord_fake.world
    guild = world_d.add_guild("Recovery Circle")
    d_circle = world_d.add_text_channel(guild, "circle")
    d_lobby = world_d.add_text_channel(guild, "lobby")
    d_mods = world_d.add_text_channel(guild, "mods")
    d_mod, d_alice, d_bob = (world_d.add_user(n) for n in ("mod", "alice", "bob"))
    for user in (d_mod, d_alice, d_bob):
        world_d.add_member(guild, user)

    policy = BOTH.replace("DISCORD_MOD", str(d_mod.id))
    world = await create_world(synapse, tmp_path, matrix_client, policy=policy)
    lobby = await add_room(world, "Lobby")
    write_policy(world, "lobby", LOBBY.format(lobby=lobby))
    with world.config_path.open("a") as config:
        config.write(f'  discord:\n    token: ${{DISCORD_TOKEN}}\n    guild_ids: ["{guild.id}"]\n')
    config = load_config(
        world.config_path,
        env={"BOT_PASSWORD": world.bot_password, "DISCORD_TOKEN": discord_fake.token},
    )

    def make(registry: Any, clock: Any) -> list[Any]:
        assert config.adapters.matrix is not None and config.adapters.discord is not None
        return [
            MatrixAdapter(config.adapters.matrix, registry, clock, sync_timeout_ms=2000),
            make_discord_adapter(
                config.adapters.discord,
                registry,
                clock,
                connector=discord_fake.connector(),
                guild_ready_timeout=0.05,
                ready_timeout=5.0,
            ),
        ]

    app = await App.create(
        config, make, display_root=tmp_path, tick_seconds=3600, policy_poll_seconds=3600
    )
    world.app = app
    try:
        await app.start()
        mod_notices = watch(world.mod)
        await wait_until(
            [world.mod],
            lambda: world.bot_joined() and world.bot_joined(lobby),
            "the bot joined the Matrix circle and lobby",
        )
        alice, bob = await matrix_client("alice"), await matrix_client("bob")
        await sync_once(alice)
        await sync_once(bob)
        assert isinstance(await alice.join(world.room_id), JoinResponse)
        assert isinstance(await bob.join(lobby), JoinResponse)

        # Matrix circle -> Discord lobby
        await send(alice, world.room_id, {"msgtype": "m.text", "body": ON_MATRIX})
        await poll_until(
            lambda: fingerprinted(app, f"matrix:{world.room_id}"), "the Matrix share indexed"
        )
        mark = discord_fake.requests.mark()
        copy_d = await discord_fake.events.message_create(d_lobby, d_bob, quote_of(ON_MATRIX))
        [alert_d] = await discord_fake.wait_for_call(
            "POST", f"/channels/{d_mods.id}/messages", since=mark, timeout=10.0
        )
        discord_alert = str(alert_d.json["content"])
        assert discord_alert.startswith("Possible leak from Recovery circle (flag 1): a quote")
        assert f"Copy: https://discord.com/channels/{guild.id}/{d_lobby.id}/{copy_d.id}" in (
            discord_alert
        )
        assert f"Source: matrix room {world.room_id}" in discord_alert  # ids: no guild here
        await wait_until(
            [world.mod],
            lambda: any("(flag 1)" in b for b in mod_notices.in_room(world.mods_room)),
            "the Matrix moderators' alert of flag 1",
        )
        [matrix_alert] = [b for b in mod_notices.in_room(world.mods_room) if "(flag 1)" in b]
        assert f"Copy: discord room {d_lobby.id}, message {copy_d.id}" in matrix_alert
        assert f"Source: https://matrix.to/#/{world.room_id}?via=" in matrix_alert

        # Discord circle -> Matrix lobby
        await discord_fake.events.message_create(d_circle, d_alice, ON_DISCORD)
        await poll_until(
            lambda: fingerprinted(app, f"discord:{d_circle.id}"), "the Discord share indexed"
        )
        mark = discord_fake.requests.mark()
        copy_m = await send(bob, lobby, {"msgtype": "m.text", "body": quote_of(ON_DISCORD)})
        await wait_until(
            [world.mod],
            lambda: any("(flag 2)" in b for b in mod_notices.in_room(world.mods_room)),
            "the Matrix moderators' alert of flag 2",
        )
        [matrix_alert_2] = [b for b in mod_notices.in_room(world.mods_room) if "(flag 2)" in b]
        assert matrix_alert_2.startswith("Possible leak from circle (flag 2): a quote")
        assert f"Copy: https://matrix.to/#/{lobby}/{copy_m}?via=" in matrix_alert_2
        assert f"Source: discord room {d_circle.id}" in matrix_alert_2
        [alert_d2] = await discord_fake.wait_for_call(
            "POST", f"/channels/{d_mods.id}/messages", since=mark, timeout=10.0
        )
        discord_alert_2 = str(alert_d2.json["content"])
        assert f"Copy: matrix room {lobby}, message {copy_m}" in discord_alert_2
        assert f"Source: https://discord.com/channels/{guild.id}/{d_circle.id}" in discord_alert_2

        flags = sorted(await app.store.open_flags(), key=lambda f: f.id)
        assert [(f.platform, f.source_platform, f.signal) for f in flags] == [
            ("discord", "matrix", "quote"),
            ("matrix", "discord", "quote"),
        ]
        assert flags[0].message_id == str(copy_d.id) and flags[1].message_id == copy_m
        for text in (discord_alert, matrix_alert, matrix_alert_2, discord_alert_2):
            assert all(word not in text for word in WORDS)
    finally:
        world.app = None
        await app.close()
