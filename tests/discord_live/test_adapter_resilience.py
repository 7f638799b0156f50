"""Discord misbehaving: rate limits, a dropped gateway, and the bot itself restarting. None of
them may cost a reminder or cause one (or a deletion) twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from adapters.discord.client import SERVER_ERROR_RETRY_S
from bot.events import MessagePosted
from tests.discord_fake import FakeDiscord, payloads
from tests.discord_fake.gateway import IDENTIFY, RESUME

from .conftest import REMINDER, AdapterScene

MESSAGES = "/channels/{channel_id}/messages"


async def test_a_rate_limited_reminder_is_retried_after_retry_after(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    fake.faults.rate_limit("POST", f"/channels/{dm.id}/messages", retry_after=0.3)
    await fake.events.member_add(adapter_scene.guild, carol)
    first, second = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", count=2)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 0.29
    assert first.json == second.json  # the same message, with the same nonce
    assert REMINDER in second.json["content"]
    await asyncio.sleep(0.1)
    assert len(fake.calls("POST", f"/channels/{dm.id}/messages")) == 2


async def test_a_dropped_gateway_resumes_without_handling_anything_twice(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    await fake.events.member_add(adapter_scene.guild, carol)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")
    session = fake.gateway.current
    assert session is not None
    mark_frames, mark = fake.frames.mark(), fake.requests.mark()

    await fake.gateway.close_socket(4000)
    post = await fake.events.message_create(adapter_scene.circle, carol, "while you were away")
    assert not fake.gateway.connected  # it really was sent while the bot was disconnected
    [resume] = await fake.wait_for_op(RESUME, since=mark_frames, timeout=5)
    assert resume.d["session_id"] == session.id
    assert fake.frames.find(lambda f: f.op == IDENTIFY, since=mark_frames) == []

    delete_route = f"/channels/{adapter_scene.circle.id}/messages/{post.id}"
    [deleted] = await fake.wait_for_call("DELETE", delete_route, since=mark, timeout=5)
    assert deleted.status == 204
    # Discord may deliver an event again around a reconnect: the same post is handled once
    await fake.events.raw("MESSAGE_CREATE", payloads.message(fake.world, post))
    marker = await fake.events.message_create(adapter_scene.lobby, adapter_scene.mod, "marker")
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(marker.id)
    )
    await asyncio.sleep(0.05)
    assert len(fake.calls("DELETE", delete_route)) == 1
    told = [
        c for c in fake.calls("POST", f"/channels/{dm.id}/messages", since=mark)
        if c.json["content"].startswith("Your message in circle was removed")
    ]
    assert len(told) == 1
    assert [e.message_id for e in rig.of_type(MessagePosted)].count(str(post.id)) == 1


async def test_a_restart_never_resends_and_delivers_what_was_owed_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    carol, dave = fake.world.add_user("carol"), fake.world.add_user("dave")
    carol_dm, dave_dm = fake.world.open_dm(carol), fake.world.open_dm(dave)
    first = await start_app()
    await fake.events.member_add(adapter_scene.guild, carol)
    await fake.wait_for_call("POST", f"/channels/{carol_dm.id}/messages")
    agreed = fake.requests.mark()  # she agrees, so coming back later asks nothing again
    await fake.events.message_create(carol_dm, carol, "/agree")
    await fake.wait_for_call("POST", f"/channels/{carol_dm.id}/messages", since=agreed)
    # Discord has an outage just as dave's reminder goes out, longer than the adapter retries
    fake.faults.server_error(
        "POST", f"/channels/{dave_dm.id}/messages", status=503, count=len(SERVER_ERROR_RETRY_S) + 1
    )
    await fake.events.member_add(adapter_scene.guild, dave)
    [failed] = await fake.wait_for_call("POST", f"/channels/{dave_dm.id}/messages")
    assert failed.status == 503
    await first.close()

    mark = fake.requests.mark()
    second = await start_app()  # a new App, client and connection; the same database
    [owed] = await fake.wait_for_call("POST", f"/channels/{dave_dm.id}/messages", since=mark)
    assert owed.status == 200 and REMINDER in owed.json["content"]
    assert owed.json["nonce"] == failed.json["nonce"]  # Discord could dedupe a lost success
    await fake.events.member_remove(adapter_scene.guild, carol)
    await fake.events.member_add(adapter_scene.guild, carol)
    await second.wait_for_event(lambda e: type(e).__name__ == "MemberJoined")
    await asyncio.sleep(0.1)
    assert fake.calls("POST", f"/channels/{carol_dm.id}/messages", since=mark) == []
    await second.close()

    mark = fake.requests.mark()
    await start_app()
    await asyncio.sleep(0.05)
    assert fake.calls("POST", MESSAGES, since=mark) == []
