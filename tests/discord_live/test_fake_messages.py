"""The fake keeps Discord's rules for messages other tools make: bulk deletes (the route and a
moderation bot's purge), webhook proxies, link previews, and replies that stay in their channel;
each proven against unmodified discord.py."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import discord
import pytest

from tests.discord_fake import FakeDiscord, running
from tests.discord_fake.message_rules import Refused, snowflake_at
from tests.discord_fake.permissions import MemberCannot
from tests.discord_fake.state import FakeOverwrite

from .conftest import FastClient, Scene, eventually

Builder = Callable[..., FastClient]
MANAGE_MESSAGES = 1 << 13



async def test_bulk_delete_removes_the_messages_and_sends_one_bulk_event(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    seen: list[discord.RawBulkMessageDeleteEvent] = []

    @client.event
    async def on_raw_bulk_message_delete(payload: discord.RawBulkMessageDeleteEvent) -> None:
        seen.append(payload)

    first = fake.world.add_message(scene.general, scene.alice, content="one")
    second = fake.world.add_message(scene.general, scene.bob, content="two")
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        await channel.delete_messages([discord.Object(first.id), discord.Object(second.id)])
        await eventually(lambda: len(seen) == 1)
    [call] = fake.calls("POST", f"/channels/{scene.general.id}/messages/bulk-delete")
    assert call.status == 204
    assert [int(i) for i in call.json["messages"]] == [first.id, second.id]
    assert seen[0].message_ids == {first.id, second.id}
    assert (seen[0].channel_id, seen[0].guild_id) == (scene.general.id, scene.guild.id)
    assert first.id not in fake.world.messages and second.id not in fake.world.messages


async def test_bulk_delete_refuses_what_discord_refuses(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    kept = fake.world.add_message(scene.general, scene.alice, content="kept")
    old = snowflake_at(dt.datetime.now(dt.UTC) - dt.timedelta(days=15))
    async with running(client, fake.token):

        async def code(ids: list[int]) -> int:
            with pytest.raises(discord.HTTPException) as refused:
                await client.http.delete_messages(scene.general.id, [str(i) for i in ids])
            return refused.value.code

        assert await code([kept.id]) == 50016  # at least 2
        assert await code([kept.id + i for i in range(101)]) == 50016  # at most 100
        assert await code([kept.id, kept.id]) == 50035  # no duplicates
        assert await code([kept.id, old]) == 50034  # none older than 14 days
        bot_role = fake.world.bot_role(scene.guild)
        scene.general.overwrites[bot_role.id] = FakeOverwrite(
            bot_role.id, 0, deny=MANAGE_MESSAGES
        )
        assert await code([kept.id, kept.id + 1]) == 50013  # Manage Messages in the channel
    assert kept.id in fake.world.messages


async def test_a_purge_by_a_moderation_bot_keeps_the_same_rules(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    seen: list[discord.RawBulkMessageDeleteEvent] = []

    @client.event
    async def on_raw_bulk_message_delete(payload: discord.RawBulkMessageDeleteEvent) -> None:
        seen.append(payload)

    helper = fake.world.add_user("modbot", bot=True)
    role = fake.world.add_role(scene.guild, "modbot", permissions=MANAGE_MESSAGES)
    fake.world.add_member(scene.guild, helper, roles=[role])
    messages = [
        fake.world.add_message(scene.general, scene.alice, content=str(i)) for i in range(3)
    ]
    async with running(client, fake.token):
        with pytest.raises(Refused):
            await fake.events.purge(scene.general, messages[:1], by=helper)
        with pytest.raises(Refused):  # alice may not purge
            await fake.events.purge(scene.general, messages, by=scene.alice)
        await fake.events.purge(scene.general, messages, by=helper)
        await eventually(lambda: len(seen) == 1)
    assert seen[0].message_ids == {m.id for m in messages}
    assert all(m.id not in fake.world.messages for m in messages)


async def test_a_proxied_message_comes_from_the_webhook_and_the_original_goes(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    received: list[discord.Message] = []
    deleted: list[int] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        received.append(message)

    @client.event
    async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
        deleted.append(payload.message_id)

    async with running(client, fake.token):
        original = await fake.events.message_create(scene.general, scene.alice, "s: hello all")
        proxied = await fake.events.proxy(original, "Sunny", content="hello all")
        again = await fake.events.proxy(
            await fake.events.message_create(scene.general, scene.alice, "r: me too"),
            "Rain",
            content="me too",
        )
        await eventually(lambda: len(received) == 4 and len(deleted) == 2)
    posted = [m for m in received if m.webhook_id is not None]
    assert [m.id for m in posted] == [proxied.id, again.id]
    sunny, rain = posted
    assert sunny.webhook_id == rain.webhook_id  # one webhook per channel, many names
    assert not isinstance(sunny.author, discord.Member)
    assert sunny.author.bot and sunny.author.id == sunny.webhook_id
    assert (sunny.author.name, rain.author.name) == ("Sunny", "Rain")
    assert sunny.content == "hello all"
    assert original.id in deleted and original.id not in fake.world.messages


async def test_a_link_preview_is_a_full_update_without_an_edit_time(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    client = make_client()
    updates: list[discord.RawMessageUpdateEvent] = []

    @client.event
    async def on_raw_message_edit(payload: discord.RawMessageUpdateEvent) -> None:
        updates.append(payload)

    async with running(client, fake.token):
        linked = await fake.events.message_create(
            scene.general, scene.alice, "read https://example.org/story please"
        )
        await asyncio.sleep(0.05)  # in discord.py's cache, as a real unfurl finds it
        await fake.events.link_preview(linked)
        await eventually(lambda: len(updates) == 1)
        plain = await fake.events.message_create(
            scene.general, scene.alice, f"https://discord.com/channels/{scene.guild.id}/1/2"
        )
        with pytest.raises(ValueError):  # message links are not unfurled
            await fake.events.link_preview(plain)
    [update] = updates
    assert update.data["edited_timestamp"] is None
    assert update.data["author"]["id"] == str(scene.alice.id)
    assert update.data["content"] == "read https://example.org/story please"
    assert [e.url for e in update.message.embeds] == ["https://example.org/story"]
    assert update.cached_message is not None and update.cached_message.embeds == []


async def test_replies_stay_in_their_channel(
    fake: FakeDiscord, scene: Scene, make_client: Builder
) -> None:
    other = fake.world.add_text_channel(scene.guild, "other")
    elsewhere = fake.world.add_message(other, scene.bob, content="over there")
    here = fake.world.add_message(scene.general, scene.bob, content="right here")
    with pytest.raises(MemberCannot):
        await fake.events.message_create(scene.general, scene.alice, "hm", reply_to=elsewhere)
    client = make_client()
    async with running(client, fake.token):
        channel = client.get_channel(scene.general.id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send("hm", reference=discord.MessageReference(
                message_id=elsewhere.id, channel_id=other.id
            ))
        assert refused.value.code == 50035
        sent = await channel.send("hm", reference=discord.MessageReference(
            message_id=here.id, channel_id=scene.general.id
        ))
        assert sent.reference is not None and sent.reference.message_id == here.id
