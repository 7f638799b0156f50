"""Repeat leakers and the audit of the bot's own actions on Discord, against the fake: a
confirmed repeat leaker is timed out with Discord's communication timeout (the bot's role
needs Moderate Members, which the invite link does not give), restored when it ends, and
/audit lists the bot's deletions, posting holds, role grants and timeouts with the policy
and the reason, never a member's words."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.discord_fake import FakeDiscord
from tests.discord_fake.events import MemberCannot
from tests.discord_fake.moderation import MODERATE_MEMBERS
from tests.discord_fake.state import FakeOverwrite, FakeUser

from .conftest import ADAPTER_POLICY, AdapterScene
from .test_adapter_leaks import SHARED, WORDS, share

EPHEMERAL = 64
SEND_MESSAGES = 1 << 11
MEMBER = "/guilds/{guild_id}/members/{user_id}"
TIMEOUT = "leaks:\n  repeat:\n    count: 1\n    action: timeout\n    timeout_minutes: 60\n"


async def slash(fake: FakeDiscord, scene: AdapterScene, name: str, **options: Any) -> str:
    interaction = await fake.events.slash_command(
        name, user=scene.mod, channel=scene.mods, options=options or None
    )
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    assert callback.json["data"]["flags"] == EPHEMERAL
    return str(callback.json["data"]["content"])


async def agree(fake: FakeDiscord, scene: AdapterScene, user: FakeUser) -> None:
    interaction = await fake.events.slash_command("agree", user=user, channel=scene.circle)
    await fake.wait_for_call("POST", f"/interactions/{interaction.id}/{interaction.token}/callback")


async def leak_and_confirm(fake: FakeDiscord, scene: AdapterScene, rig: Any, bob: FakeUser) -> str:
    """Alice (agreed) shares in #circle, bob forwards it to #lobby, a moderator confirms."""
    await agree(fake, scene, scene.alice)
    original = await share(fake, scene, rig, SHARED)
    mark = fake.requests.mark()
    await fake.events.forward(original, into=scene.lobby, author=bob)
    await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=mark)
    [flag] = await rig.app.store.open_flags()
    return await slash(fake, scene, "flag", action="resolve", id=flag.id)


async def to_real_time(rig: Any) -> None:
    """The core's clock to now: Discord compares a timeout's end with its own clock."""
    clock = rig.app.core.clock
    await clock.advance(datetime.now(UTC) - clock.now())


