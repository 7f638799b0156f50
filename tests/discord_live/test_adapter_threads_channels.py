"""Threads are part of their channel, and every kind of channel a member can write in is
covered: against the fake's Discord rules for threads, forum posts and voice/stage chats.

- a forward or a link naming a thread (even an archived one the cache no longer holds) of a
  confidential channel is flagged as coming from that channel;
- being added to a private thread of a gated channel holds posting like the channel does;
- a reminder thread the bot opened is still no room of its own after a restart;
- voice, stage and forum channels a policy names get reminders on access and the gate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bot.events import BotPermissions, MemberJoined, MessageDeleted, MessagePosted
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import (
    GUILD_FORUM,
    GUILD_STAGE_VOICE,
    GUILD_VOICE,
    FakeOverwrite,
    FakeUser,
)

from .conftest import ADAPTER_POLICY, REMINDER, AdapterScene
from .test_adapter_fallbacks import join_with_closed_dms, policy
from .test_adapter_leaks import (
    LEAK_POLICY,
    QUOTE,
    SHARED,
    alert_in_mods,
    assert_no_words,
    jump,
)

SEND_MESSAGES = 1 << 11
SEND_IN_THREADS = 1 << 38
CONNECT = 1 << 20  # discord.py (and Discord) deny managing a voice channel one cannot join


@pytest.fixture
def bob(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    """A member who was there before the bot started (so no join reminder)."""
    user = fake.world.add_user("bob")
    fake.world.add_member(adapter_scene.guild, user)
    return user


async def share_in_thread(fake: FakeDiscord, scene: AdapterScene, rig: Any) -> tuple[Any, Any]:
    """Alice opens a public thread of #circle and says something there."""
    thread = await fake.events.thread_create(scene.circle, "tuesday", owner=scene.alice,
                                             private=False)
    message = await fake.events.message_create(thread, scene.alice, SHARED)
    posted = await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(message.id)
    )
    assert posted.room.parent_id == str(scene.circle.id)
    return thread, message


# -- item 4: threads are part of their channel ------------------------------------------------


