"""The fake keeps Discord's timeout rules (Modify Guild Member, communication_disabled_until):
Moderate Members is needed (the invite link does not give it), owners and administrators
cannot be timed out, at most 28 days ahead, and a member in timeout keeps only View Channel
and Read Message History. See tests/discord_fake/moderation.py for the cited docs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import discord
import pytest

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake import permissions as perm
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.moderation import MODERATE_MEMBERS

from .conftest import FastClient, Scene, eventually

Builder = Callable[..., FastClient]


async def test_a_timeout_needs_moderate_members_and_silences_the_member(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    world, guild = fake.world, scene.guild
    client = make_client()
    async with running(client, fake.token):
        cached = client.get_guild(guild.id)
        assert cached is not None
        member = cached.get_member(scene.alice.id)
        assert member is not None
        until = datetime.now(UTC) + timedelta(hours=1)
        with pytest.raises(discord.Forbidden) as refused:
            await member.edit(timed_out_until=until)
        assert refused.value.code == 50013
        assert guild.members[scene.alice.id].communication_disabled_until is None
        world.grant_bot(guild, MODERATE_MEMBERS)
        await member.edit(timed_out_until=until)
        assert guild.members[scene.alice.id].communication_disabled_until == until
        await eventually(lambda: member.is_timed_out())  # GUILD_MEMBER_UPDATE reached the cache
        assert perm.channel_permissions(world, scene.general, scene.alice.id) == (
            perm.VIEW_CHANNEL | perm.READ_MESSAGE_HISTORY
        )
        with pytest.raises(MemberCannot):
            await fake.events.message_create(scene.general, scene.alice, "hello")
        with pytest.raises(discord.HTTPException) as too_long:
            await member.edit(timed_out_until=datetime.now(UTC) + timedelta(days=29))
        assert too_long.value.status == 400
        await member.edit(timed_out_until=None)
        assert perm.can_post(world, scene.general, scene.alice.id)
        owner = world.add_user("owner")
        world.add_member(guild, owner)
        guild.owner_id = owner.id
        with pytest.raises(discord.Forbidden):  # the owner is never timed out
            await client.http.edit_member(
                guild.id, owner.id, communication_disabled_until=until.isoformat()
            )
