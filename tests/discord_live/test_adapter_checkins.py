"""Private check-ins on Discord, against the protocol fake: /checkin in a server answers
ephemerally and moves to the member's DM; consent and answers arrive as clicks on the
buttons the bot sent there; nothing a member answers is posted anywhere but that DM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.discord_fake import FakeDiscord
from tests.discord_fake.state import FakeChannel, FakeMessage, FakeUser

from .conftest import AdapterScene

CHECKIN_POLICY = """\
name: circle
rooms:
  - platform: discord
    name: circle
moderators:
  - platform: discord
    user: "{mod_id}"
alerts:
  - platform: discord
    name: mods
reminder:
  text: What is shared here stays here.
checkins:
  intro: >-
    Check-ins are private. Confidant records your answers, encrypted, and only you can
    read them.
  timeout_minutes: 20
  questions:
    - id: mood
      prompt: How is your mood today?
      kind: scale
      min: 1
      max: 5
    - id: slept
      prompt: Did you sleep well?
      kind: yesno
  crisis:
    thresholds:
      - question: mood
        at_most: 1
    resources:
      - name: Samaritans
        number: "116 123"
        link: https://www.samaritans.org
"""
EPHEMERAL = 64
CHOICE = "confidant:checkin:"
RESOURCE = "Samaritans - 116 123 - https://www.samaritans.org"
# 3 values + skip + stop fit in buttons; the 1-5 scale (7 choices) comes as a select menu.
BUTTONS_POLICY = CHECKIN_POLICY.replace("max: 5", "max: 3")


def button_ids(message: FakeMessage) -> list[str]:
    return [
        c["custom_id"] for row in message.components for c in row["components"] if c["type"] == 2
    ]


def select_of(message: FakeMessage) -> dict[str, Any]:
    [menu] = [c for row in message.components for c in row["components"] if c["type"] == 3]
    return dict(menu)


async def next_dm(fake: FakeDiscord, dm: FakeChannel, since: int) -> FakeMessage:
    """The bot's next post in the DM, as the fake stored it (with its components)."""
    [call] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=since)
    bot_id = fake.world.bot_user.id
    posted = [
        m
        for m in fake.world.messages.values()
        if m.channel_id == dm.id and m.author_id == bot_id and m.content == call.json["content"]
    ]
    assert posted, "the DM post was not stored"
    return posted[-1]


async def press(fake: FakeDiscord, message: FakeMessage, custom_id: str, user: FakeUser) -> None:
    """Click a button the bot sent and wait until the interaction was acknowledged."""
    assert custom_id in button_ids(message), f"{custom_id} is not on the message"
    interaction = await fake.events.component_click(message, custom_id, user=user)
    await fake.wait_for_call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback"
    )


async def slash(fake: FakeDiscord, user: FakeUser, channel: FakeChannel, sub: str) -> str:
    """Run /checkin <sub> in a server channel; the acknowledgement must be ephemeral."""
    interaction = await fake.events.slash_command(
        "checkin", user=user, channel=channel, subcommand=sub
    )
    route = f"/interactions/{interaction.id}/{interaction.token}/callback"
    [callback] = await fake.wait_for_call("POST", route)
    assert callback.json["data"]["flags"] == EPHEMERAL
    return str(callback.json["data"]["content"])


def outside_dm_posts(fake: FakeDiscord, dm: FakeChannel, since: int) -> list[str]:
    """Every message the bot posted since ``since`` anywhere except the member's DM."""
    return [
        str(c.json.get("content"))
        for c in fake.calls("POST", "/channels/{c}/messages", since=since)
        if not c.path.startswith(f"/channels/{dm.id}/")
    ]


async def start_in_server(fake: FakeDiscord, scene: AdapterScene) -> FakeMessage:
    """alice runs /checkin in #circle: an ephemeral pointer there, the intro in her DM.

    The core has no handle on the DM when the command comes from a server, so this intro
    is text listing the words to type (it carries no buttons)."""
    dm = fake.world.open_dm(scene.alice)
    mark = fake.requests.mark()
    ack = await slash(fake, scene.alice, scene.circle, "start")
    assert ack == "Your check-in continues in our private chat."
    intro = await next_dm(fake, dm, mark)
    assert intro.content.startswith("Private check-in")
    assert "only you can" in intro.content and "agree or decline" in intro.content
    assert outside_dm_posts(fake, dm, mark) == []
    return intro


async def start_in_dm(fake: FakeDiscord, scene: AdapterScene) -> FakeMessage:
    """alice types /checkin in her DM (no slash commands there): the intro has buttons."""
    alice = scene.alice
    dm = fake.world.open_dm(alice)
    mark = fake.requests.mark()
    await fake.events.message_create(dm, alice, "/checkin")
    intro = await next_dm(fake, dm, mark)
    assert intro.content.startswith("Private check-in")
    assert button_ids(intro) == [f"{CHOICE}{alice.id}:agree", f"{CHOICE}{alice.id}:decline"]
    return intro


