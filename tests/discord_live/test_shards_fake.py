"""The fake's sharded gateway, driven by unmodified discord.py clients (``Client(shard_id=,
shard_count=)``): each server's events reach only its shard's session, DMs only shard 0,
Get Gateway Bot recommends a shard count, and bad shards are closed with 4010 / 4011."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord
import pytest

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake.shards import add_guild_on_shard, shard_of
from tests.discord_fake.state import FakeGuild

from .conftest import FastClient

Builder = Callable[..., FastClient]


def two_servers(fake: FakeDiscord) -> tuple[Any, Any, Any]:
    world = fake.world
    first = add_guild_on_shard(world, "First Circle", 0, 2)
    second = add_guild_on_shard(world, "Second Circle", 1, 2)
    alice = world.add_user("alice")
    for guild in (first, second):
        world.add_text_channel(guild, "circle")
    return first, second, alice


def dispatched(fake: FakeDiscord, shard: int, event: str) -> list[dict[str, Any]]:
    session = fake.gateway.shard_session(shard, 2)
    assert session is not None
    return [f["d"] for f in session.history if f["t"] == event]


async def test_each_server_is_heard_by_its_shard_and_dms_by_shard_zero(
    fake: FakeDiscord, make_client: Builder
) -> None:
    first, second, alice = two_servers(fake)
    assert (shard_of(first.id, 2), shard_of(second.id, 2)) == (0, 1)
    zero, one = make_client(shard_id=0, shard_count=2), make_client(shard_id=1, shard_count=2)
    joined: dict[int, list[int]] = {0: [], 1: []}
    dms: dict[int, list[str]] = {0: [], 1: []}
    for shard, client in ((0, zero), (1, one)):
        listen(client, joined[shard], dms[shard])
    async with running(zero, fake.token), running(one, fake.token):
        # READY and GUILD_CREATE: only the shard's own server
        assert [g.id for g in zero.guilds] == [first.id]
        assert [g.id for g in one.guilds] == [second.id]
        assert [g["id"] for g in dispatched(fake, 0, "READY")[0]["guilds"]] == [str(first.id)]
        await fake.events.member_add(second, alice)
        await fake.events.member_add(first, alice)
        dm = fake.world.open_dm(alice)
        await fake.events.message_create(dm, alice, "hello")
        for _ in range(300):  # bounded: 3 s
            if joined[0] and joined[1] and dms[0]:
                break
            await asyncio.sleep(0.01)
        assert joined == {0: [first.id], 1: [second.id]}
        assert dms == {0: ["hello"], 1: []}
        assert dispatched(fake, 1, "MESSAGE_CREATE") == []


def listen(client: FastClient, joins: list[int], dms: list[str]) -> None:
    """Record the servers of the joins and the text of the DMs this client hears."""

    async def on_member_join(member: discord.Member) -> None:
        joins.append(member.guild.id)

    async def on_message(message: discord.Message) -> None:
        if message.guild is None:
            dms.append(message.content)

    client.event(on_member_join)
    client.event(on_message)


async def test_get_gateway_bot_recommends_one_shard_per_thousand_servers(
    fake: FakeDiscord, make_client: Builder
) -> None:
    client = make_client()
    await client.login(fake.token)
    assert (await client.http.get_bot_gateway())[0] == 1
    owner = fake.world.bot_user.id
    for number in range(1001):  # bare servers: only their count matters here
        fake.world.guilds[10**17 + number] = FakeGuild(10**17 + number, f"g{number}", owner)
    assert (await client.http.get_bot_gateway())[0] == 2


@pytest.mark.parametrize("shard", [(2, 2), (0, 0), (-1, 2)])
async def test_an_invalid_shard_is_closed_with_4010(
    fake: FakeDiscord, make_client: Builder, shard: tuple[int, int]
) -> None:
    two_servers(fake)
    client = make_client(shard_id=shard[0], shard_count=shard[1])
    await client.login(fake.token)
    with pytest.raises(discord.ConnectionClosed) as closed:
        await asyncio.wait_for(client.connect(reconnect=True), 5)
    assert closed.value.code == 4010
    assert fake.gateway.by_shard == {}


async def test_a_session_over_the_guild_limit_must_shard_4011(
    fake: FakeDiscord, make_client: Builder
) -> None:
    first, second, _ = two_servers(fake)
    fake.gateway.shard_rules.max_guilds_per_shard = 1  # Discord's is 2500
    unsharded = make_client()
    await unsharded.login(fake.token)
    with pytest.raises(discord.ConnectionClosed) as closed:
        await asyncio.wait_for(unsharded.connect(reconnect=True), 5)
    assert closed.value.code == 4011
    # two shards of one server each are within the limit
    zero, one = make_client(shard_id=0, shard_count=2), make_client(shard_id=1, shard_count=2)
    async with running(zero, fake.token), running(one, fake.token):
        assert [g.id for g in zero.guilds] == [first.id]
        assert [g.id for g in one.guilds] == [second.id]


async def test_an_event_for_a_shard_nobody_runs_is_not_kept(
    fake: FakeDiscord, make_client: Builder
) -> None:
    _, second, alice = two_servers(fake)
    zero = make_client(shard_id=0, shard_count=2)
    async with running(zero, fake.token):
        assert await fake.events.raw(
            "GUILD_MEMBER_ADD", {"guild_id": str(second.id), "user": {"id": str(alice.id)}}
        ) is None
        assert dispatched(fake, 0, "GUILD_MEMBER_ADD") == []


async def test_a_resumed_shard_session_still_hears_its_servers_only(
    fake: FakeDiscord, make_client: Builder
) -> None:
    first, second, alice = two_servers(fake)
    zero, one = make_client(shard_id=0, shard_count=2), make_client(shard_id=1, shard_count=2)
    joined: dict[int, list[int]] = {0: [], 1: []}
    for shard, client in ((0, zero), (1, one)):
        listen(client, joined[shard], [])
    async with running(zero, fake.token), running(one, fake.token):
        session = fake.gateway.shard_session(1, 2)
        resumed = asyncio.ensure_future(one.wait_for("resumed", timeout=5))
        await fake.gateway.close_socket(shard=(1, 2))  # shard 1's socket drops
        await resumed
        assert fake.gateway.shard_session(1, 2) is session  # the same session, resumed
        await fake.events.member_add(second, alice)
        await fake.events.member_add(first, alice)
        for _ in range(300):  # bounded: 3 s
            if joined[0] and joined[1]:
                break
            await asyncio.sleep(0.01)
        assert joined == {0: [first.id], 1: [second.id]}
