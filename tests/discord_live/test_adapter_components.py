"""The standing rules message with its Agree button, and select menus, end to end against the
fake: component JSON as Discord receives it, clicks as INTERACTION_CREATE type 3, ephemeral
answers, and restarts that neither repost the message nor break its button."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.actions import Action, Option, PostToRoom, ReplyToInvoker, Select
from bot.events import ChoiceMade, Room
from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeChannel, FakeMessage, FakeUser

from .conftest import ADAPTER_POLICY, REMINDER, AdapterScene

RULES_POLICY = ADAPTER_POLICY.replace("delivery: private", "delivery: rules_message")
AGREE_ID = "confidant:agree:circle"
EPHEMERAL = 64
SEND_MESSAGES = 1 << 11
AGREE_ROW = [
    {
        "type": 1,
        "components": [
            {"type": 2, "style": 1, "label": "Agree", "custom_id": AGREE_ID, "disabled": False}
        ],
    }
]


def bot_messages(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    bot_id = fake.world.bot_user.id
    return [
        m
        for m in fake.world.messages.values()
        if m.channel_id == channel.id and m.author_id == bot_id
    ]


def components_of(posted: Any) -> list[dict[str, Any]]:
    """Component JSON without keys discord.py may add or leave out from version to version."""
    return [
        {
            "type": row["type"],
            "components": [
                {k: v for k, v in c.items() if k not in ("emoji", "id", "sku_id", "url")}
                for c in row["components"]
            ],
        }
        for row in posted
    ]


async def press(
    fake: FakeDiscord, message: FakeMessage, custom_id: str, user: FakeUser, **kwargs: Any
) -> dict[str, Any]:
    """Click a component and return the interaction callback's JSON."""
    interaction = await fake.events.component_click(message, custom_id, user=user, **kwargs)
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    return dict(callback.json)


async def test_rules_message_agree_button_and_no_dm(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app(policy=RULES_POLICY)
    circle, inner = adapter_scene.circle, adapter_scene.inner
    # one rules message in each covered channel, none elsewhere
    [posted] = fake.calls("POST", f"/channels/{circle.id}/messages")
    assert components_of(posted.json["components"]) == AGREE_ROW
    assert posted.json["content"].startswith("Confidentiality reminder for this room:")
    assert REMINDER in posted.json["content"]
    assert "press Agree below" in posted.json["content"]
    assert len(fake.calls("POST", f"/channels/{inner.id}/messages")) == 1
    for other in (adapter_scene.lobby, adapter_scene.mods):
        assert fake.calls("POST", f"/channels/{other.id}/messages") == []
    [message] = bot_messages(fake, circle)
    stored = await rig.app.store.rules_message("discord", str(circle.id), "circle")
    assert stored is not None and stored.message_id == str(message.id) and stored.posted
    # a join sends no DM; posting waits for the agreement
    carol = fake.world.add_user("carol")
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, carol)
    await fake.wait_for_call("PUT", f"/channels/{circle.id}/permissions/{carol.id}", since=mark)
    await asyncio.sleep(0.05)
    assert fake.calls("POST", "/users/@me/channels", since=mark) == []
    assert fake.calls("POST", "/channels/{c}/messages", since=mark) == []
    # pressing Agree records the agreement and answers only carol, with the reminder
    mark = fake.requests.mark()
    callback = await press(fake, message, AGREE_ID, carol)
    assert callback["type"] == 4
    assert callback["data"]["flags"] == EPHEMERAL
    content = callback["data"]["content"]
    assert content.startswith("Thank you. Your agreement is recorded for circle.")
    assert REMINDER in content
    assert await rig.app.store.has_agreed("discord", str(carol.id), "circle", None)
    await fake.wait_for_call(
        "DELETE", f"/channels/{circle.id}/permissions/{carol.id}", since=mark
    )
    assert carol.id not in circle.overwrites
    [choice] = rig.of_type(ChoiceMade)
    assert (choice.choice_id, choice.room.id, choice.member.id) == (
        AGREE_ID, str(circle.id), str(carol.id),
    )
    assert fake.unexpected_calls() == []


