"""What other tools do to messages, and the adapter surviving it: a moderation bot's purge
(MESSAGE_DELETE_BULK) and deletions while the bot was offline, PluralKit-style proxies
(webhook messages), and message updates that are link previews rather than edits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.events import MessageDeleted, MessageEdited, MessagePosted
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeChannel, FakeMessage, FakeUser

from .conftest import ADAPTER_POLICY, AdapterScene
from .test_adapter_components import AGREE_ROW, RULES_POLICY, bot_messages, components_of
from .test_adapter_leaks import LEAK_POLICY, QUOTE, SHARED, alert_in_mods, assert_no_words, jump

MANAGE_MESSAGES = 1 << 13


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 3.0) -> None:
    """Poll an async condition; bounded in time and count."""
    for _ in range(int(timeout / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def bob(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    user = fake.world.add_user("bob")
    fake.world.add_member(adapter_scene.guild, user)
    return user


@pytest.fixture
def modbot(fake: FakeDiscord, adapter_scene: AdapterScene) -> FakeUser:
    """Another moderation bot on the server, allowed to purge (Manage Messages)."""
    user = fake.world.add_user("modbot", bot=True)
    role = fake.world.add_role(adapter_scene.guild, "modbot", permissions=MANAGE_MESSAGES)
    fake.world.add_member(adapter_scene.guild, user, roles=[role])
    return user


async def posted(
    fake: FakeDiscord, rig: Any, channel: FakeChannel, author: FakeUser, text: str
) -> FakeMessage:
    """A member's post, once the core has handled it."""
    message = await fake.events.message_create(channel, author, text)
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(message.id)
    )
    return message


async def copy_state(rig: Any, channel: FakeChannel, message: FakeMessage) -> list[str]:
    flags = await rig.app.store.flags_for_copy("discord", str(channel.id), str(message.id))
    return [f.copy_state for f in flags]


# -- item 7: bulk deletes and deletions while offline --------------------------------------------


async def test_a_purged_rules_message_is_posted_again(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
    modbot: FakeUser,
) -> None:
    rig = await start_app(policy=RULES_POLICY)
    circle = adapter_scene.circle
    [rules] = bot_messages(fake, circle)
    chatter = fake.world.add_message(circle, bob, content="spam spam")
    mark = fake.requests.mark()
    await fake.events.purge(circle, [chatter, rules], by=modbot)
    [again] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages", since=mark)
    assert components_of(again.json["components"]) == AGREE_ROW
    [replacement] = bot_messages(fake, circle)
    stored = await rig.app.store.rules_message("discord", str(circle.id), "circle")
    assert stored is not None and stored.message_id == str(replacement.id)
    await rig.wait_for_event(
        lambda e: isinstance(e, MessageDeleted) and e.message_id == str(chatter.id)
    )


async def test_a_purged_copy_is_marked_deleted_on_its_flag(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
    modbot: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    await posted(fake, rig, scene.circle, scene.alice, SHARED)
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, bob, QUOTE)
    await alert_in_mods(fake, scene, mark)
    other = fake.world.add_message(scene.lobby, bob, content="more")
    await fake.events.purge(scene.lobby, [quoted, other], by=modbot)

    async def marked() -> bool:
        return await copy_state(rig, scene.lobby, quoted) == ["deleted"]

    await eventually(marked)


async def test_a_rules_message_removed_while_offline_is_posted_again_at_start(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
) -> None:
    circle = adapter_scene.circle
    rig = await start_app(policy=RULES_POLICY)
    [rules] = bot_messages(fake, circle)
    await rig.close()
    await fake.events.message_delete(rules)  # the bot is offline: nobody hears this
    mark = fake.requests.mark()
    rig = await start_app()
    [checked] = await fake.wait_for_call(
        "GET", f"/channels/{circle.id}/messages/{rules.id}", since=mark
    )
    assert checked.status == 404
    [again] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages", since=mark)
    assert components_of(again.json["components"]) == AGREE_ROW
    [replacement] = bot_messages(fake, circle)
    stored = await rig.app.store.rules_message("discord", str(circle.id), "circle")
    assert stored is not None and stored.message_id == str(replacement.id)


async def test_a_rules_message_still_there_is_left_alone_at_start(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
) -> None:
    circle = adapter_scene.circle
    rig = await start_app(policy=RULES_POLICY)
    [rules] = bot_messages(fake, circle)
    await rig.close()
    mark = fake.requests.mark()
    await start_app()
    [checked] = await fake.wait_for_call(
        "GET", f"/channels/{circle.id}/messages/{rules.id}", since=mark
    )
    assert checked.status == 200
    await asyncio.sleep(0.1)
    assert fake.calls("POST", f"/channels/{circle.id}/messages", since=mark) == []
    assert bot_messages(fake, circle) == [rules]