async def test_checkin_starts_ephemerally_and_answers_stay_in_the_dm(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    rig = await start_app(policy=CHECKIN_POLICY)
    dm = fake.world.open_dm(alice)
    begin = fake.requests.mark()
    await start_in_server(fake, scene)
    mark = fake.requests.mark()
    await fake.events.message_create(dm, alice, "agree")
    first = await next_dm(fake, dm, mark)
    assert first.content.startswith("Question 1 of 2: How is your mood today?")
    menu = select_of(first)
    assert menu["custom_id"] == f"{CHOICE}{alice.id}"
    assert [o["value"] for o in menu["options"]] == ["1", "2", "3", "4", "5", "skip", "stop"]
    mark = fake.requests.mark()
    interaction = await fake.events.component_click(
        first, menu["custom_id"], user=alice, component_type=3, values=["4"]
    )
    await fake.wait_for_call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback"
    )
    second = await next_dm(fake, dm, mark)
    assert second.content.startswith("Question 2 of 2: Did you sleep well?")
    assert button_ids(second) == [f"{CHOICE}{alice.id}:{v}" for v in ("yes", "no", "skip", "stop")]
    mark = fake.requests.mark()
    await press(fake, second, f"{CHOICE}{alice.id}:yes", alice)
    done = await next_dm(fake, dm, mark)
    assert done.content.startswith("Thank you for checking in.")
    # recorded, sealed, and readable with the key alone
    store, sealer = rig.app.store, rig.app.core.checkins.sealer
    [checkin] = await store.member_checkins("discord", str(alice.id), 5)
    assert checkin.status == "complete"
    rows = await store.checkin_answers(checkin.id)
    assert [sealer.open(checkin.id, r.question_id, r.sealed) for r in rows] == [4, "yes"]
    # no answer, no question went anywhere but the DM
    assert outside_dm_posts(fake, dm, begin) == []
    assert fake.unexpected_calls() == []
    # /checkin history in the server: a pointer ephemerally, the entries in the DM
    mark = fake.requests.mark()
    assert await slash(fake, alice, scene.circle, "history") == "Sent to you privately."
    history = await next_dm(fake, dm, mark)
    assert "(complete)" in history.content
    assert "How is your mood today? 4" in history.content
    assert outside_dm_posts(fake, dm, begin) == []


async def test_consent_button_then_a_crisis_click_shows_resources_in_the_dm(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    rig = await start_app(policy=BUTTONS_POLICY)
    dm = fake.world.open_dm(alice)
    begin = fake.requests.mark()
    intro = await start_in_dm(fake, scene)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    first = await next_dm(fake, dm, mark)
    assert first.content.startswith("Question 1 of 2: How is your mood today?")
    assert button_ids(first) == [f"{CHOICE}{alice.id}:{v}" for v in ("1", "2", "3", "skip", "stop")]
    store = rig.app.store
    assert await store.checkin_consent("discord", str(alice.id), "circle") is not None
    mark = fake.requests.mark()
    await press(fake, first, f"{CHOICE}{alice.id}:1", alice)
    calls = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark, count=2)
    texts = [str(c.json["content"]) for c in calls]
    assert "You do not have to go through it alone" in texts[0]
    assert RESOURCE in texts[0]
    assert texts[1].startswith("Question 2 of 2")
    [checkin] = await store.member_checkins("discord", str(alice.id), 5)
    assert checkin.crisis_shown and checkin.status == "open"
    [row] = await store.checkin_answers(checkin.id)
    assert rig.app.core.checkins.sealer.open(checkin.id, row.question_id, row.sealed) == 1
    assert outside_dm_posts(fake, dm, begin) == []
    assert fake.unexpected_calls() == []


async def test_someone_elses_press_answers_nothing(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    rig = await start_app(policy=BUTTONS_POLICY)
    dm = fake.world.open_dm(alice)
    intro = await start_in_dm(fake, scene)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    first = await next_dm(fake, dm, mark)
    # the ids name alice: a press by anyone else must not answer for her
    await press(fake, first, f"{CHOICE}{alice.id}:2", mod)
    [checkin] = await rig.app.store.member_checkins("discord", str(alice.id), 5)
    assert checkin.step == 0
    assert await rig.app.store.checkin_answers(checkin.id) == []
    # while her own press does
    mark = fake.requests.mark()
    await press(fake, first, f"{CHOICE}{alice.id}:2", alice)
    await next_dm(fake, dm, mark)
    assert len(await rig.app.store.checkin_answers(checkin.id)) == 1
