"""The fake's member-list rules, proven against unmodified discord.py (see
tests/discord_fake/members.py for the rules and their sources)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake.gateway import IDENTIFY, REQUEST_GUILD_MEMBERS
from tests.discord_fake.state import FakeGuild

from .conftest import FastClient, Scene, default_intents

Builder = Callable[..., FastClient]


def crowd(fake: FakeDiscord, guild: FakeGuild, count: int) -> None:
    for n in range(count):
        fake.world.add_member(guild, fake.world.add_user(f"member{n:04d}"))


def dispatched(fake: FakeDiscord, event: str) -> list[dict[str, Any]]:
    """What the gateway sent the current session (its history keeps every dispatch)."""
    session = fake.gateway.current
    assert session is not None
    return [f["d"] for f in session.history if f["t"] == event]


async def test_guild_create_carries_only_the_bot_and_the_real_count(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    crowd(fake, scene.guild, 300)
    client = make_client(chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        [create] = dispatched(fake, "GUILD_CREATE")
        assert [m["user"]["id"] for m in create["members"]] == [str(fake.world.bot_user.id)]
        assert create["member_count"] == len(scene.guild.members) == 304
        assert create["large"] is True  # over discord.py's large_threshold of 250
        guild = client.get_guild(scene.guild.id)
        assert guild is not None and not guild.chunked
        assert [m.id for m in guild.members] == [fake.world.bot_user.id]
    [identify] = fake.frames.find(lambda f: f.op == IDENTIFY)
    assert identify.d["large_threshold"] == 250
    assert fake.gateway.member_requests.seen == 0


async def test_with_presences_a_small_guild_comes_whole(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    fake.world.enabled_privileged_intents |= 1 << 8  # GUILD_PRESENCES
    intents = default_intents()
    intents.presences = True
    client = make_client(intents, chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        [create] = dispatched(fake, "GUILD_CREATE")
        assert len(create["members"]) == create["member_count"] == 4
        assert create["large"] is False
        guild = client.get_guild(scene.guild.id)
        assert guild is not None and guild.chunked


async def test_the_whole_list_comes_in_chunks_of_at_most_1000(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    crowd(fake, scene.guild, 2100)
    client = make_client()  # discord.py chunks at startup by default (members intent)
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None and guild.chunked
        assert len(guild.members) == 2104
    chunks = dispatched(fake, "GUILD_MEMBERS_CHUNK")
    assert [(c["chunk_index"], c["chunk_count"], len(c["members"])) for c in chunks] == [
        (0, 3, 1000), (1, 3, 1000), (2, 3, 104),
    ]
    [request] = fake.frames.find(lambda f: f.op == REQUEST_GUILD_MEMBERS)
    assert {c["nonce"] for c in chunks} == {request.d["nonce"]}
    assert (request.d["query"], request.d["limit"]) == ("", 0)


async def test_a_second_whole_list_request_within_30_s_is_rate_limited(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client(chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        assert len(await asyncio.wait_for(guild.chunk(), 3)) == 4
        # discord.py has no parser for RATE_LIMITED: its chunk request waits forever
        # (discord/gateway.py: received_message, "Unknown event"), so a bound is needed
        task = asyncio.ensure_future(guild._state.chunk_guild(guild))
        await fake.wait_for_op(REQUEST_GUILD_MEMBERS, count=2)
        done, _ = await asyncio.wait({task}, timeout=0.3)
        assert not done
        task.cancel()
        [limited] = dispatched(fake, "RATE_LIMITED")
        second = fake.frames.find(lambda f: f.op == REQUEST_GUILD_MEMBERS)[1]
        assert limited["opcode"] == 8
        assert 29 < limited["retry_after"] <= 30
        assert limited["meta"] == {"guild_id": str(guild.id), "nonce": second.d["nonce"]}
        counts = fake.gateway.member_requests
        assert (counts.seen, counts.full_lists, counts.rate_limited) == (2, 1, 1)
        # a prefix query is not limited
        found = await guild.query_members("ali", limit=5)
        assert [m.id for m in found] == [scene.alice.id]
        assert counts.rate_limited == 1


async def test_the_window_is_the_fakes_to_shorten_and_counts_per_guild(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    other = fake.world.add_guild("Second Circle")
    fake.gateway.member_requests.window_s = 0.3
    client = make_client(chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        first, second = client.get_guild(scene.guild.id), client.get_guild(other.id)
        assert first is not None and second is not None
        await asyncio.wait_for(first.chunk(), 3)
        await asyncio.wait_for(second.chunk(), 3)  # another guild: its own window
        await asyncio.sleep(0.35)
        state: Any = first._state
        state._chunk_requests.clear()  # discord.py keys chunk requests by guild id
        members = await asyncio.wait_for(first.chunk(), 3)
        assert len(members) == 4
    counts = fake.gateway.member_requests
    assert (counts.full_lists, counts.rate_limited) == (3, 0)


async def test_a_restarted_client_inside_the_window_starts_unchunked(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    """What a restart really meets: discord.py waits its chunk timeout, then is ready with
    a guild that holds only the bot (guild.chunked is False)."""
    crowd(fake, scene.guild, 50)
    async with running(make_client(), fake.token) as first:
        guild = first.get_guild(scene.guild.id)
        assert guild is not None and guild.chunked
    fake.gateway.member_requests.window_s = 5.0
    again: discord.Client = make_client()
    async with running(again, fake.token, ready_timeout=8.0):
        guild = again.get_guild(scene.guild.id)
        assert guild is not None and not guild.chunked
        assert [m.id for m in guild.members] == [fake.world.bot_user.id]
    assert fake.gateway.member_requests.rate_limited == 1
