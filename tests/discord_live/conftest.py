"""Fixtures: a fresh fake Discord per test, a small scene in it, and fast discord.py clients."""

from __future__ import annotations

import asyncio
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


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Poll a condition the client reaches asynchronously; bounded in time and count."""
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


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


# -- the adapter under test, inside a real App (core + SQLite store in tmp) ---------------------

ADAPTER_POLICY = """\
name: circle
rooms:
  - platform: discord
    name: circle
  - platform: discord
    id: "{inner_id}"
moderators:
  - platform: discord
    user: "{mod_id}"
alerts:
  - platform: discord
    name: mods
reminder:
  text: What is shared here stays here.
  delivery: private
  require_agreement: true
"""
REMINDER = "What is shared here stays here."
VIEW_CHANNEL = 1 << 10


@dataclass
class AdapterScene:
    """A server with a covered #circle, a covered #inner only the 'peer' role sees, an
    uncovered #lobby and a moderators-only #mods; alice is a member, mod a moderator."""

    guild: FakeGuild
    circle: FakeChannel
    inner: FakeChannel
    lobby: FakeChannel
    mods: FakeChannel
    peer_role: FakeRole
    mod_role: FakeRole
    bot_role: FakeRole
    mod: FakeUser
    alice: FakeUser


@pytest.fixture
def adapter_scene(fake: FakeDiscord) -> AdapterScene:
    from tests.discord_fake.state import FakeOverwrite

    world = fake.world
    guild = world.add_guild("Recovery Circle")
    bot_role = next(r for r in guild.roles.values() if r.name == "Confidant")
    circle = world.add_text_channel(guild, "circle")
    inner = world.add_text_channel(guild, "inner")
    lobby = world.add_text_channel(guild, "lobby")
    mods = world.add_text_channel(guild, "mods")
    peer = world.add_role(guild, "peer")
    mod_role = world.add_role(guild, "moderator", permissions=1 << 13)  # MANAGE_MESSAGES
    for hidden, allowed in ((inner, peer), (mods, mod_role)):
        hidden.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=VIEW_CHANNEL)
        hidden.overwrites[allowed.id] = FakeOverwrite(allowed.id, 0, allow=VIEW_CHANNEL)
        hidden.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, allow=VIEW_CHANNEL)
    mod = world.add_user("mod")
    alice = world.add_user("alice")
    world.add_member(guild, mod, roles=[mod_role])
    world.add_member(guild, alice)
    return AdapterScene(guild, circle, inner, lobby, mods, peer, mod_role, bot_role, mod, alice)


def record_events(adapter: Any, events: list[Any]) -> None:
    """Every core event ``adapter`` delivers is appended to ``events`` before the core gets
    it (what AdapterRig.wait_for_event reads)."""
    original = adapter.start

    async def recording_start(sink: Any) -> None:
        async def record(event: Any) -> None:
            events.append(event)
            await sink(event)

        await original(record)

    adapter.start = recording_start


@dataclass
class AdapterRig:
    """A started App whose only adapter is the Discord adapter, talking to the fake."""

    app: Any
    adapter: Any
    events: list[Any]  # every core event the adapter delivered, in order
    closed: bool = False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.app.close()

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for_event(
        self, predicate: Callable[[Any], bool], *, since: int = 0, timeout: float = 3.0
    ) -> Any:
        """The first event delivered at position ``since`` or later that matches
        ``predicate``; bounded in time and polls."""
        import asyncio

        for _ in range(int(timeout / 0.01)):
            found = [e for e in self.events[since:] if predicate(e)]
            if found:
                return found[0]
            await asyncio.sleep(0.01)
        raise AssertionError("no matching event was delivered in time")


@pytest.fixture
async def start_app(
    fake: FakeDiscord, adapter_scene: AdapterScene, tmp_path: Any
) -> AsyncIterator[Callable[..., Any]]:
    """Start an App with the Discord adapter (call again for a restart on the same DB)."""
    from adapters.discord import make_discord_adapter
    from bot.app import App
    from bot.clock import FakeClock
    from bot.config import load_config

    policies = tmp_path / "policies"
    policies.mkdir(exist_ok=True)

    def write_policy(template: str) -> None:
        (policies / "circle.yaml").write_text(
            template.format(inner_id=adapter_scene.inner.id, mod_id=adapter_scene.mod.id),
            encoding="utf-8",
        )

    write_policy(ADAPTER_POLICY)
    config_path = tmp_path / "config.yaml"
    config_path.write_text(
        "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\n"
        "adapters:\n  discord:\n    token: ${DISCORD_TOKEN}\n"
        f"    guild_ids: [\"{adapter_scene.guild.id}\"]\n",
        encoding="utf-8",
    )
    config = load_config(config_path, env={"DISCORD_TOKEN": fake.token})
    started: list[AdapterRig] = []

    async def start(*, policy: str | None = None, **adapter_options: Any) -> AdapterRig:
        """``policy``: a template like ADAPTER_POLICY to run with (kept for later starts)."""
        if policy is not None:
            write_policy(policy)
        events: list[Any] = []
        holder: list[Any] = []
        adapter_options.setdefault("guild_ready_timeout", 0.05)
        adapter_options.setdefault("ready_timeout", 5.0)

        def make(registry: Any, clock: Any) -> list[Any]:
            assert config.adapters.discord is not None
            adapter = make_discord_adapter(
                config.adapters.discord, registry, clock, connector=fake.connector(),
                **adapter_options,
            )
            record_events(adapter, events)
            holder.append(adapter)
            return holder

        app = await App.create(
            config,
            make,
            clock=FakeClock(),
            display_root=tmp_path,
            tick_seconds=10**9,
            policy_poll_seconds=10**9,
        )
        rig = AdapterRig(app, holder[0], events)
        started.append(rig)
        await app.start()
        return rig

    yield start
    for rig in started:
        await rig.close()
