"""Closed DMs (50007) on Discord, each policy fallback end to end against the fake: a private
thread, a room mention deleted after the policy's time, or the reminder on the member's next
ephemeral reply."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.events import MemberJoined
from tests.discord_fake import FakeDiscord
from tests.discord_fake.permissions import CREATE_PRIVATE_THREADS
from tests.discord_fake.state import PRIVATE_THREAD, FakeUser

from .conftest import ADAPTER_POLICY, REMINDER, AdapterScene

MESSAGES = "/channels/{channel_id}/messages"
EPHEMERAL = 64


def policy(fallback: str, extra: str = "") -> str:
    return ADAPTER_POLICY.replace(
        "  delivery: private\n", f"  delivery: private\n  fallback: {fallback}\n{extra}"
    )


async def join_with_closed_dms(fake: FakeDiscord, scene: AdapterScene, name: str) -> FakeUser:
    """Join a member whose DMs are closed; returns once Discord refused the DM."""
    user = fake.world.add_user(name, accepts_dms=False)
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, user)
    dm = fake.world.open_dm(user)
    [refused] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert refused.status == 403  # 50007, Cannot send messages to this user
    # the hold on posting follows the reminder: once it is in, the join is fully handled
    await fake.wait_for_call(
        "PUT", f"/channels/{scene.circle.id}/permissions/{user.id}", since=mark
    )
    return user


async def test_private_thread_holds_the_reminder_for_the_member_only(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # the README's invite link plus Create Private Threads, as it says for this fallback
    fake.world.grant_bot(adapter_scene.guild, CREATE_PRIVATE_THREADS)
    rig = await start_app(policy=policy("private_thread"))
    circle = adapter_scene.circle
    erin = await join_with_closed_dms(fake, adapter_scene, "erin")
    [created] = await fake.wait_for_call("POST", f"/channels/{circle.id}/threads")
    assert created.json["type"] == PRIVATE_THREAD
    assert created.json["invitable"] is False
    [thread] = [
        c for c in fake.world.channels.values() if c.parent_id == circle.id and c.is_thread
    ]
    [added] = await fake.wait_for_call("PUT", f"/channels/{thread.id}/thread-members/{erin.id}")
    assert added.status == 204 and erin.id in thread.thread_member_ids
    [reminder] = await fake.wait_for_call("POST", f"/channels/{thread.id}/messages")
    content = reminder.json["content"]
    assert content.startswith(f"<@{erin.id}> I could not reach you privately")
    assert REMINDER in content
    assert reminder.json["allowed_mentions"] == {"parse": [], "users": [erin.id]}
    # nothing in the channel itself, and being added to the thread is no new join
    await asyncio.sleep(0.1)
    assert fake.calls("POST", f"/channels/{circle.id}/messages") == []
    assert [e for e in rig.of_type(MemberJoined) if e.room.id == str(thread.id)] == []
    assert len(fake.calls("POST", "/channels/{c}/threads")) == 1
    assert fake.unexpected_calls() == []


async def test_room_mention_is_deleted_after_the_policy_time(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app(
        policy=policy("room_mention", "  fallback_delete_after_minutes: 5\n")
    )
    circle = adapter_scene.circle
    erin = await join_with_closed_dms(fake, adapter_scene, "erin")
    [mention] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages")
    assert mention.json["content"].startswith(f"<@{erin.id}> I could not reach you privately")
    [posted] = [m for m in fake.world.messages.values() if m.channel_id == circle.id]
    clock = rig.app.core.clock
    await clock.advance(299)  # the core's clock: nobody waits five real minutes
    await asyncio.sleep(0.1)
    assert fake.calls("DELETE", f"/channels/{circle.id}/messages/{posted.id}") == []
    await clock.advance(2)
    [deleted] = await fake.wait_for_call(
        "DELETE", f"/channels/{circle.id}/messages/{posted.id}"
    )
    assert deleted.status == 204 and posted.id not in fake.world.messages


async def test_next_interaction_carries_the_reminder_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app(policy=policy("next_interaction"))
    erin = await join_with_closed_dms(fake, adapter_scene, "erin")
    await asyncio.sleep(0.05)
    assert fake.calls("POST", f"/channels/{adapter_scene.circle.id}/messages") == []

    async def ephemeral(name: str) -> str:
        # held back in #circle, she has no chat bar there: her next command is in #lobby
        interaction = await fake.events.slash_command(
            name, user=erin, channel=adapter_scene.lobby
        )
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        [callback] = await fake.wait_for_call("POST", route)
        assert callback.json["data"]["flags"] == EPHEMERAL
        return str(callback.json["data"]["content"])

    first = await ephemeral("help")
    assert first.startswith("Commands you can use:")
    assert "I could not reach you privately, so here is the reminder for circle." in first
    assert REMINDER in first
    second = await ephemeral("help")
    assert "could not reach you" not in second and REMINDER not in second
    rules = await ephemeral("rules")
    assert rules.startswith("This room has no confidentiality policy")
    assert REMINDER not in rules  # nothing owed any more
