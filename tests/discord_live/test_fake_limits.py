"""Discord's counters and deadlines in the fake (limits.py), met by unmodified discord.py.

Each limit is on by default; tests lower a number (or move the limits' clock on) to meet it
in milliseconds, and check the answer is the one Discord documents.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake.gateway import IDENTIFY

from .conftest import FastClient, Scene

Builder = Callable[..., FastClient]
MESSAGES = "/channels/{channel_id}/messages"
OPEN_DM = "/users/@me/channels"


async def test_a_dm_to_someone_sharing_no_server_is_refused_50278(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        user = client.get_user(scene.alice.id)
        assert user is not None
        await user.send("still here")
        del scene.guild.members[scene.alice.id]  # she left the only server they shared
        with pytest.raises(discord.Forbidden) as caught:
            await user.send("gone")
    assert caught.value.code == 50278
    assert [c.status for c in fake.calls("POST", MESSAGES)] == [200, 403]


async def test_closed_dms_are_refused_50007(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    scene.alice.accepts_dms = False
    client = make_client()
    async with running(client, fake.token):
        user = client.get_user(scene.alice.id)
        assert user is not None
        with pytest.raises(discord.Forbidden) as caught:
            await user.send("hello")
    assert caught.value.code == 50007


async def test_opening_new_dms_too_fast_is_refused_40003_and_reopening_is_free(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    assert fake.limits.dm_opens_per_window > 0  # on by default
    fake.limits.dm_opens_per_window = 1
    client = make_client()
    async with running(client, fake.token):
        alice, bob = client.get_user(scene.alice.id), client.get_user(scene.bob.id)
        assert alice is not None and bob is not None
        await alice.create_dm()
        with pytest.raises(discord.Forbidden) as caught:
            await bob.create_dm()
        await client.http.start_private_message(alice.id)  # her open channel: not a new one
        fake.limits.advance(fake.limits.dm_open_window_s)
        await bob.create_dm()
    assert caught.value.code == 40003
    assert [c.status for c in fake.calls("POST", OPEN_DM)] == [200, 403, 200, 200]


def slow_tree(client: FastClient, guild_id: int, pause: float) -> app_commands.CommandTree:
    tree = app_commands.CommandTree(client)

    @tree.command(name="slow", description="Answers late", guild=discord.Object(guild_id))
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(pause)
        try:
            await interaction.response.send_message("late", ephemeral=True)
        except discord.NotFound as error:
            outcomes.append(error.code)

    outcomes: list[int] = []
    tree.outcomes = outcomes  # type: ignore[attr-defined]
    return tree


async def test_a_first_response_after_the_deadline_is_unknown_interaction_10062(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    assert fake.limits.interaction_deadline_s == 3.0  # Discord's; lowered to meet it fast
    fake.limits.interaction_deadline_s = 0.1
    client = make_client()
    tree = slow_tree(client, scene.guild.id, 0.3)
    async with running(client, fake.token):
        await tree.sync(guild=discord.Object(id=scene.guild.id))
        inter = await fake.events.slash_command("slow", user=scene.bob, channel=scene.general)
        route = f"/interactions/{inter.id}/{inter.token}/callback"
        [callback] = await fake.wait_for_call("POST", route)
        for _ in range(100):
            if tree.outcomes:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.01)
    assert callback.status == 404
    assert tree.outcomes == [10062]  # type: ignore[attr-defined]
    assert fake.limits.callback_delays[inter.id] >= 0.3
    assert not inter.responded


async def test_follow_ups_after_fifteen_minutes_are_refused_50027(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    done = asyncio.Event()
    errors: list[tuple[int, int]] = []

    @tree.command(name="later", description="Edits late", guild=discord.Object(scene.guild.id))
    async def later(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        fake.limits.advance(15 * 60 + 1)
        try:
            await interaction.edit_original_response(content="too late")
        except discord.HTTPException as error:
            errors.append((error.status, error.code))
        done.set()

    async with running(client, fake.token):
        await tree.sync(guild=discord.Object(id=scene.guild.id))
        await fake.events.slash_command("later", user=scene.bob, channel=scene.general)
        await asyncio.wait_for(done.wait(), 3)
    assert errors == [(401, 50027)]


async def test_invalid_requests_are_counted_except_shared_scope_429s(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client(max_ratelimit_timeout=1.0)
    route = f"/channels/{scene.general.id}/messages"
    fake.faults.error("POST", route, status=403, code=50013, message="Missing Permissions")
    fake.faults.shared_rate_limit("POST", route)
    fake.faults.cloudflare_ban("POST", route)
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        assert fake.limits.invalid_requests() == 0
        with pytest.raises(discord.Forbidden):
            await channel.send("one")
        assert fake.limits.invalid_requests() == 1
        with pytest.raises(discord.RateLimited):  # 1336 s is longer than this client waits
            await channel.send("two")
        assert fake.limits.invalid_requests() == 1  # shared scope: not counted
        with pytest.raises(discord.HTTPException) as banned:  # no Via: raised, not retried
            await channel.send("three")
        assert fake.limits.invalid_requests() == 2
    assert banned.value.status == 429 and banned.value.code == 0
    assert [c.status for c in fake.calls("POST", route)] == [403, 429, 429]


async def test_past_the_invalid_request_limit_cloudflare_answers_everything(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    assert fake.limits.invalid_request_limit == 10_000
    fake.limits.invalid_request_limit = 2
    client = make_client()
    route = f"/channels/{scene.general.id}/messages"
    fake.faults.error("POST", route, status=403, code=50013, message="Missing Permissions",
                      count=2)
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        for _ in range(2):
            with pytest.raises(discord.Forbidden):
                await channel.send("refused")
        assert fake.limits.banned
        with pytest.raises(discord.HTTPException) as caught:
            await channel.send("banned")
        fake.limits.advance(fake.limits.ban_s)
        assert not fake.limits.banned
        await channel.send("allowed again")
    assert caught.value.status == 429
    assert "Cloudflare" in caught.value.text
    assert [c.status for c in fake.calls("POST", route)] == [403, 403, 429, 200]


async def test_identifies_are_counted_per_day_and_the_token_reset_past_the_limit(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    assert fake.limits.identify_limit == 1000
    async with running(make_client(), fake.token):
        assert fake.limits.identifies == 1
    fake.limits.identify_limit = 1
    old_token = fake.token
    connector = fake.connector()
    async with aiohttp.ClientSession(connector=connector) as session, session.ws_connect(
        "wss://gateway.discord.gg/?v=10&encoding=json"
    ) as ws:
        await ws.receive_json(timeout=3)
        await ws.send_json({"op": IDENTIFY, "d": {"token": old_token, "intents": 513,
                                                  "properties": {}}})
        closing = await ws.receive(timeout=3)
    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004
    assert fake.limits.identifies == 2 and fake.token != old_token
    assert fake.limits.session_start_limit()["remaining"] == 0
    fake.limits.advance(fake.limits.identify_window_s)
    assert fake.limits.identifies == 0


async def test_a_channel_holds_at_most_the_documented_overwrites_30060(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    assert fake.limits.max_overwrites == 1000
    fake.limits.max_overwrites = 1
    fake.world.grant_bot(scene.guild, 1 << 3)  # overwrites on anyone, whatever the bot holds
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        channel = guild.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        alice, bob = guild.get_member(scene.alice.id), guild.get_member(scene.bob.id)
        assert alice is not None and bob is not None
        await channel.set_permissions(alice, send_messages=False)
        await channel.set_permissions(alice, send_messages=True)  # replacing one is fine
        with pytest.raises(discord.HTTPException) as caught:
            await channel.set_permissions(bob, send_messages=False)
    assert (caught.value.status, caught.value.code) == (400, 30060)