# -- item 8: proxies and webhooks --------------------------------------------------------------


async def test_a_proxied_message_in_a_confidential_channel_is_fingerprinted(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    original = await posted(fake, rig, scene.circle, scene.alice, f"s: {SHARED}")
    proxied = await fake.events.proxy(original, "Sunny", content=SHARED)
    await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(proxied.id)
    )
    await rig.wait_for_event(
        lambda e: isinstance(e, MessageDeleted) and e.message_id == str(original.id)
    )
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, bob, QUOTE)
    alert = await alert_in_mods(fake, scene, mark)
    assert "(flag 1): a quote of what was said there" in alert
    assert f"Copy: {jump(scene, scene.lobby, quoted)}" in alert
    assert_no_words(alert)


async def test_a_proxied_copy_elsewhere_is_flagged_under_its_name_and_nobody_is_written_to(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    await posted(fake, rig, scene.circle, scene.alice, SHARED)
    mark = fake.requests.mark()
    # a proxy relays a quote into #lobby (no original: a bridge, or autoproxy's repost)
    proxied = await fake.events.webhook_message(scene.lobby, "Bobbie", QUOTE)
    alert = await alert_in_mods(fake, scene, mark)
    assert "(flag 1): a quote of what was said there" in alert
    assert "posted by Bobbie (posted through a relay" in alert
    assert f"Copy: {jump(scene, scene.lobby, proxied)}" in alert
    assert_no_words(alert)
    [flag] = await rig.app.store.open_flags()
    assert (flag.message_id, flag.poster_id) == (str(proxied.id), str(proxied.webhook_id))
    await asyncio.sleep(0.05)
    # a webhook has no inbox: no DM is opened, no user looked up
    assert fake.calls("POST", "/users/@me/channels", since=mark) == []
    assert fake.calls("GET", f"/users/{proxied.webhook_id}", since=mark) == []


async def test_a_webhook_is_never_gated_as_if_it_were_a_member(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=ADAPTER_POLICY)  # posting waits for agreement
    mark = fake.requests.mark()
    proxied = await fake.events.webhook_message(scene.circle, "Sunny", "hello everyone")
    event = await rig.wait_for_event(
        lambda e: isinstance(e, MessagePosted) and e.message_id == str(proxied.id)
    )
    assert event.relayed and event.author.is_bot
    assert (event.author.id, event.author.display_name) == (str(proxied.webhook_id), "Sunny")
    await asyncio.sleep(0.1)
    assert fake.calls("DELETE", f"/channels/{scene.circle.id}/messages/{proxied.id}") == []
    assert fake.calls("PUT", f"/channels/{scene.circle.id}/permissions/{proxied.webhook_id}") == []
    assert fake.calls("POST", "/users/@me/channels", since=mark) == []


# -- item 9: edits -----------------------------------------------------------------------------


async def test_a_link_preview_is_not_an_edit(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    await posted(fake, rig, scene.circle, scene.alice, SHARED)
    mark = fake.requests.mark()
    quoted = await fake.events.message_create(scene.lobby, bob, f"{QUOTE} https://example.org/a")
    await alert_in_mods(fake, scene, mark)
    await fake.events.link_preview(quoted)
    await posted(fake, rig, scene.lobby, bob, "marker")
    await asyncio.sleep(0.05)
    assert rig.of_type(MessageEdited) == []
    assert await copy_state(rig, scene.lobby, quoted) == ["posted"]


async def test_an_edit_that_adds_a_message_link_is_flagged(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    bob: FakeUser,
) -> None:
    scene = adapter_scene
    rig = await start_app(policy=LEAK_POLICY)
    original = await posted(fake, rig, scene.circle, scene.alice, SHARED)
    draft = await posted(fake, rig, scene.lobby, bob, "hm, wait")
    mark = fake.requests.mark()
    await fake.events.message_update(draft, f"look {jump(scene, scene.circle, original)}")
    alert = await alert_in_mods(fake, scene, mark)
    assert "(flag 1): a link to a message in it" in alert
    assert f"Copy: {jump(scene, scene.lobby, draft)}" in alert
    assert f"Source: {jump(scene, scene.circle, original)}" in alert
    assert await copy_state(rig, scene.lobby, draft) == ["edited"]
