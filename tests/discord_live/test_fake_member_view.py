"""What a member reads in the fake (tests/discord_fake/member_view.py): a channel's messages
reach only members who can view it when they are sent, history needs View Channel (403 50001
without it) and returns nothing without Read Message History, and the bot's own overwrite and
role changes over REST open a channel to a member as Discord's permission maths says."""

from __future__ import annotations

import discord
import pytest

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake import permissions as perm
from tests.discord_fake.member_view import MemberMissingAccess
from tests.discord_fake.state import FakeOverwrite

from .conftest import FastClient, Scene


def close(fake: FakeDiscord, scene: Scene) -> None:
    guild, channel = scene.guild, scene.general
    channel.overwrites[guild.id] = FakeOverwrite(guild.id, 0, deny=perm.VIEW_CHANNEL)
    bot_role = fake.world.bot_role(guild)
    channel.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, allow=perm.VIEW_CHANNEL)


async def test_messages_reach_only_members_who_can_view_when_sent(
    fake: FakeDiscord, scene: Scene
) -> None:
    close(fake, scene)
    owner = fake.world.users[scene.guild.owner_id]
    fake.world.add_message(scene.general, owner, content="before")
    views = fake.member_views
    assert views.received(scene.alice, scene.general) == []
    with pytest.raises(MemberMissingAccess) as refused:
        views.history(scene.alice, scene.general)
    assert (refused.value.status, refused.value.code) == (403, 50001)
    scene.general.overwrites[scene.alice.id] = FakeOverwrite(
        scene.alice.id, 1, allow=perm.VIEW_CHANNEL, deny=perm.READ_MESSAGE_HISTORY
    )
    fake.world.add_message(scene.general, owner, content="after")
    assert [m.content for m in views.received(scene.alice, scene.general)] == ["after"]
    # View Channel without Read Message History: the history answers with no messages
    assert views.history(scene.alice, scene.general) == []
    scene.general.overwrites[scene.alice.id].deny = 0
    assert [m.content for m in views.history(scene.alice, scene.general)] == ["after", "before"]


async def test_the_bots_overwrite_and_role_over_rest_open_the_channel(
    fake: FakeDiscord, scene: Scene, make_client: type[FastClient]
) -> None:
    close(fake, scene)
    role = fake.world.add_role(scene.guild, "agreed")
    fake.world.move_role(scene.guild, role, 1)
    scene.general.overwrites[role.id] = FakeOverwrite(role.id, 0, allow=perm.VIEW_CHANNEL)
    views = fake.member_views
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        channel = guild.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        alice = await guild.fetch_member(scene.alice.id)
        bob = await guild.fetch_member(scene.bob.id)
        await channel.set_permissions(alice, view_channel=True)
        await alice.add_roles(discord.Object(role.id))
        assert views.can_view(scene.alice, scene.general)
        assert views.can_view(scene.bob, scene.general) is False
        await bob.add_roles(discord.Object(role.id))
        assert views.can_view(scene.bob, scene.general)
        await channel.set_permissions(alice, overwrite=None)
        await alice.remove_roles(discord.Object(role.id))
        assert not views.can_view(scene.alice, scene.general)


async def test_an_ephemeral_answer_reaches_only_its_member(fake: FakeDiscord, scene: Scene) -> None:
    owner = fake.world.users[scene.guild.owner_id]
    message = fake.world.add_message(
        scene.general, fake.world.bot_user, content="only you", flags=1 << 6,
        interaction_user_id=scene.alice.id,
    )
    views = fake.member_views
    assert views.received(scene.alice, scene.general) == [message]
    assert views.received(scene.bob, scene.general) == []
    assert message not in views.history(scene.bob, scene.general)
    assert views.received(owner) == []
