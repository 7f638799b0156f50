"""At start the bot tells each policy's moderators (and the log) exactly which Discord
permissions that policy needs in its rooms and the bot lacks, and nothing it does not use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.permissions import READ_MESSAGE_HISTORY, SEND_MESSAGES, VIEW_CHANNEL
from tests.discord_fake.state import FakeOverwrite

from .conftest import ADAPTER_POLICY, AdapterScene

THREAD_POLICY = ADAPTER_POLICY.replace(
    "  delivery: private\n", "  delivery: private\n  fallback: private_thread\n"
)


def alerts(fake: FakeDiscord, scene: AdapterScene) -> list[str]:
    return [
        str(r.json["content"]) for r in fake.calls("POST", f"/channels/{scene.mods.id}/messages")
    ]


async def test_a_private_thread_policy_without_create_private_threads_is_reported(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # the README's invite link alone: no Create Private Threads
    await start_app(policy=THREAD_POLICY)
    await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages", count=2)
    await asyncio.sleep(0.1)
    content = "\n".join(alerts(fake, adapter_scene))
    assert len(alerts(fake, adapter_scene)) == 2  # one per covered room, once
    for room in ("circle", "inner"):
        assert (
            f"in {room} the bot lacks Create Private Threads and Send Messages in Threads in "
            f"#{room}, needed to open a private thread" in content
        )
    assert "lobby" not in content  # no policy covers it: nothing it lacks there matters
    assert "Read Message History" not in content  # it has it; and this policy never reads
    assert "circle the bot lacks Create Private Threads" in caplog.text


async def test_what_a_policy_does_not_use_is_not_reported(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    # without Read Message History in #circle: a private-delivery policy never needs it
    bot_role = adapter_scene.bot_role
    circle = adapter_scene.circle
    circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=READ_MESSAGE_HISTORY)
    await start_app()
    await asyncio.sleep(0.2)
    assert alerts(fake, adapter_scene) == []


async def test_a_room_the_bot_cannot_post_in_and_an_alert_room_it_cannot_see(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    scene, world = adapter_scene, fake.world
    bot_role = scene.bot_role
    # #circle: the bot may read but not post, so the room-mention fallback cannot go out
    scene.circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=SEND_MESSAGES)
    # a second alert room the bot cannot even see
    hidden = world.add_text_channel(scene.guild, "mods-2")
    hidden.overwrites[scene.guild.id] = FakeOverwrite(scene.guild.id, 0, deny=VIEW_CHANNEL)
    policy = ADAPTER_POLICY.replace(
        "    name: mods\n", "    name: mods\n  - platform: discord\n    name: mods-2\n"
    )
    await start_app(policy=policy)
    await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", count=2)
    told = "\n".join(alerts(fake, scene))
    lacks_send = "in circle the bot lacks Send Messages in #circle, needed to post the room's"
    assert lacks_send in told
    assert "in mods-2 the bot lacks View Channel in #mods-2, needed to post moderator alerts" in (
        told
    )
    assert "mods-2 the bot lacks View Channel" in caplog.text  # the log has it too


async def test_a_covered_channel_the_bot_cannot_see_is_named_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """Without View Channel the agreement rule is not enforced and nothing else works
    there either: the alert names View Channel once, not once per reason."""
    bot_role, circle = adapter_scene.bot_role, adapter_scene.circle
    circle.overwrites[bot_role.id] = FakeOverwrite(bot_role.id, 0, deny=VIEW_CHANNEL)
    await start_app()
    await fake.wait_for_call("POST", f"/channels/{adapter_scene.mods.id}/messages")
    await asyncio.sleep(0.1)
    told = "\n".join(alerts(fake, adapter_scene))
    assert "in circle I can neither stop members who have not agreed" in told
    assert told.count("View Channel in #circle") == 1
