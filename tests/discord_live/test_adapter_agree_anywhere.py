"""No member is told to do what they cannot do: wherever the bot asks a Discord member to
agree (their DM, a mention in the room, a private thread, a note about a held-back post) the
message carries an Agree button they can press, and its words name that button, because a
member held back in a channel has no chat bar there to type /agree in (the fake refuses it,
as Discord's client would)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.permissions import CREATE_PRIVATE_THREADS
from tests.discord_fake.state import FakeChannel, FakeMessage, FakeUser

from .conftest import ADAPTER_POLICY, REMINDER, AdapterScene

AGREE_ID = "confidant:agree:circle"
EPHEMERAL = 64


def policy(fallback: str) -> str:
    return ADAPTER_POLICY.replace(
        "  delivery: private\n", f"  delivery: private\n  fallback: {fallback}\n"
    )


def button_ids(message: FakeMessage) -> list[str]:
    return [c["custom_id"] for row in message.components for c in row.get("components", [])]


async def bot_post_in(fake: FakeDiscord, channel: FakeChannel, since: int) -> FakeMessage:
    await fake.wait_for_call("POST", f"/channels/{channel.id}/messages", since=since)
    [message] = [
        m for m in fake.world.messages.values()
        if m.channel_id == channel.id and m.author_id == fake.world.bot_user.id
    ]
    return message


async def press_agree(
    fake: FakeDiscord, message: FakeMessage, user: FakeUser
) -> dict[str, Any]:
    interaction = await fake.events.component_click(message, AGREE_ID, user=user)
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    return dict(callback.json)


async def assert_agreed_and_can_post(
    fake: FakeDiscord, scene: AdapterScene, rig: Any, user: FakeUser, answer: dict[str, Any]
) -> None:
    assert answer["type"] == 4 and answer["data"]["flags"] == EPHEMERAL
    assert answer["data"]["content"].startswith("Thank you. Your agreement is recorded for circle")
    await fake.wait_for_call("DELETE", f"/channels/{scene.circle.id}/permissions/{user.id}")
    assert await rig.app.store.has_agreed("discord", str(user.id), "circle", None)
    await fake.events.message_create(scene.circle, user, "I can post now")  # no MemberCannot


async def test_the_dm_reminder_has_an_agree_button_that_works(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, carol)
    reminder = await bot_post_in(fake, dm, mark)
    await fake.wait_for_call("PUT", f"/channels/{adapter_scene.circle.id}/permissions/{carol.id}")
    assert button_ids(reminder) == [AGREE_ID]
    assert "press Agree below (or reply /agree)" in reminder.content
    with pytest.raises(MemberCannot):  # held back: no chat bar in #circle
        await fake.events.slash_command("agree", user=carol, channel=adapter_scene.circle)
    answer = await press_agree(fake, reminder, carol)
    await assert_agreed_and_can_post(fake, adapter_scene, rig, carol, answer)


async def test_a_room_mention_for_closed_dms_offers_the_button_not_a_command(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app(policy=policy("room_mention"))
    erin = fake.world.add_user("erin", accepts_dms=False)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, erin)
    mention = await bot_post_in(fake, adapter_scene.circle, mark)
    await fake.wait_for_call("PUT", f"/channels/{adapter_scene.circle.id}/permissions/{erin.id}")
    assert REMINDER in mention.content and button_ids(mention) == [AGREE_ID]
    # the words name what works for her where she reads them: not a command she cannot type
    assert "press Agree below" in mention.content and "/agree" not in mention.content
    with pytest.raises(MemberCannot):
        await fake.events.message_create(adapter_scene.circle, erin, "/agree")
    answer = await press_agree(fake, mention, erin)
    await assert_agreed_and_can_post(fake, adapter_scene, rig, erin, answer)


async def test_a_private_thread_reminder_offers_the_button(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    fake.world.grant_bot(adapter_scene.guild, CREATE_PRIVATE_THREADS)
    rig = await start_app(policy=policy("private_thread"))
    erin = fake.world.add_user("erin", accepts_dms=False)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, erin)
    await fake.wait_for_call("POST", f"/channels/{adapter_scene.circle.id}/threads", since=mark)
    [thread] = [c for c in fake.world.channels.values() if c.parent_id == adapter_scene.circle.id]
    reminder = await bot_post_in(fake, thread, mark)
    assert button_ids(reminder) == [AGREE_ID] and "/agree" not in reminder.content
    await fake.wait_for_call("PUT", f"/channels/{adapter_scene.circle.id}/permissions/{erin.id}")
    with pytest.raises(MemberCannot):  # the hold covers Send Messages in Threads too
        await fake.events.message_create(thread, erin, "/agree")
    answer = await press_agree(fake, reminder, erin)
    await assert_agreed_and_can_post(fake, adapter_scene, rig, erin, answer)
