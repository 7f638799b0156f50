"""Joining on Discord means gaining sight of a channel; each way of gaining it reaches the
core as MemberJoined, and the core's reminder goes out as a DM (or the room fallback)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.events import MemberJoined, MemberLeft
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeOverwrite

from .conftest import REMINDER, VIEW_CHANNEL, AdapterScene

OPEN_DM = "/users/@me/channels"
MESSAGES = "/channels/{channel_id}/messages"
OVERWRITE = "/channels/{channel_id}/permissions/{target_id}"
SEND_MESSAGES = 1 << 11
SEND_IN_THREADS = 1 << 38


async def wait_for_cache(holds: Callable[[], bool], timeout: float = 3.0) -> None:
    """Until discord.py's cache shows what ``holds`` checks; bounded in time."""
    for _ in range(int(timeout / 0.01)):
        if holds():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the bot's cache never showed the change")


def joined_rooms(events: list[Any], user_id: int) -> set[str | None]:
    return {
        e.room.name for e in events if isinstance(e, MemberJoined) and e.member.id == str(user_id)
    }


async def test_join_sends_the_reminder_by_dm_and_holds_posting(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = fake.world.add_user("carol")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, carol)
    [opened] = await fake.wait_for_call("POST", OPEN_DM, since=mark)
    assert opened.json == {"recipient_id": carol.id}
    dm = fake.world.open_dm(carol)
    [reminder] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    text = reminder.json["content"]
    assert text.startswith("Welcome to circle.") and REMINDER in text and "/agree" in text
    assert reminder.json["enforce_nonce"] is True
    assert 0 < len(reminder.json["nonce"]) <= 25
    # until carol agrees she cannot post in #circle: a member overwrite denying it
    [hold] = await fake.wait_for_call("PUT", f"/channels/{adapter_scene.circle.id}/permissions/"
                                      f"{carol.id}", since=mark)
    assert hold.json["type"] == 1
    assert int(hold.json["deny"]) == SEND_MESSAGES | SEND_IN_THREADS
    assert int(hold.json["allow"]) == 0
    # she sees circle and lobby, not the role-only #inner nor #mods
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined) and e.room.name == "lobby")
    assert joined_rooms(rig.events, carol.id) == {"circle", "lobby"}
    assert fake.calls("POST", f"/channels/{adapter_scene.circle.id}/messages") == []
    assert fake.unexpected_calls() == []


async def test_closed_dms_fall_back_to_a_mention_in_the_room(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app()
    erin = fake.world.add_user("erin", accepts_dms=False)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, erin)
    [fallback] = await fake.wait_for_call(
        "POST", f"/channels/{adapter_scene.circle.id}/messages", since=mark
    )
    refused = [c for c in fake.calls("POST", MESSAGES, since=mark) if c.status == 403]
    assert len(refused) == 1  # the DM was tried first and Discord said 50007
    content = fallback.json["content"]
    assert content.startswith(f"<@{erin.id}> I could not reach you privately")
    assert REMINDER in content
    # the mention pings erin and nobody else
    assert fallback.json["allowed_mentions"] == {"parse": [], "users": [erin.id]}


async def test_a_second_join_sends_nothing(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    await fake.events.member_add(adapter_scene.guild, carol)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")
    # she agreed (one who never did is reminded again on coming back: test_adapter_rejoin)
    mark = fake.requests.mark()
    await fake.events.message_create(dm, carol, "/agree")
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    await fake.events.member_remove(adapter_scene.guild, carol)
    await rig.wait_for_event(lambda e: isinstance(e, MemberLeft) and e.member.id == str(carol.id))
    mark = fake.requests.mark()
    seen = len(rig.events)
    await fake.events.member_add(adapter_scene.guild, carol)
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined), since=seen)
    await asyncio.sleep(0.1)
    assert fake.calls("POST", MESSAGES, since=mark) == []
    assert fake.calls("POST", OPEN_DM, since=mark) == []


async def test_pending_members_are_reminded_while_still_in_screening(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """A member still in rules screening (pending) can already read the channels their
    roles show (Discord holds back only talking: guild resource docs, Membership Screening),
    so the reminder is due on joining; passing screening later changes nothing."""
    rig = await start_app()
    dan = fake.world.add_user("dan")
    dm = fake.world.open_dm(dan)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, dan, pending=True)
    [reminder] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert reminder.json["content"].startswith("Welcome to circle.")
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined) and e.room.name == "lobby")
    assert joined_rooms(rig.events, dan.id) == {"circle", "lobby"}
    # a role given while still pending shows #inner: that too is a join, reminded
    await fake.events.member_update(adapter_scene.guild, dan, roles=[adapter_scene.peer_role])
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined) and e.room.name == "inner")
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark, count=2)
    seen = len(rig.events)
    await fake.events.member_update(adapter_scene.guild, dan, pending=False)
    marker = await fake.events.message_create(adapter_scene.lobby, adapter_scene.mod, "marker")
    await rig.wait_for_event(
        lambda e: getattr(e, "message_id", None) == str(marker.id), since=seen
    )
    await asyncio.sleep(0.1)
    assert [e for e in rig.events[seen:] if isinstance(e, MemberJoined | MemberLeft)] == []
    assert len(fake.calls("POST", f"/channels/{dm.id}/messages", since=mark)) == 2


