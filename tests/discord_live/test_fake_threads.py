"""The fake's rules for threads, forum posts and voice/stage chats, proven with unmodified
discord.py: what the real client does against them is what it would do against Discord."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import discord
import pytest

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake.state import (
    GUILD_ANNOUNCEMENT,
    GUILD_FORUM,
    GUILD_STAGE_VOICE,
    GUILD_VOICE,
)

from .conftest import FastClient, Scene, eventually

Builder = Callable[..., FastClient]



async def test_channel_kinds_arrive_as_discord_py_channels(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    world = fake.world
    voice = world.add_channel(scene.guild, "voice-circle", type=GUILD_VOICE)
    stage = world.add_channel(scene.guild, "stage-circle", type=GUILD_STAGE_VOICE)
    forum = world.add_channel(scene.guild, "stories", type=GUILD_FORUM)
    news = world.add_channel(scene.guild, "news", type=GUILD_ANNOUNCEMENT)
    client = make_client()
    async with running(client, fake.token):
        assert isinstance(client.get_channel(voice.id), discord.VoiceChannel)
        assert isinstance(client.get_channel(stage.id), discord.StageChannel)
        assert isinstance(client.get_channel(forum.id), discord.ForumChannel)
        assert isinstance(client.get_channel(news.id), discord.TextChannel)
        # the text chat of voice and stage channels takes messages like a text channel
        seen: asyncio.Future[discord.Message] = asyncio.get_running_loop().create_future()
        client.event(_first_message(seen))
        await fake.events.message_create(voice, scene.alice, "can everyone hear me?")
        message = await asyncio.wait_for(seen, 3.0)
        assert message.channel.id == voice.id
        stage_channel = client.get_channel(stage.id)
        assert isinstance(stage_channel, discord.StageChannel)
        sent = await stage_channel.send("stage opens at seven")
        assert fake.world.messages[sent.id].channel_id == stage.id


def _first_message(future: asyncio.Future[discord.Message]):  # type: ignore[no-untyped-def]
    async def on_message(message: discord.Message) -> None:
        if not future.done():
            future.set_result(message)

    return on_message


async def test_a_forum_takes_posts_not_messages(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    forum = fake.world.add_channel(scene.guild, "stories", type=GUILD_FORUM)
    news = fake.world.add_channel(scene.guild, "news", type=GUILD_ANNOUNCEMENT)
    client = make_client()
    async with running(client, fake.token):
        channel = client.get_channel(forum.id)
        assert isinstance(channel, discord.ForumChannel)
        post = await channel.create_thread(name="week one", content="how did it go?")
        with pytest.raises(discord.HTTPException) as refused:
            await client.http.send_message(forum.id, params=_text("straight in"))
        with pytest.raises(discord.HTTPException) as empty:
            await client.http.start_thread_in_forum(
                forum.id, params=_forum_params("no first message")
            )
        with pytest.raises(discord.HTTPException) as private:
            await client.http.start_thread_without_message(
                news.id, name="secret", auto_archive_duration=1440, type=12
            )
        await eventually(lambda: client.get_channel(post.thread.id) is not None)
    # a post is a public thread whose first message shares its id, in the thread
    assert post.thread.type is discord.ChannelType.public_thread
    assert post.thread.parent_id == forum.id
    assert post.message.id == post.thread.id
    assert post.message.channel.id == post.thread.id
    assert fake.world.messages[post.message.id].channel_id == post.thread.id
    assert (refused.value.status, refused.value.code) == (400, 50008)
    assert (empty.value.status, empty.value.code) == (400, 50035)
    assert (private.value.status, private.value.code) == (400, 50024)


def _text(content: str) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(content=content)


def _forum_params(name: str) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(
        channel_payload={"name": name, "auto_archive_duration": 1440, "type": 11}
    )


async def test_archived_threads_wake_on_a_message_unless_locked(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    world = fake.world
    open_thread = world.add_thread(scene.general, "open", private=False)
    open_thread.archived = True
    locked = world.add_thread(scene.general, "locked", private=False, owner=scene.alice)
    locked.archived = locked.locked = True
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        # GUILD_CREATE carries active threads only
        assert guild.get_thread(open_thread.id) is None
        assert guild.get_thread(scene.circle_thread.id) is not None
        await client.http.send_message(open_thread.id, params=_text("anyone still here?"))
        await eventually(lambda: guild.get_thread(open_thread.id) is not None)
        assert not open_thread.archived
        # a member without Manage Threads cannot post into a locked, archived thread
        with pytest.raises(ValueError, match="50083"):
            await fake.events.message_create(locked, scene.alice, "hello?")
        # the bot (Manage Threads, from the invite link) still can, and it wakes the thread
        await client.http.send_message(locked.id, params=_text("moderator note"))
        assert not locked.archived
        await fake.events.thread_update(locked, archived=True)
        with pytest.raises(discord.HTTPException) as edit_refused:
            await client.http.add_user_to_thread(locked.id, scene.bob.id)
    assert (edit_refused.value.status, edit_refused.value.code) == (400, 50083)
    # each wake-up was announced before the message, as Discord does
    sent = [f["t"] for f in fake.gateway.current.history] if fake.gateway.current else []
    assert sent.count("THREAD_UPDATE") == 3


async def test_thread_list_sync_hands_over_the_threads_of_a_channel(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        later = fake.world.add_thread(scene.general, "later", private=False, owner=scene.bob)
        await fake.events.thread_list_sync(scene.guild, [scene.general])
        await eventually(lambda: guild.get_thread(later.id) is not None)
        assert guild.get_thread(scene.circle_thread.id) is not None


async def test_private_threads_reach_only_members_and_thread_moderators(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    world = fake.world
    hidden = world.add_thread(scene.general, "members only", private=True, owner=scene.alice)
    joined = world.add_thread(scene.general, "with the bot", private=True, owner=scene.alice)
    joined.thread_member_ids.add(world.bot_user.id)
    world.bot_role(scene.guild).permissions &= ~(1 << 34)  # no Manage Threads
    # two logins within 30 s: the second's whole-member-list request would be rate limited
    # (and discord.py waits on it); this test is about threads, so neither asks for it
    client = make_client(chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None
        assert guild.get_thread(hidden.id) is None
        assert guild.get_thread(joined.id) is not None
    world.grant_bot(scene.guild, 1 << 34)  # a thread moderator sees them all
    client = make_client(chunk_guilds_at_startup=False)
    async with running(client, fake.token):
        guild = client.get_guild(scene.guild.id)
        assert guild is not None and guild.get_thread(hidden.id) is not None
