"""/agreements on Discord: members named by mention (which pings nobody), never raw ids,
including those who were in the server before the bot started."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.discord_fake import FakeDiscord

from .conftest import AdapterScene, eventually
from .test_adapter_commands import callback_of, join


async def test_agreements_name_members_by_mention(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    rig = await start_app()
    await asyncio.wait_for(rig.adapter.client.catch_up.known.wait(), 5)
    circle = str(scene.circle.id)

    async def counted() -> bool:
        present = await rig.app.store.room_presence("discord", circle)
        return present is not None and str(scene.alice.id) in present

    for _ in range(300):  # bounded: the first count of #circle reaches the store
        if await counted():
            break
        await asyncio.sleep(0.01)
    carol = await join(fake, scene, "carol")  # joins while the bot runs
    interaction = await fake.events.slash_command(
        "agreements", user=scene.mod, channel=scene.circle
    )
    callback = await callback_of(fake, interaction)
    data = callback.json["data"]
    text = str(data["content"])
    assert text.startswith("Agreements to the reminder of circle, current text first:")
    assert f"<@{scene.alice.id}>" in text  # there before the bot started
    assert f"<@{carol.id}>" in text
    for user in (scene.alice, carol):  # a snowflake only inside a mention
        assert text.count(str(user.id)) == text.count(f"<@{user.id}>")
    assert "<member:" not in text
    assert data.get("allowed_mentions", {}).get("parse") == []  # nobody is pinged
    await eventually(lambda: True)