async def test_a_role_that_reveals_a_channel_is_a_join_and_removing_it_a_leave(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    alice = adapter_scene.alice
    mark = fake.requests.mark()
    await fake.events.member_update(adapter_scene.guild, alice, roles=[adapter_scene.peer_role])
    dm = fake.world.open_dm(alice)
    [reminder] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert reminder.json["content"].startswith("Welcome to inner.")
    assert joined_rooms(rig.events, alice.id) == {"inner"}  # she already saw circle and lobby
    await fake.events.member_update(adapter_scene.guild, alice, roles=[])
    left = await rig.wait_for_event(
        lambda e: isinstance(e, MemberLeft) and e.member.id == str(alice.id)
    )
    assert left.room.name == "inner"
    assert len(rig.of_type(MemberLeft)) == 1


async def test_a_permission_overwrite_that_reveals_a_channel_is_a_join(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    alice, inner = adapter_scene.alice, adapter_scene.inner
    overwrites = dict(inner.overwrites)
    overwrites[alice.id] = FakeOverwrite(alice.id, 1, allow=VIEW_CHANNEL)
    mark = fake.requests.mark()
    await fake.events.channel_update(inner, overwrites=overwrites)
    joined = await rig.wait_for_event(
        lambda e: isinstance(e, MemberJoined) and e.member.id == str(alice.id)
    )
    assert (joined.room.id, joined.room.name) == (str(inner.id), "inner")
    assert [e.member.id for e in rig.of_type(MemberJoined)] == [str(alice.id)]
    # The bot holds her posting (the policy asks for agreement) with an overwrite of its own
    # for her; the moderator takes her view away once that is in place. (Within the same few
    # milliseconds the two would race: Discord's overwrite PUT replaces the member's whole
    # overwrite and has no condition, so the later write wins, whoever made it.)
    await fake.wait_for_call("PUT", f"/channels/{inner.id}/permissions/{alice.id}", since=mark)
    await wait_for_cache(
        lambda: rig.adapter.client.get_channel(inner.id).overwrites_for(
            rig.adapter.client.get_guild(adapter_scene.guild.id).get_member(alice.id)
        ).send_messages is False
    )
    without = {k: v for k, v in inner.overwrites.items() if k != alice.id}
    await fake.events.channel_update(inner, overwrites=without)
    left = await rig.wait_for_event(lambda e: isinstance(e, MemberLeft))
    assert (left.member.id, left.room.name) == (str(alice.id), "inner")


async def test_being_added_to_a_private_thread_is_a_join(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # #inner is selected by id; a thread inherits the policy of its parent's id
    thread = fake.world.add_thread(adapter_scene.inner, "tuesday", private=True)
    adapter_scene.guild.members[adapter_scene.alice.id].role_ids.append(adapter_scene.peer_role.id)
    rig = await start_app()
    await fake.events.thread_members_update(thread, added=[adapter_scene.alice])
    joined = await rig.wait_for_event(lambda e: isinstance(e, MemberJoined))
    assert joined.room.id == str(thread.id)
    assert joined.room.name == "tuesday"
    assert joined.room.parent_id == str(adapter_scene.inner.id)
    assert joined.member.id == str(adapter_scene.alice.id)
    dm = fake.world.open_dm(adapter_scene.alice)
    [reminder] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")
    assert reminder.json["content"].startswith("Welcome to tuesday.")
    await fake.events.thread_members_update(thread, removed=[adapter_scene.alice])
    left = await rig.wait_for_event(lambda e: isinstance(e, MemberLeft))
    assert left.room.id == str(thread.id)


async def test_leaving_the_server_leaves_every_room_seen(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    await fake.events.member_remove(adapter_scene.guild, adapter_scene.alice)
    await rig.wait_for_event(lambda e: isinstance(e, MemberLeft))
    await asyncio.sleep(0.05)
    assert {e.room.name for e in rig.of_type(MemberLeft)} == {"circle", "lobby"}
