"""A quote posted over two messages on Discord: one alert in #mods naming (and linking)
both parts, and with ``delete_copy`` both parts removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeUser

from .conftest import AdapterScene
from .test_adapter_leaks import (
    DELETE_POLICY,
    LEAK_POLICY,
    alert_in_mods,
    assert_no_words,
    jump,
    share,
)

SHARED = (
    "after the funeral my brother stopped answering my calls and I started drinking again "
    "every single night"
)
PARTS = (  # its first 18 words, 9 + 9: neither part alone is long enough for a fingerprint
    "after the funeral my brother stopped answering my calls",
    "and I started drinking again every single night",
)


@pytest.fixture
def bob(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    """A member who was there before the bot started (so no join reminder)."""
    user = fake.world.add_user("bob")
    fake.world.add_member(adapter_scene.guild, user)
    return user


async def post_parts(fake: FakeDiscord, scene: AdapterScene, author: FakeUser) -> list[Any]:
    return [await fake.events.message_create(scene.lobby, author, part) for part in PARTS]


async def test_a_quote_in_two_messages_raises_one_alert_naming_both(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    await share(fake, scene, rig, SHARED)
    mark = fake.requests.mark()
    first, second = await post_parts(fake, scene, bob)
    alert = await alert_in_mods(fake, scene, mark)
    assert alert.startswith("Possible leak from circle (flag 1): a quote of what was said there")
    assert f"Part 1 of 2: {jump(scene, scene.lobby, first)}" in alert
    assert f"Copy (part 2 of 2): {jump(scene, scene.lobby, second)}" in alert
    assert f"Posted in 2 parts: messages {first.id}, {second.id}." in alert
    assert_no_words(alert)
    assert len(fake.calls("POST", f"/channels/{scene.mods.id}/messages", since=mark)) == 1
    [flag] = await rig.app.store.open_flags()
    assert (flag.signal, flag.message_id, flag.poster_id) == ("quote", str(second.id), str(bob.id))


async def test_delete_copy_removes_every_part(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=DELETE_POLICY)
    await share(fake, scene, rig, SHARED)
    mark = fake.requests.mark()
    parts = await post_parts(fake, scene, bob)
    for part in parts:
        [deleted] = await fake.wait_for_call(
            "DELETE", f"/channels/{scene.lobby.id}/messages/{part.id}", since=mark
        )
        assert deleted.status == 204 and part.id not in fake.world.messages
    alert = await alert_in_mods(fake, scene, mark)
    assert "The copy was removed from the room." in alert
