"""Leak flagging around the moderators' work and watch-only channels, against the fake:
moderators discussing a disclosure in #mods are not leakers; a moderator's quote elsewhere
is flagged only where the policy says so; a watched #general is scanned but gets no
reminder and no gate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.events import MemberJoined
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeUser

from .conftest import AdapterScene
from .test_adapter_leaks import (
    DELETE_POLICY,
    EPHEMERAL,
    LEAK_POLICY,
    QUOTE,
    alert_in_mods,
    assert_no_words,
    share,
)

WATCH = "watch:\n  - platform: discord\n    name: general\n"


@pytest.fixture
def bob(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    user = fake.world.add_user("bob")
    fake.world.add_member(adapter_scene.guild, user)
    return user


async def settled(fake: FakeDiscord, scene: AdapterScene, bob: FakeUser, since: int) -> str:
    """A real leak by bob after whatever came before: once its alert is out, everything
    posted earlier was handled (events are handled in order)."""
    await fake.events.message_create(scene.lobby, bob, QUOTE)
    return await alert_in_mods(fake, scene, since)


async def test_moderators_discussing_a_disclosure_in_mods_are_not_flagged(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=DELETE_POLICY)
    await share(fake, scene, rig)
    mark = fake.requests.mark()
    discussed = await fake.events.message_create(scene.mods, scene.mod, f"she wrote: {QUOTE}")
    await settled(fake, scene, bob, mark)
    [flag] = await rig.app.store.open_flags()
    assert flag.poster_id == str(bob.id)
    assert fake.calls("DELETE", f"/channels/{scene.mods.id}/messages/{discussed.id}") == []
    assert discussed.id in fake.world.messages


async def test_a_moderators_quote_in_lobby_is_flagged_only_when_the_policy_says(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any], bob: FakeUser
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    await share(fake, scene, rig)
    mark = fake.requests.mark()
    await fake.events.message_create(scene.lobby, scene.mod, f"as she said, {QUOTE}")
    await settled(fake, scene, bob, mark)
    assert [f.poster_id for f in await rig.app.store.open_flags()] == [str(bob.id)]
    await rig.app.close()

    rig = await start_app(policy=LEAK_POLICY + "leaks:\n  scan_moderators: true\n")
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, scene.mod, f"as she said, {QUOTE}")
    alert = await alert_in_mods(fake, scene, mark)
    assert str(quoted.id) in alert
    [flag] = [f for f in await rig.app.store.open_flags() if f.message_id == str(quoted.id)]
    assert flag.poster_id == str(scene.mod.id)


async def test_a_watched_channel_is_scanned_without_reminders(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    general = fake.world.add_text_channel(scene.guild, "general")
    rig = await start_app(policy=LEAK_POLICY + WATCH)
    await share(fake, scene, rig)
    carol = fake.world.add_user("carol")
    mark = fake.requests.mark()
    await fake.events.member_add(scene.guild, carol)
    await rig.wait_for_event(lambda e: isinstance(e, MemberJoined) and e.room.name == "general")
    dm = fake.world.open_dm(carol)
    [reminder] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert reminder.json["content"].startswith("Welcome to circle.")
    quoted = await fake.events.message_create(general, carol, QUOTE)
    alert = await alert_in_mods(fake, scene, mark)
    assert "a quote of what was said there" in alert and str(quoted.id) in alert
    await asyncio.sleep(0.05)
    # one reminder (circle's), nothing posted in or changed on #general
    assert len(fake.calls("POST", f"/channels/{dm.id}/messages", since=mark)) == 2  # + leak's
    assert fake.calls("POST", f"/channels/{general.id}/messages", since=mark) == []
    assert fake.calls("PUT", f"/channels/{general.id}/permissions/{carol.id}") == []


async def test_a_held_copy_is_shown_once_ephemerally(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY + "leaks:\n  actions:\n    hold_for_review: true\n")
    await share(fake, scene, rig)
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, bob, QUOTE)
    await fake.wait_for_call("DELETE", f"/channels/{scene.lobby.id}/messages/{quoted.id}")
    alert = await alert_in_mods(fake, scene, mark)
    assert_no_words(alert)

    async def show() -> Any:
        interaction = await fake.events.slash_command(
            "flag", user=scene.mod, channel=scene.mods, options={"action": "show", "id": 1}
        )
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        [callback] = await fake.wait_for_call("POST", route)
        return callback.json["data"]

    first = await show()
    assert first["flags"] == EPHEMERAL
    assert first["content"].startswith("The copy held for flag 1 (in lobby")
    assert QUOTE in first["content"]
    second = await show()
    assert second["flags"] == EPHEMERAL
    assert second["content"].startswith("Flag 1 has no held copy to show")
    assert_no_words(second["content"])
    # never in a channel, the log or the audit entry
    for call in fake.calls("POST", f"/channels/{scene.mods.id}/messages", since=mark):
        assert_no_words(str(call.json))
    assert_no_words(caplog.text)
    entries = await rig.app.store.audit_entries(5)
    assert [e.detail for e in entries if e.action == "flag show"] == [
        "flag 1, no held copy to show",
        "flag 1, held copy shown",
    ]


async def test_a_held_copy_answered_too_late_with_dms_closed_never_reaches_a_channel(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    """Discord refuses the late answer (10062) and the moderator's DMs are closed: an
    ordinary reply then goes to the channel with a mention; the held copy must not."""
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY + "leaks:\n  actions:\n    hold_for_review: true\n")
    await share(fake, scene, rig)
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, bob, QUOTE)
    await fake.wait_for_call("DELETE", f"/channels/{scene.lobby.id}/messages/{quoted.id}")
    await alert_in_mods(fake, scene, mark)
    scene.mod.accepts_dms = False
    fake.limits.interaction_deadline_s = 0.5
    store = rig.app.store
    take = store.take_held_copy

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(2.5)  # a disk under load: the core answers after the deadline
        return await take(*args, **kwargs)

    store.take_held_copy = slow  # type: ignore[method-assign]
    mark = fake.requests.mark()
    command = await fake.events.slash_command(
        "flag", user=scene.mod, channel=scene.lobby, options={"action": "show", "id": 1}
    )
    route = f"/interactions/{command.id}/{command.token}/callback"
    [refused] = await fake.wait_for_call("POST", route, timeout=5)
    assert refused.status == 404  # 10062 Unknown interaction
    await fake.wait_for_call("POST", "/users/@me/channels", since=mark, timeout=10)
    # the next command is served as usual; by its answer the show was handled
    fake.limits.interaction_deadline_s = 3.0
    store.take_held_copy = take  # type: ignore[method-assign]
    again = await fake.events.slash_command("flags", user=scene.mod, channel=scene.mods)
    await fake.wait_for_call("POST", f"/interactions/{again.id}/{again.token}/callback")
    for channel in (scene.lobby, scene.mods):
        for call in fake.calls("POST", f"/channels/{channel.id}/messages", since=mark):
            assert_no_words(str(call.json))