@pytest.fixture
def bob(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    user = fake.world.add_user("bob")
    fake.world.add_member(adapter_scene.guild, user)
    return user


async def test_a_confirmed_timeout_silences_the_member_and_is_restored(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    fake.world.grant_bot(scene.guild, MODERATE_MEMBERS)  # the README's extra permission
    rig = await start_app(policy=ADAPTER_POLICY + TIMEOUT)
    await to_real_time(rig)
    resolved = await leak_and_confirm(fake, scene, rig, bob)
    assert "1st confirmed flag of this member in 30 days." in resolved
    assert "/flag confirm-action 1" in resolved
    assert fake.calls("PATCH", MEMBER) == []  # nothing before a moderator confirms
    # (the alert went out before the answer: actions are carried out in order)
    told = [c.json["content"] for c in fake.calls("POST", f"/channels/{scene.mods.id}/messages")]
    proposed = "Proposed: a 60-minute timeout (action 1). To do it: /flag confirm-action 1"
    assert any(proposed in t for t in told)
    history = await slash(fake, scene, "flags", member=f"<@{bob.id}>")
    assert "Confirmed flags of" in history and "a 60-minute timeout (action 1): proposed" in history
    mark = fake.requests.mark()
    assert "Confirmed: a 60-minute timeout" in await slash(
        fake, scene, "flag", action="confirm-action", id=1
    )
    [patch] = await fake.wait_for_call(
        "PATCH", f"/guilds/{scene.guild.id}/members/{bob.id}", since=mark
    )
    assert patch.status == 200 and patch.json["communication_disabled_until"]
    with pytest.raises(MemberCannot):
        await fake.events.message_create(scene.lobby, bob, "hello again")
    # the end is stored: the tick restores it when due (the timeout was set on one server
    # for each of the policy's channels; once is enough to end it)
    await rig.app.core.clock.advance(timedelta(minutes=61))
    mark = fake.requests.mark()
    await rig.app.runtime.tick()
    ended = await fake.wait_for_call(
        "PATCH", f"/guilds/{scene.guild.id}/members/{bob.id}", since=mark
    )
    assert all(call.json["communication_disabled_until"] is None for call in ended)
    assert scene.guild.members[bob.id].communication_disabled_until is None
    audit = await slash(fake, scene, "audit", limit=50)
    assert f"discord:confidant bot timeout ({bob.id} in circle until" in audit
    assert f"discord:confidant bot timeout ended ({bob.id} in circle: timeout of action 1" in audit
    assert all(word not in resolved + history + audit for word in WORDS)


async def test_without_moderate_members_the_timeout_is_not_tried_and_moderators_hear(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    automatic = TIMEOUT + "    automatic: true\n"
    rig = await start_app(policy=ADAPTER_POLICY + automatic)
    await to_real_time(rig)
    mark = fake.requests.mark()
    resolved = await leak_and_confirm(fake, scene, rig, bob)
    assert "(automatic)" in resolved
    mods = f"/channels/{scene.mods.id}/messages"
    alerts = await fake.wait_for_call("POST", mods, since=mark, count=3)
    assert "Repeat leaker: the poster of flag 1 has 1 confirmed flags" in alerts[1].json["content"]
    told = [call.json["content"] for call in alerts[1:]]
    refused = "refused a timeout of a repeat leaker"
    assert any(refused in t and "Moderate Members" in t for t in told)
    await asyncio.sleep(0.05)
    assert fake.calls("PATCH", MEMBER) == []  # a request Discord would refuse is not made
    assert scene.guild.members[bob.id].communication_disabled_until is None
    audit = await slash(fake, scene, "audit")
    assert "bot timeout (" not in audit  # refused: never audited as done


async def test_audit_lists_the_bots_deletion_hold_role_and_timeout_with_policy_and_reason(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene, world, guild = adapter_scene, fake.world, adapter_scene.guild
    world.grant_bot(guild, MODERATE_MEMBERS)
    agreed = world.add_role(guild, "agreed")
    world.move_role(guild, scene.bot_role, len(guild.roles))
    scene.inner.overwrites[agreed.id] = FakeOverwrite(agreed.id, 0, allow=SEND_MESSAGES)
    room = '  - platform: discord\n    id: "{inner_id}"\n'
    assert room in ADAPTER_POLICY
    policy = ADAPTER_POLICY.replace(room, room + f'    agreed_role: "{agreed.id}"\n')
    rig = await start_app(policy=policy + TIMEOUT + "    automatic: true\n")
    await to_real_time(rig)
    # a posting hold: carol (a peer: she sees #inner too) joins and may not post in #circle
    # until she agrees; her agreement gives her #inner's role
    carol = world.add_user("carol")
    mark = fake.requests.mark()
    await fake.events.member_add(guild, carol, roles=[scene.peer_role])
    await fake.wait_for_call("PUT", f"/channels/{scene.circle.id}/permissions/{carol.id}",
                             since=mark)
    for _ in range(300):  # reminded of both rooms (bounded: 3 s)
        rooms = await rig.app.store.rooms_reminded("discord", str(carol.id), "circle")
        if {room_id for room_id, _ in rooms} >= {str(scene.circle.id), str(scene.inner.id)}:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("carol was not reminded of #circle and #inner")
    interaction = await fake.events.slash_command("agree", user=carol, channel=scene.lobby)
    await fake.wait_for_call("POST", f"/interactions/{interaction.id}/{interaction.token}/callback")
    await fake.wait_for_call("PUT", f"/guilds/{guild.id}/members/{carol.id}/roles/{agreed.id}")
    # a held post: bob, there before the bot, posts in #circle without agreeing
    held = await fake.events.message_create(scene.circle, bob, "my private words here")
    await fake.wait_for_call("DELETE", f"/channels/{scene.circle.id}/messages/{held.id}")
    # a timeout: bob's leak is confirmed
    await leak_and_confirm(fake, scene, rig, bob)
    await fake.wait_for_call("PATCH", f"/guilds/{guild.id}/members/{bob.id}")
    wanted = {"bot delete", "bot posting held", "bot role given", "bot timeout"}
    for _ in range(300):  # each row is written once discord.py returns the call (bounded: 3 s)
        if wanted <= {e.action for e in await rig.app.store.audit_entries(policies=["circle"])}:
            break
        await asyncio.sleep(0.01)
    audit = await slash(fake, scene, "audit", limit=50)
    lines = audit.splitlines()

    def entry(action: str) -> str:
        found = [line for line in lines if f"discord:confidant {action} (" in line]
        assert found, (action, audit)
        return found[0]

    assert f"{carol.id} in circle: has not agreed to the current reminder" in entry(
        "bot posting held"
    )
    assert f"message {held.id} by {bob.id} in circle: posted before agreeing" in entry(
        "bot delete"
    )
    assert f"role {agreed.id} for {carol.id} in inner: agreed to the reminder" in (
        entry("bot role given")
    )
    assert f"{bob.id} in circle until" in audit and "repeat leaker, action 1" in entry(
        "bot timeout"
    )
    entries = await rig.app.store.audit_entries(policies=["circle"])
    assert wanted <= {e.action for e in entries}
    assert all(e.policy == "circle" for e in entries)
    text = audit + repr(entries)
    assert "private words" not in text and all(word not in text for word in WORDS)
