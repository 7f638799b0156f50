"""A refused action is never reported as done: when Discord answers 403 to what a policy
needs, the next way to reach the member is tried, the moderators hear of it once, and a
reminder that reached nobody stays owed until something does reach the member."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.discord_fake import FakeDiscord
from tests.discord_fake.permissions import (
    MANAGE_MESSAGES,
    MANAGE_ROLES,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)
from tests.discord_fake.state import FakeOverwrite, FakeUser

from .conftest import ADAPTER_POLICY, REMINDER, AdapterScene
from .test_adapter_leaks import LEAK_POLICY, SHARED, share_and_forward

EPHEMERAL = 64


def policy(fallback: str) -> str:
    return ADAPTER_POLICY.replace(
        "  delivery: private\n", f"  delivery: private\n  fallback: {fallback}\n"
    )


def mods_alerts(fake: FakeDiscord, scene: AdapterScene) -> list[str]:
    return [
        str(r.json["content"])
        for r in fake.calls("POST", f"/channels/{scene.mods.id}/messages")
        if r.status == 200
    ]


async def join_closed(fake: FakeDiscord, scene: AdapterScene, name: str) -> FakeUser:
    user = fake.world.add_user(name, accepts_dms=False)
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, user)
    await fake.wait_for_call(
        "PUT", f"/channels/{scene.circle.id}/permissions/{user.id}", since=mark
    )
    return user


async def delivered(rig: Any, user: FakeUser) -> bool:
    owed = await rig.app.store.owed_reminders("discord", str(user.id))
    return not [r for r in owed if r.policy == "circle"]


async def test_a_refused_private_thread_falls_back_to_a_mention_and_is_alerted_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # the README's invite link alone: Discord refuses the private thread (403 50013)
    rig = await start_app(policy=policy("private_thread"))
    circle = adapter_scene.circle
    start_alerts = len(mods_alerts(fake, adapter_scene))  # the start-up report names it too
    erin = await join_closed(fake, adapter_scene, "erin")
    [refused] = await fake.wait_for_call("POST", f"/channels/{circle.id}/threads")
    assert refused.status == 403
    [mention] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages")
    assert mention.status == 200
    assert mention.json["content"].startswith(f"<@{erin.id}> I could not reach you privately")
    assert REMINDER in mention.json["content"]
    assert await delivered(rig, erin)  # the mention reached her
    posted = await fake.wait_for_call(
        "POST", f"/channels/{adapter_scene.mods.id}/messages", count=start_alerts + 1
    )
    [alert] = posted[start_alerts:]
    assert "in circle the platform refused a private thread" in alert.json["content"]
    assert "50013" in alert.json["content"] and REMINDER not in alert.json["content"]
    # a second member: the same fallback, no second alert
    finn = await join_closed(fake, adapter_scene, "finn")
    await fake.wait_for_call("POST", f"/channels/{circle.id}/messages", count=2)
    assert await delivered(rig, finn)
    await asyncio.sleep(0.1)
    assert len(mods_alerts(fake, adapter_scene)) == start_alerts + 1


async def test_a_reminder_nothing_could_deliver_stays_owed_until_the_member_is_reached(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # closed DMs, and the bot may not post in #circle: the room mention is refused too
    bot_role, circle = adapter_scene.bot_role, adapter_scene.circle
    circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=SEND_MESSAGES)
    rig = await start_app(policy=policy("room_mention"))
    start_alerts = len(mods_alerts(fake, adapter_scene))
    erin = await join_closed(fake, adapter_scene, "erin")
    [refused] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages")
    assert refused.status == 403
    await fake.wait_for_call(
        "POST", f"/channels/{adapter_scene.mods.id}/messages", count=start_alerts + 1
    )
    alert = mods_alerts(fake, adapter_scene)[start_alerts]
    assert "in circle the platform refused a post" in alert
    [owed] = await rig.app.store.owed_reminders("discord", str(erin.id))
    assert owed.attempts == 1  # counted, so it is tried again a bounded number of times
    # still being tried: her next command does not carry it yet (a try Discord took just
    # before a crash would otherwise reach her twice)
    assert REMINDER not in await help_answer(fake, adapter_scene, erin)
    clock = rig.app.core.clock
    for pause in (timedelta(minutes=1, seconds=1), timedelta(minutes=5, seconds=1)):
        await clock.advance(pause)
        await rig.app.runtime.tick()
    [owed] = await rig.app.store.owed_reminders("discord", str(erin.id))
    assert owed.attempts == 3  # and no more tries after these
    assert len([c for c in fake.calls("POST", f"/channels/{circle.id}/messages")]) == 3
    assert len(mods_alerts(fake, adapter_scene)) == start_alerts + 1  # told once
    # every try refused: her next command (where she can type) carries it, privately, once
    assert REMINDER in await help_answer(fake, adapter_scene, erin)
    assert await delivered(rig, erin)
    assert REMINDER not in await help_answer(fake, adapter_scene, erin)  # once


async def help_answer(fake: FakeDiscord, scene: AdapterScene, user: FakeUser) -> str:
    interaction = await fake.events.slash_command("help", user=user, channel=scene.lobby)
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    assert callback.json["data"]["flags"] == EPHEMERAL
    return str(callback.json["data"]["content"])


async def test_a_refused_alert_is_told_to_the_other_alert_rooms_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, world = adapter_scene, fake.world
    bob = world.add_user("bob")
    world.add_member(scene.guild, bob)
    backup = world.add_text_channel(scene.guild, "mods-2")
    two_rooms = LEAK_POLICY.replace(
        "    name: mods\n", "    name: mods\n  - platform: discord\n    name: mods-2\n"
    )
    rig = await start_app(policy=two_rooms)
    # an admin takes Send Messages in #mods from the bot's role while it runs
    bot_role = scene.bot_role
    scene.mods.overwrites[bot_role.id] = FakeOverwrite(
        bot_role.id, 0, allow=VIEW_CHANNEL, deny=SEND_MESSAGES
    )
    for _ in range(2):  # two leaks: two refused alerts in #mods, one note about it
        mark = fake.requests.mark()
        await share_and_forward(fake, scene, rig, bob)
        [refused] = await fake.wait_for_call(
            "POST", f"/channels/{scene.mods.id}/messages", since=mark
        )
        assert refused.status == 403
        await fake.wait_for_call("POST", f"/channels/{backup.id}/messages", since=mark)
    await asyncio.sleep(0.1)
    notes = [
        str(c.json["content"])
        for c in fake.calls("POST", f"/channels/{backup.id}/messages")
        if "refused posting moderator alerts" in str(c.json["content"])
    ]
    assert len(notes) == 1 and "in mods the platform refused posting moderator alerts" in notes[0]
    assert "50013" in notes[0] and SHARED not in notes[0]


async def test_a_post_discord_would_not_remove_is_never_called_removed(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # neither Manage Messages nor Manage Permissions in #circle: the hold cannot be set
    # and the removal of an unagreed post is refused
    bot_role, circle = adapter_scene.bot_role, adapter_scene.circle
    circle.overwrites[bot_role.id] = FakeOverwrite(
        bot_role.id, 0, deny=MANAGE_MESSAGES | MANAGE_ROLES
    )
    await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, carol)
    await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)  # reminder
    mark = fake.requests.mark()
    post = await fake.events.message_create(circle, carol, "my week was hard")
    [refused] = await fake.wait_for_call(
        "DELETE", f"/channels/{circle.id}/messages/{post.id}", since=mark
    )
    assert refused.status == 403 and post.id in fake.world.messages
    [told] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert "is in the room" in told.json["content"]
    assert "removed" not in told.json["content"] and "hard" not in told.json["content"]
