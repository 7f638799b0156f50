"""The Discord half of the two-process harness: two servers of one bot, each on its own shard.

Server A falls on shard 0 (the process that also runs Matrix), server B on shard 1 (the other
process); the fake sends each server's events only to its shard's gateway session and direct
messages only to shard 0 (tests/discord_fake/shards.py). Members are split between the two
servers by their number, so a quote typed in B's lobby often copies a post of A's circle
(or the other way round): the process that sees the copy is not the one that fingerprinted
the source, which the leak index kept in step across processes (bot/leaks_flow/sync.py) has
to bridge. The moderator is in both servers, and each has its moderators' room for alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.crash.discord_side import MANAGE_MESSAGES, VIEW_CHANNEL, DiscordSide
from tests.discord_fake.shards import add_guild_on_shard
from tests.discord_fake.state import FakeChannel, FakeGuild, FakeOverwrite, FakeUser, World

SHARDS = 2


@dataclass
class Server:
    guild: FakeGuild
    circle: FakeChannel
    lobby: FakeChannel
    mods: FakeChannel


def _server(world: World, name: str, shard: int, mod: FakeUser) -> Server:
    guild = add_guild_on_shard(world, name, shard, SHARDS)
    circle = world.add_text_channel(guild, "circle")
    lobby = world.add_text_channel(guild, "lobby")
    mods = world.add_text_channel(guild, "mods")
    mod_role = world.add_role(guild, "moderator", permissions=MANAGE_MESSAGES)
    everyone = guild.everyone_role_id
    mods.overwrites[everyone] = FakeOverwrite(everyone, 0, deny=VIEW_CHANNEL)
    for allowed in (mod_role.id, world.bot_role(guild).id):
        mods.overwrites[allowed] = FakeOverwrite(allowed, 0, allow=VIEW_CHANNEL)
    world.add_member(guild, mod, roles=[mod_role])
    return Server(guild, circle, lobby, mods)


def server_number(key: str) -> int:
    """Which server a member belongs to: by the number in their key ("discord:reg-3")."""
    return int(key.rsplit("-", 1)[-1]) % SHARDS


@dataclass
class ShardedDiscordSide(DiscordSide):
    servers: list[Server] = field(default_factory=list)

    def build(self, keys: Sequence[str]) -> None:
        world = self.fake.world
        self.mod = world.add_user("mod")
        self.servers = [
            _server(world, f"Crash Circle {'AB'[n]}", n, self.mod) for n in range(SHARDS)
        ]
        first = self.servers[0]  # what the single-server code paths still read
        self.guild, self.circle, self.lobby, self.mods = (
            first.guild,
            first.circle,
            first.lobby,
            first.mods,
        )
        self.users = {key: world.add_user(key.split(":")[-1]) for key in keys}

    def server_of(self, key: str) -> Server:
        return self.servers[server_number(key)]

    def policy_ids(self) -> dict[str, str]:
        ids = {"mod": str(self.mod.id)}
        for number, server in enumerate(self.servers):
            ids.update(
                {
                    f"guild{number}": str(server.guild.id),
                    f"circle{number}": str(server.circle.id),
                    f"mods{number}": str(server.mods.id),
                }
            )
        return ids

    def guild_of(self, key: str) -> FakeGuild:
        return self.server_of(key).guild

    def lobby_of(self, key: str) -> FakeChannel:
        return self.server_of(key).lobby

    def circle_of(self, key: str) -> FakeChannel:
        return self.server_of(key).circle

    def lobby_id(self, key: str) -> str:
        return str(self.server_of(key).lobby.id)

    def circle_mentions(self, key: str) -> list[str]:
        bot, mention = self.fake.world.bot_user.id, f"<@{self.users[key].id}>"
        circle = self.server_of(key).circle.id
        return [
            m.content
            for m in self.fake.world.messages.values()
            if m.channel_id == circle and m.author_id == bot and mention in m.content
        ]
