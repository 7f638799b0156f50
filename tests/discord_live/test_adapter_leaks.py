"""Leak flagging on Discord, against the protocol fake: forwards, message links and quotes
of a confidential channel's messages become flags whose alert in #mods carries jump
links and never the member's words; moderators' commands answer ephemerally."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.events import MessagePosted
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeChannel, FakeMessage, FakeUser

from .conftest import ADAPTER_POLICY, AdapterScene

# The circle's policy without the agreement gate: these tests are about what members post.
GATE = "  delivery: private\n  require_agreement: true\n"
assert GATE in ADAPTER_POLICY
LEAK_POLICY = ADAPTER_POLICY.replace(GATE, "")
DELETE_POLICY = LEAK_POLICY + "leaks:\n  actions:\n    delete_copy: true\n"

SHARED = (
    "after the funeral my brother stopped answering my calls and I started drinking again "
    "every single night"
)
QUOTE = "guess what: after the funeral my brother stopped answering my calls and I started drinking"
WORDS = ("funeral", "brother", "drinking", "answering")
EPHEMERAL = 64


async def share(fake: FakeDiscord, scene: AdapterScene, rig: Any, text: str = SHARED) -> Any:
    """Alice says something in #circle and the bot has fingerprinted it."""
    message = await fake.events.message_create(scene.circle, scene.alice, text)
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(message.id)
    )
    return message


async def share_and_forward(
    fake: FakeDiscord, scene: AdapterScene, rig: Any, forwarder: FakeUser
) -> tuple[Any, Any, int]:
    """Alice shares in #circle; the forwarder forwards it to #lobby. Requests made from the
    forward on are after the returned mark."""
    original = await share(fake, scene, rig)
    mark = fake.requests.mark()
    forward = await fake.events.forward(original, into=scene.lobby, author=forwarder)
    return original, forward, mark


async def alert_in_mods(fake: FakeDiscord, scene: AdapterScene, since: int) -> str:
    [alert] = await fake.wait_for_call("POST", f"/channels/{scene.mods.id}/messages", since=since)
    return str(alert.json["content"])


def jump(scene: AdapterScene, channel: FakeChannel, message: FakeMessage | None = None) -> str:
    link = f"https://discord.com/channels/{scene.guild.id}/{channel.id}"
    return f"{link}/{message.id}" if message is not None else link


def assert_no_words(text: str) -> None:
    for word in WORDS:
        assert word not in text


