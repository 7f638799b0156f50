"""A room post that names members to notify (a join burst's room reminder, bot/bursts.py):
on Discord each is a user mention, and the post may ping exactly those members."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.actions import PostToRoom
from bot.events import Member, Room
from bot.mentions import member_token
from tests.discord_fake import FakeDiscord

from .conftest import AdapterScene


async def test_members_named_to_notify_are_mentioned_and_pinged_only_they(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    circle = adapter_scene.circle
    carol, dave = fake.world.add_user("carol"), fake.world.add_user("dave")
    for user in (carol, dave):
        fake.world.add_member(adapter_scene.guild, user)
    named = (Member("discord", str(carol.id)), Member("discord", str(dave.id)))
    text = (f"Welcome {member_token(named[0].id)} and {member_token(named[1].id)}: what is "
            f"shared here stays here. ({member_token(str(adapter_scene.alice.id))} is only named.)")
    mark = fake.requests.mark()
    await rig.app.runtime.execute([PostToRoom(Room("discord", str(circle.id), "circle"), text,
                                              mentions=named)])
    [post] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages", since=mark)
    content = post.json["content"]
    assert f"<@{carol.id}>" in content and f"<@{dave.id}>" in content
    assert "<member:" not in content
    assert post.json["allowed_mentions"] == {"parse": [], "users": sorted([carol.id, dave.id])}
