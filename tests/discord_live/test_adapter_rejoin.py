"""Discord: a member who never agreed and comes back is reminded again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.events import MemberJoined, MemberLeft
from tests.discord_fake import FakeDiscord

from .conftest import REMINDER, AdapterScene


async def test_coming_back_without_having_agreed_reminds_again(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()
    carol = fake.world.add_user("carol")
    dm = fake.world.open_dm(carol)
    await fake.events.member_add(adapter_scene.guild, carol)
    [first] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages")
    await fake.events.member_remove(adapter_scene.guild, carol)
    await rig.wait_for_event(lambda e: isinstance(e, MemberLeft) and e.member.id == str(carol.id))
    mark = fake.requests.mark()
    seen = len(rig.events)
    await fake.events.member_add(adapter_scene.guild, carol)
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined), since=seen)
    [again] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert again.status == 200 and REMINDER in again.json["content"]
    assert again.json.get("nonce") != first.json.get("nonce")  # a new message, not a resend
    await asyncio.sleep(0.05)
    assert len(fake.calls("POST", f"/channels/{dm.id}/messages", since=mark)) == 1