async def test_restart_reuses_the_message_and_its_button(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    first = await start_app(policy=RULES_POLICY)
    circle = adapter_scene.circle
    [message] = bot_messages(fake, circle)
    await first.close()
    mark = fake.requests.mark()
    second = await start_app()
    await asyncio.sleep(0.05)
    assert fake.calls("POST", "/channels/{c}/messages", since=mark) == []
    assert fake.calls("PATCH", "/channels/{c}/messages/{m}", since=mark) == []
    # the button posted by the first run answers in the second
    callback = await press(fake, message, AGREE_ID, adapter_scene.alice)
    assert callback["data"]["flags"] == EPHEMERAL
    assert callback["data"]["content"].startswith("Thank you. Your agreement is recorded for")
    assert await second.app.store.has_agreed(
        "discord", str(adapter_scene.alice.id), "circle", None
    )


async def test_changed_text_edits_the_message_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    first = await start_app(policy=RULES_POLICY)
    circle = adapter_scene.circle
    [message] = bot_messages(fake, circle)
    await first.close()
    mark = fake.requests.mark()
    changed = RULES_POLICY.replace(REMINDER, "New wording, it stays in the circle.")
    second = await start_app(policy=changed)
    [edit] = fake.calls("PATCH", f"/channels/{circle.id}/messages/{message.id}", since=mark)
    assert "New wording, it stays in the circle." in edit.json["content"]
    assert components_of(edit.json["components"]) == AGREE_ROW
    assert fake.calls("POST", f"/channels/{circle.id}/messages", since=mark) == []
    assert bot_messages(fake, circle) == [message]
    assert "New wording" in message.content
    await second.close()
    mark = fake.requests.mark()
    await start_app()
    await asyncio.sleep(0.05)
    assert fake.calls("PATCH", "/channels/{c}/messages/{m}", since=mark) == []
    assert fake.calls("POST", "/channels/{c}/messages", since=mark) == []


async def test_a_select_menu_from_a_choices_action(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app()

    async def on_mood(event: ChoiceMade) -> list[Action]:
        text = f"noted: {', '.join(event.values)}"
        return [ReplyToInvoker(event.room, event.member, text, event.reply_handle)]

    rig.app.core.add_choice("confidant:mood:", on_mood)
    circle = adapter_scene.circle
    select = Select(
        "confidant:mood:week1",
        (Option("good", "Good"), Option("hard", "A hard week")),
        placeholder="How was your week?",
    )
    room = Room("discord", str(circle.id), "circle")
    await rig.app.runtime.execute([PostToRoom(room, "Weekly check-in", select=select)])
    [posted] = fake.calls("POST", f"/channels/{circle.id}/messages")
    [row] = components_of(posted.json["components"])
    [menu] = row["components"]
    assert row["type"] == 1
    assert (menu["type"], menu["custom_id"], menu["placeholder"]) == (
        3, "confidant:mood:week1", "How was your week?",
    )
    assert (menu["min_values"], menu["max_values"]) == (1, 1)
    assert [(o["label"], o["value"]) for o in menu["options"]] == [
        ("Good", "good"), ("A hard week", "hard"),
    ]
    [message] = bot_messages(fake, circle)
    callback = await press(
        fake, message, "confidant:mood:week1", adapter_scene.alice,
        component_type=3, values=["hard"],
    )
    assert callback["type"] == 4
    assert (callback["data"]["content"], callback["data"]["flags"]) == ("noted: hard", EPHEMERAL)
    [choice] = rig.of_type(ChoiceMade)
    assert (choice.choice_id, choice.values) == ("confidant:mood:week1", ("hard",))


async def test_a_deleted_rules_message_is_posted_again_once(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    rig = await start_app(policy=RULES_POLICY)
    circle = adapter_scene.circle
    [message] = bot_messages(fake, circle)
    mark = fake.requests.mark()
    await fake.events.message_delete(message)  # a moderator removed it
    [again] = await fake.wait_for_call("POST", f"/channels/{circle.id}/messages", since=mark)
    assert components_of(again.json["components"]) == AGREE_ROW
    [replacement] = bot_messages(fake, circle)
    stored = await rig.app.store.rules_message("discord", str(circle.id), "circle")
    assert stored is not None and stored.message_id == str(replacement.id)
    await asyncio.sleep(0.1)
    assert len(fake.calls("POST", "/channels/{c}/messages", since=mark)) == 1