@pytest.fixture
def bob(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    """A member who was there before the bot started (so no join reminder)."""
    user = fake.world.add_user("bob")
    fake.world.add_member(adapter_scene.guild, user)
    return user


async def test_a_forward_is_flagged_with_jump_links_and_no_snapshot_text(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    original, forward, mark = await share_and_forward(fake, scene, rig, bob)
    alert = await alert_in_mods(fake, scene, mark)
    assert alert.startswith("Possible leak from circle (flag 1): a forward of a message from it")
    assert f"Copy: {jump(scene, scene.lobby, forward)}" in alert
    assert f"Source: {jump(scene, scene.circle, original)}" in alert
    assert_no_words(alert)
    [flag] = await rig.app.store.open_flags()
    assert (flag.signal, flag.room_id, flag.source_room_id, flag.poster_id) == (
        "forward",
        str(scene.lobby.id),
        str(scene.circle.id),
        str(bob.id),
    )
    # the poster is reminded privately, without the words either
    dm = fake.world.open_dm(bob)
    [reminded] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert "seems to repeat something from circle" in reminded.json["content"]
    assert_no_words(reminded.json["content"])
    assert_no_words(caplog.text)


async def test_a_message_link_and_a_quote_are_flagged(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    original = await share(fake, scene, rig)
    mark = fake.requests.mark()
    linked = await fake.events.message_create(
        scene.lobby, bob, f"look what she said {jump(scene, scene.circle, original)}"
    )
    alert = await alert_in_mods(fake, scene, mark)
    assert "(flag 1): a link to a message in it" in alert
    assert f"Copy: {jump(scene, scene.lobby, linked)}" in alert
    # (a reply cannot leave its channel on Discord, so there is no "reply" case here: the
    # fake refuses one, see test_fake_messages.py)
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, bob, QUOTE)
    alert = await alert_in_mods(fake, scene, mark)
    assert "(flag 2): a quote of what was said there" in alert
    assert "matching fingerprint" in alert
    assert f"Copy: {jump(scene, scene.lobby, quoted)}" in alert
    assert f"Source: {jump(scene, scene.circle)}" in alert  # a quote names no message
    assert_no_words(alert)
    flags = await rig.app.store.open_flags()
    assert sorted((f.signal, f.message_id) for f in flags) == sorted(
        [("link", str(linked.id)), ("quote", str(quoted.id))]
    )


async def test_delete_copy_removes_the_forward(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=DELETE_POLICY)
    original, forward, mark = await share_and_forward(fake, scene, rig, bob)
    [deleted] = await fake.wait_for_call(
        "DELETE", f"/channels/{scene.lobby.id}/messages/{forward.id}", since=mark
    )
    assert deleted.status == 204 and forward.id not in fake.world.messages
    alert = await alert_in_mods(fake, scene, mark)
    assert "The copy was removed from the room." in alert
    # the confidential original stays where it was
    assert fake.calls("DELETE", f"/channels/{scene.circle.id}/messages/{original.id}") == []


async def test_forwards_and_quotes_that_stay_or_start_outside_raise_nothing(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    general = fake.world.add_text_channel(scene.guild, "general")
    rig = await start_app(policy=LEAK_POLICY)
    original = await share(fake, scene, rig)
    mark = fake.requests.mark()
    # a lobby message forwarded elsewhere, a quote and a reply inside the circle itself
    outside = await fake.events.message_create(scene.lobby, bob, "meeting moved to thursday")
    await fake.events.forward(outside, into=general, author=bob)
    await fake.events.message_create(scene.circle, bob, QUOTE)
    await fake.events.message_create(scene.circle, bob, "hugs", reply_to=original)
    # then a real leak: by the time its alert is out, everything before it was handled
    marker = await fake.events.forward(original, into=general, author=bob)
    alert = await alert_in_mods(fake, scene, mark)
    assert f"Copy: {jump(scene, general, marker)}" in alert
    [flag] = await rig.app.store.open_flags()
    assert flag.message_id == str(marker.id)
    await asyncio.sleep(0.05)
    assert len(fake.calls("POST", f"/channels/{scene.mods.id}/messages", since=mark)) == 1


async def test_flags_are_shown_ephemerally_to_moderators_only(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    _, forward, mark = await share_and_forward(fake, scene, rig, bob)
    await alert_in_mods(fake, scene, mark)

    async def run(name: str, user: FakeUser, **options: Any) -> str:
        # moderators in #mods; members where they can see the command at all: in #lobby, with
        # the moderator commands opened to everyone under Server Settings > Integrations
        where = scene.mods if user is scene.mod else scene.lobby
        interaction = await fake.events.slash_command(
            name, user=user, channel=where, options=options or None
        )
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        [callback] = await fake.wait_for_call("POST", route)
        assert callback.json["data"]["flags"] == EPHEMERAL
        return str(callback.json["data"]["content"])

    listed = await run("flags", scene.mod)
    assert listed.startswith("Open leak flags")
    assert f"1: from circle, forward in lobby (message {forward.id})" in listed
    assert_no_words(listed)
    fake.world.open_commands(scene.guild)
    assert await run("flags", scene.alice) == "Only moderators can use /flags."
    assert await run("flag", bob, action="resolve", id=1) == "Only moderators can use /flag."
    assert await run("flag", scene.mod, action="resolve", id=1) == "Flag 1 is resolved."
    assert await rig.app.store.open_flags() == []
    assert await run("flags", scene.mod) == "No open leak flags."


async def test_hold_for_review_takes_the_copy_down_and_reports_the_outcome(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY + "leaks:\n  actions:\n    hold_for_review: true\n")
    _, forward, mark = await share_and_forward(fake, scene, rig, bob)
    await fake.wait_for_call(
        "DELETE", f"/channels/{scene.lobby.id}/messages/{forward.id}", since=mark
    )
    dm = fake.world.open_dm(bob)
    [held] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert "taken down until a moderator has looked at it" in held.json["content"]
    mark = fake.requests.mark()
    interaction = await fake.events.slash_command(
        "flag", user=scene.mod, channel=scene.mods, options={"action": "false-positive", "id": 1}
    )
    await fake.wait_for_call("POST", f"/interactions/{interaction.id}/{interaction.token}/callback")
    [outcome] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert "found nothing confidential" in outcome.json["content"]
    assert_no_words(held.json["content"] + outcome.json["content"])