async def test_a_forward_out_of_a_thread_is_flagged_as_a_forward_from_its_channel(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    thread, original = await share_in_thread(fake, scene, rig)
    mark = fake.requests.mark()
    # Discord names the thread, not #circle, in the forward's reference
    forward = await fake.events.forward(original, into=scene.lobby, author=bob)
    assert forward.reference is not None and forward.reference["channel_id"] == str(thread.id)
    alert = await alert_in_mods(fake, scene, mark)
    assert "a forward of a message from it" in alert
    assert f"Source: {jump(scene, thread, original)}" in alert
    assert_no_words(alert)
    [flag] = await rig.app.store.open_flags()
    assert (flag.signal, flag.source_room_id, flag.message_id) == (
        "forward", str(scene.circle.id), str(forward.id)
    )


async def test_a_link_into_an_archived_thread_is_flagged_as_a_link_into_its_channel(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    thread, original = await share_in_thread(fake, scene, rig)
    # archived: discord.py drops it from its cache, as after a restart Discord never sent it
    await fake.events.thread_update(thread, archived=True)
    for _ in range(100):
        if rig.adapter.client.get_channel(thread.id) is None:
            break
        await asyncio.sleep(0.01)
    assert rig.adapter.client.get_channel(thread.id) is None
    mark = fake.requests.mark()
    linked = await fake.events.message_create(
        scene.lobby, bob, f"look {jump(scene, thread, original)}"
    )
    alert = await alert_in_mods(fake, scene, mark)
    assert "a link to a message in it" in alert
    assert f"Copy: {jump(scene, scene.lobby, linked)}" in alert
    [flag] = await rig.app.store.open_flags()
    assert (flag.signal, flag.source_room_id) == ("link", str(scene.circle.id))
    # one lookup of the unknown thread, remembered for the next link
    assert len(fake.calls("GET", f"/channels/{thread.id}", since=mark)) == 1
    mark = fake.requests.mark()
    # a link into a server the bot is not in is not looked up (Discord would answer 403)
    elsewhere = "https://discord.com/channels/4242424242/4343434343/4444444444"
    await fake.events.message_create(
        scene.lobby, bob, f"{elsewhere} again {jump(scene, thread, original)}"
    )
    await alert_in_mods(fake, scene, mark)
    assert fake.calls("GET", "/channels/{c}", since=mark) == []


async def test_joining_a_private_thread_of_a_gated_channel_holds_posting_there(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    thread = fake.world.add_thread(scene.circle, "tuesday", private=True)
    rig = await start_app()
    await fake.events.thread_members_update(thread, added=[scene.alice])
    joined = await rig.wait_for_event(lambda e: isinstance(e, MemberJoined))
    assert joined.room.id == str(thread.id)
    # a thread follows its channel's overwrites: the hold is set on #circle, and it denies
    # Send Messages in Threads, which is what talking in a thread takes
    [held] = await fake.wait_for_call(
        "PUT", f"/channels/{scene.circle.id}/permissions/{scene.alice.id}"
    )
    assert int(held.json["deny"]) & SEND_IN_THREADS
    assert int(held.json["deny"]) & SEND_MESSAGES


async def test_a_reminder_thread_is_no_room_of_its_own_after_a_restart(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    fake.world.grant_bot(scene.guild, 1 << 36)  # Create Private Threads
    rig = await start_app(policy=policy("private_thread"))
    await join_with_closed_dms(fake, scene, "erin")
    await fake.wait_for_call("POST", f"/channels/{scene.circle.id}/threads")
    [thread] = [c for c in fake.world.channels.values() if c.parent_id == scene.circle.id]
    await fake.wait_for_call("POST", f"/channels/{thread.id}/messages")
    await rig.close()

    rig = await start_app()
    frank = fake.world.add_user("frank")
    fake.world.add_member(scene.guild, frank)
    since = len(rig.events)
    # a moderator adds someone to the reminder thread: that is not joining a room
    await fake.events.thread_members_update(thread, added=[frank])
    # a join elsewhere afterwards: once it is in, the thread's update was handled too
    other = await fake.events.thread_create(scene.circle, "other", owner=scene.mod)
    await fake.events.thread_members_update(other, added=[frank])
    await rig.wait_for_event(
        lambda e: isinstance(e, MemberJoined) and e.room.name == "other", since=since
    )
    assert [e for e in rig.of_type(MemberJoined) if e.room.id == str(thread.id)] == []


# -- item 11: voice, stage and forum channels -------------------------------------------------

KINDS = {"voice": GUILD_VOICE, "stage": GUILD_STAGE_VOICE, "forum": GUILD_FORUM}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_a_named_voice_stage_or_forum_channel_reminds_and_holds_a_new_member(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], kind: str
) -> None:
    scene = adapter_scene
    room = fake.world.add_channel(scene.guild, f"{kind}-circle", type=KINDS[kind])
    # hidden from everyone but the peer role (and the bot), like #inner
    room.overwrites[scene.guild.id] = FakeOverwrite(scene.guild.id, 0, deny=1 << 10)
    room.overwrites[scene.peer_role.id] = FakeOverwrite(scene.peer_role.id, 0, allow=1 << 10)
    room.overwrites[scene.bot_role.id] = FakeOverwrite(scene.bot_role.id, 0, allow=1 << 10)
    fake.world.grant_bot(scene.guild, CONNECT)
    rig = await start_app(policy=ADAPTER_POLICY.replace("name: circle\n", f"name: {kind}-circle\n"))
    await fake.events.member_update(scene.guild, scene.alice, roles=[scene.peer_role])
    joined = await rig.wait_for_event(
        lambda e: isinstance(e, MemberJoined) and e.room.id == str(room.id)
    )
    assert joined.member.id == str(scene.alice.id)
    dm = fake.world.open_dm(scene.alice)
    [reminder] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")
    assert REMINDER in reminder.json["content"]
    [held] = await fake.wait_for_call("PUT", f"/channels/{room.id}/permissions/{scene.alice.id}")
    assert held.status == 204
    assert int(held.json["deny"]) & SEND_MESSAGES and int(held.json["deny"]) & SEND_IN_THREADS


async def test_a_forum_gets_its_rules_message_as_a_post_with_a_working_agree_button(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    forum = fake.world.add_channel(scene.guild, "stories", type=GUILD_FORUM)
    rules = ADAPTER_POLICY.replace("delivery: private", "delivery: rules_message")
    # the policy and its room are both called "stories" now
    rig = await start_app(policy=rules.replace("name: circle\n", "name: stories\n"))
    # Discord takes no message in a forum itself (50008): the rules open a post there
    [opened] = await fake.wait_for_call("POST", f"/channels/{forum.id}/threads")
    assert opened.status == 201 and REMINDER in opened.json["message"]["content"]
    assert fake.calls("POST", f"/channels/{forum.id}/messages") == []
    [post] = [c for c in fake.world.channels.values() if c.parent_id == forum.id]
    message = fake.world.messages[post.id]  # the post's first message shares its id
    stored = None
    for _ in range(100):
        stored = await rig.app.store.rules_message("discord", str(forum.id), "stories")
        if stored is not None and stored.posted:
            break
        await asyncio.sleep(0.01)
    assert stored is not None and stored.message_id == str(message.id)
    # pressing Agree in the post records the agreement for the forum's policy
    interaction = await fake.events.component_click(message, "confidant:agree:stories", user=bob)
    await fake.wait_for_call("POST", f"/interactions/{interaction.id}/{interaction.token}/callback")
    assert await rig.app.store.has_agreed("discord", str(bob.id), "stories", None)


async def test_a_voice_channel_without_connect_is_reported_at_start(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    voice = fake.world.add_channel(scene.guild, "voice-circle", type=GUILD_VOICE)
    # the invite link's permissions have no Connect: the bot cannot change this channel's
    # overwrites, so the gate could not hold anyone's posting in its text chat
    rig = await start_app(policy=ADAPTER_POLICY.replace("name: circle\n", "name: voice-circle\n"))
    report = await rig.wait_for_event(
        lambda e: isinstance(e, BotPermissions) and e.room.id == str(voice.id)
    )
    assert not report.can_restrict_posting
    assert any(m.startswith("Connect in #voice-circle") for m in report.missing)


async def test_a_message_deleted_in_an_archived_thread_is_forgotten_as_its_channels(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    thread, shared = await share_in_thread(fake, scene, rig)
    other = await fake.events.message_create(scene.circle, scene.alice, "see you all next week")
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(other.id)
    )
    await fake.events.thread_update(thread, archived=True)  # gone from discord.py's cache
    for _ in range(100):
        if rig.adapter.client.get_channel(thread.id) is None:
            break
        await asyncio.sleep(0.01)
    # "The only operation that should happen within an archived thread is messages being
    # deleted" (Discord's threads topic): its fingerprints go with it
    await fake.events.message_delete(shared)
    deleted = await rig.wait_for_event(
        lambda e: isinstance(e, MessageDeleted) and e.message_id == str(shared.id)
    )
    assert deleted.room.parent_id == str(scene.circle.id)
    mark = fake.requests.mark()
    await fake.events.message_create(scene.lobby, bob, QUOTE)
    marker = await fake.events.forward(other, into=scene.lobby, author=bob)
    await alert_in_mods(fake, scene, mark)
    [flag] = await rig.app.store.open_flags()
    assert (flag.signal, flag.message_id) == ("forward", str(marker.id))
