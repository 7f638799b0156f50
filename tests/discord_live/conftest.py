"""Fixtures: a fresh fake Discord per test, a small scene in it, and fast discord.py clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeChannel, FakeGuild, FakeRole, FakeUser


class FastClient(discord.Client):
    """A plain discord.Client minus the 5 s pause discord.py takes before every re-IDENTIFY
    (``before_identify_hook`` is the documented override point for exactly that)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@dataclass
class Scene:
    guild: FakeGuild
    general: FakeChannel
    circle_thread: FakeChannel
    peer_role: FakeRole
    alice: FakeUser
    bob: FakeUser


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server = FakeDiscord()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def scene(fake: FakeDiscord) -> Scene:
    world = fake.world
    guild = world.add_guild("Recovery Circle")
    general = world.add_text_channel(guild, "welcome", topic="Start here")
    peer = world.add_role(guild, "peer", mentionable=True)
    alice = world.add_user("alice")
    bob = world.add_user("bob")
    world.add_member(guild, alice)
    world.add_member(guild, bob, roles=[peer], flags=1 << 1)  # COMPLETED_ONBOARDING
    thread = world.add_thread(general, "tuesday-circle", private=True)
    thread.thread_member_ids.add(bob.id)
    return Scene(guild, general, thread, peer, alice, bob)


def default_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.members = True
    intents.message_content = True
    return intents


@pytest.fixture
async def make_client(
    fake: FakeDiscord,
) -> AsyncIterator[Callable[..., FastClient]]:
    """Build clients pointed at the fake; any left open by a test are closed afterwards."""
    built: list[tuple[FastClient, aiohttp.TCPConnector]] = []

    def build(intents: discord.Intents | None = None, **options: Any) -> FastClient:
        connector = fake.connector()
        options.setdefault("guild_ready_timeout", 0.05)
        client = FastClient(
            intents=intents or default_intents(), connector=connector, **options
        )
        built.append((client, connector))
        return client

    yield build
    for client, connector in built:
        await client.close()
        await connector.close()  # a client that never logged in never took ownership of it
