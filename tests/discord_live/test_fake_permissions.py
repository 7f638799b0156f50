"""The fake keeps Discord's permission rules: the bot has exactly its invite link's
permissions, computed from roles and overwrites as Discord does (and as discord.py's own
cache computes them), is refused with Discord's codes otherwise, and hears nothing from
channels it cannot view; members cannot do what Discord's client would not let them."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import discord
import pytest

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake import permissions as perm
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.state import INVITE_PERMISSIONS, FakeOverwrite

from .conftest import FastClient, Scene, eventually

Builder = Callable[..., FastClient]


async def test_the_bot_has_the_invite_permissions_and_discord_py_agrees(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    """Every combination of @everyone / role / member overwrites on one channel: the fake's
    answer equals what discord.py computes from the same state (discord/abc.py
    GuildChannel.permissions_for), for a member and for the bot."""
    world, guild, channel = fake.world, scene.guild, scene.general
    bits = [perm.VIEW_CHANNEL, perm.SEND_MESSAGES, perm.MANAGE_ROLES]
    cases = list(itertools.product((0, 1, 2), repeat=3))  # none / allow / deny at each level
    client = make_client()
    async with running(client, fake.token):
        cached = client.get_channel(channel.id)
        assert isinstance(cached, discord.TextChannel)
        me = cached.guild.me
        assert cached.permissions_for(me).value == perm.channel_permissions(
            world, channel, world.bot_user.id
        )
        assert not cached.permissions_for(me).administrator
        assert perm.base_permissions(guild, world.bot_user.id) & INVITE_PERMISSIONS == (
            INVITE_PERMISSIONS
        )
    for index, (everyone, role, own) in enumerate(cases):
        bit = bits[index % len(bits)]
        channel.overwrites = {}
        for target, kind, how in (
            (guild.id, 0, everyone), (scene.peer_role.id, 0, role), (scene.bob.id, 1, own)
        ):
            if how:
                allow, deny = (bit, 0) if how == 1 else (0, bit)
                channel.overwrites[target] = FakeOverwrite(target, kind, allow=allow, deny=deny)
        ours = perm.channel_permissions(world, channel, scene.bob.id)
        theirs = _discord_py_permissions(fake, scene, scene.bob.id)
        assert ours == theirs, (everyone, role, own, bit)


def _discord_py_permissions(fake: FakeDiscord, scene: Scene, user_id: int) -> int:
    """discord.py's own computation, from the payloads the fake would send."""
    from discord.guild import Guild
    from discord.state import ConnectionState

    from tests.discord_fake import payloads

    state = ConnectionState(
        dispatch=lambda *a: None, handlers={}, hooks={}, http=None,  # type: ignore[arg-type]
        intents=discord.Intents.all(), chunk_guilds_at_startup=False,
    )
    data = payloads.guild_create(fake.world, scene.guild)
    data["members"] = [
        payloads.member(fake.world, m) for m in scene.guild.members.values()
    ]
    guild = Guild(data=data, state=state)  # type: ignore[arg-type]
    channel = guild.get_channel(scene.general.id)
    member = guild.get_member(user_id)
    assert isinstance(channel, discord.TextChannel) and member is not None
    return channel.permissions_for(member).value


async def test_a_channel_the_bot_cannot_view_is_silent_and_refused(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    world, guild = fake.world, scene.guild
    hidden = world.add_text_channel(guild, "hidden")
    hidden.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=perm.VIEW_CHANNEL)
    hidden.overwrites[scene.peer_role.id] = FakeOverwrite(
        scene.peer_role.id, 0, allow=perm.VIEW_CHANNEL
    )
    seen: list[int] = []
    client = make_client()
    client.event(_recorder(seen))
    async with running(client, fake.token):
        secret = await fake.events.message_create(hidden, scene.bob, "not for the bot")
        visible = await fake.events.message_create(scene.general, scene.bob, "hello")
        await eventually(lambda: visible.id in seen)
        assert secret.id not in seen
        partial = client.get_partial_messageable(hidden.id)
        with pytest.raises(discord.Forbidden) as refused:
            await partial.send("hello")
        assert refused.value.code == 50001  # Missing Access: it cannot see the channel
        with pytest.raises(discord.Forbidden) as refused:
            await partial.fetch_message(secret.id)
        assert refused.value.code == 50001
        # it sees #general but may not post once @everyone's Send Messages is denied there
        # and its own role has no overwrite granting it back
        general = scene.general
        general.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=perm.SEND_MESSAGES)
        with pytest.raises(discord.Forbidden) as refused:
            await client.get_partial_messageable(general.id).send("hello")
        assert refused.value.code == 50013  # Missing Permissions


def _recorder(seen: list[int]) -> Callable[[discord.Message], object]:
    async def on_message(message: discord.Message) -> None:
        seen.append(message.id)

    return on_message


async def test_the_bot_may_not_grant_what_it_lacks_nor_open_private_threads(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        guild = client.get_guild(scene.guild.id)
        assert isinstance(channel, discord.TextChannel) and guild is not None
        alice = guild.get_member(scene.alice.id) or await guild.fetch_member(scene.alice.id)
        # Edit Channel Permissions: only permissions the bot has itself (not Administrator)
        with pytest.raises(discord.Forbidden) as refused:
            await channel.set_permissions(alice, administrator=True)
        assert refused.value.code == 50013
        await channel.set_permissions(alice, send_messages=False)  # it has Send Messages
        # Create Private Threads is not in the invite link
        with pytest.raises(discord.Forbidden) as refused:
            await channel.create_thread(name="x", type=discord.ChannelType.private_thread)
        assert refused.value.code == 50013
        # a role above the bot's highest cannot be given (peer was made after the bot's role)
        with pytest.raises(discord.Forbidden):
            await alice.add_roles(discord.Object(scene.peer_role.id))


async def test_members_cannot_do_what_discord_would_not_let_them(
    fake: FakeDiscord, scene: Scene
) -> None:
    world, guild, general = fake.world, scene.guild, scene.general
    fake.world.commands[guild.id] = [
        {"id": "1", "name": "agree", "type": 1, "default_member_permissions": None},
        {"id": "2", "name": "flags", "type": 1, "default_member_permissions": str(1 << 13)},
    ]
    general.overwrites[scene.alice.id] = FakeOverwrite(scene.alice.id, 1, deny=perm.SEND_MESSAGES)
    # no gateway session is needed: the refusals come before anything is sent
    with pytest.raises(MemberCannot):
        await fake.events.message_create(general, scene.alice, "hello")
    with pytest.raises(MemberCannot):  # no chat bar, so no slash commands either
        await fake.events.slash_command("agree", user=scene.alice, channel=general)
    with pytest.raises(MemberCannot):  # a moderator command is not offered to bob
        await fake.events.slash_command("flags", user=scene.bob, channel=general)
    hidden = world.add_text_channel(guild, "hidden")
    hidden.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=perm.VIEW_CHANNEL)
    with pytest.raises(MemberCannot):
        await fake.events.message_create(hidden, scene.bob, "hello")
    lobby_post = world.add_message(scene.general, scene.bob, content="x")
    other = world.add_text_channel(guild, "other")
    with pytest.raises(MemberCannot):  # a reply names a message in its own channel only
        await fake.events.message_create(other, scene.bob, "re", reply_to=lobby_post)
