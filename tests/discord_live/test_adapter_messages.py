"""What a Discord message means to the core: forwards, links, replies, edits and deletes; the
bot's own and Discord's system messages are not members' posts; and no text reaches a log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.events import MessageDeleted, MessageEdited, MessagePosted, MessageRef
from tests.discord_fake import FakeDiscord, payloads

from .conftest import AdapterScene

GUILD_MEMBER_JOIN = 7  # Discord's "X joined the server" system message


async def test_a_forward_out_of_a_confidential_channel_is_recognised(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    original = fake.world.add_message(adapter_scene.circle, adapter_scene.alice,
                                      content="something I shared in the circle")
    forward = await fake.events.forward(original, into=adapter_scene.lobby,
                                        author=adapter_scene.mod)
    posted = await rig.wait_for_event(lambda e: isinstance(e, MessagePosted))
    assert posted.message_id == str(forward.id)
    assert posted.room.id == str(adapter_scene.lobby.id)
    assert posted.forward_of == MessageRef("discord", str(adapter_scene.circle.id),
                                           str(original.id))
    assert posted.text == "something I shared in the circle"  # from the snapshot
    assert posted.author.id == str(adapter_scene.mod.id)


async def test_a_link_to_a_confidential_message_and_a_reply_carry_their_refs(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    original = fake.world.add_message(adapter_scene.circle, adapter_scene.alice, content="x")
    guild, circle = adapter_scene.guild.id, adapter_scene.circle.id
    link = f"https://ptb.discord.com/channels/{guild}/{circle}/{original.id}"
    await fake.events.message_create(adapter_scene.lobby, adapter_scene.mod, f"see {link} !")
    linked = await rig.wait_for_event(lambda e: isinstance(e, MessagePosted))
    assert linked.links == (MessageRef("discord", str(circle), str(original.id)),)
    assert linked.forward_of is None and linked.reply_to is None
    reply = await fake.events.message_create(
        adapter_scene.circle, adapter_scene.mod, "thank you", reply_to=original
    )
    replied = await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(reply.id)
    )
    assert replied.reply_to == MessageRef("discord", str(circle), str(original.id))
    assert replied.room.name == "circle"


async def test_edits_and_deletes_reach_the_core(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    message = await fake.events.message_create(adapter_scene.lobby, adapter_scene.alice, "draft")
    await fake.events.message_update(message, "final")
    edited = await rig.wait_for_event(lambda e: isinstance(e, MessageEdited))
    assert (edited.message_id, edited.text, edited.room.name) == (str(message.id), "final",
                                                                  "lobby")
    await fake.events.message_delete(message)
    deleted = await rig.wait_for_event(lambda e: isinstance(e, MessageDeleted))
    assert (deleted.message_id, deleted.room.id) == (str(message.id),
                                                     str(adapter_scene.lobby.id))


async def test_own_and_system_messages_are_not_member_posts(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = fake.world.add_user("carol")
    await fake.events.member_add(adapter_scene.guild, carol)
    dm = fake.world.open_dm(carol)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")  # echoed as MESSAGE_CREATE
    notice = fake.world.add_message(adapter_scene.circle, carol, type=GUILD_MEMBER_JOIN)
    await fake.events.raw("MESSAGE_CREATE", payloads.message(fake.world, notice))
    marker = await fake.events.message_create(adapter_scene.lobby, adapter_scene.mod, "marker")
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(marker.id)
    )
    posts = rig.of_type(MessagePosted)
    assert [p.message_id for p in posts] == [str(marker.id)]
    bot_id = str(fake.world.bot_user.id)
    assert all(getattr(e, "author", None) is None or e.author.id != bot_id for e in rig.events)
    # the unagreed newcomer's join notice is Discord's, so it is not deleted
    assert fake.calls("DELETE", f"/channels/{adapter_scene.circle.id}/messages/{notice.id}") == []


async def test_message_text_never_reaches_the_logs(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rig = await start_app()
    secret = "my sister's diagnosis"
    carol = fake.world.add_user("carol")
    await fake.events.member_add(adapter_scene.guild, carol)
    post = await fake.events.message_create(adapter_scene.circle, carol, secret)
    await fake.wait_for_call("DELETE", f"/channels/{adapter_scene.circle.id}/messages/{post.id}")
    dm = fake.world.open_dm(carol)
    await fake.events.message_create(dm, carol, f"about {secret}")
    await rig.wait_for_event(lambda e: type(e).__name__ == "PrivateReply")
    await asyncio.sleep(0.05)
    assert f"message {post.id} -> MessagePosted" in caplog.text  # DEBUG really was captured
    assert secret not in caplog.text
    assert "What is shared here stays here." not in caplog.text  # nor what the bot sent
