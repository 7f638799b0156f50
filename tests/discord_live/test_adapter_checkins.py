"""Private check-ins on Discord, against the protocol fake: /checkin in a server answers
ephemerally and moves to the member's DM; consent and answers arrive as clicks on the
buttons the bot sent there; nothing a member answers is posted anywhere but that DM.

Also the parts that involve people and time: a contact request in the supporters' channel
and its /claim, scheduled check-ins and the timeout on the core's (fake) clock, and /mydata
as a JSON file in the DM."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from adapters.discord.replies import NO_ANSWER
from bot.checkins.rights import export
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
    [ack] = await fake.wait_for_call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback"
    )
    # answered in the DM: the press itself is only acknowledged, never apologised for
    assert NO_ANSWER not in str(ack.json), ack.json


async def slash(
    fake: FakeDiscord,
    user: FakeUser,
    channel: FakeChannel,
    sub: str | None,
    name: str = "checkin",
    **options: str | int,
) -> str:
    """Run /checkin <sub> (or /``name``) in a server channel; the answer must be ephemeral."""
    interaction = await fake.events.slash_command(
        name, user=user, channel=channel, subcommand=sub, options=options or None
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
    """alice runs /checkin in #circle: an ephemeral pointer there, the intro in her DM with
    Agree/Decline buttons (and the words to type, for a client that shows no buttons)."""
    alice = scene.alice
    dm = fake.world.open_dm(alice)
    mark = fake.requests.mark()
    ack = await slash(fake, alice, scene.circle, "start")
    assert ack == "Your check-in continues in our private chat."
    intro = await next_dm(fake, dm, mark)
    assert intro.content.startswith("Private check-in")
    assert "only you can" in intro.content and "agree or decline" in intro.content
    assert button_ids(intro) == [f"{CHOICE}{alice.id}:agree", f"{CHOICE}{alice.id}:decline"]
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


# -- consent buttons on a check-in started in a server -----------------------------------------


async def test_consent_buttons_on_an_intro_started_in_a_server(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    rig = await start_app(policy=CHECKIN_POLICY)
    dm = fake.world.open_dm(alice)
    begin = fake.requests.mark()
    intro = await start_in_server(fake, scene)
    store = rig.app.store
    assert await store.checkin_consent("discord", str(alice.id), "circle") is None
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    first = await next_dm(fake, dm, mark)
    assert first.content.startswith("Question 1 of 2: How is your mood today?")
    assert select_of(first)["custom_id"] == f"{CHOICE}{alice.id}"
    assert await store.checkin_consent("discord", str(alice.id), "circle") is not None
    assert outside_dm_posts(fake, dm, begin) == []
    assert fake.unexpected_calls() == []


# -- a contact request, only after a yes, and /claim -------------------------------------------

NOTE = """    - id: note
      prompt: Anything you want to note for yourself?
      kind: text
"""
SUPPORTERS = """  supporters:
    - platform: discord
      user: "{mod_id}"
    - platform: discord
      user: "SUE_ID"
  supporters_room:
    platform: discord
    name: mods
"""
# mood (select), slept (buttons), note (typed); mod and sue are the peer supporters.
SUPPORTED_POLICY = CHECKIN_POLICY.replace("kind: yesno\n", "kind: yesno\n" + NOTE) + SUPPORTERS
CANARY = "canary-heron-5521"


def add_supporter(fake: FakeDiscord, scene: AdapterScene) -> tuple[FakeUser, str]:
    """sue, a second supporter who sees #mods; added before the app starts, so the bot
    knows her from the server's member list. Returns her and the policy naming her."""
    sue = fake.world.add_user("sue")
    fake.world.add_member(scene.guild, sue, roles=[scene.mod_role])
    return sue, SUPPORTED_POLICY.replace("SUE_ID", str(sue.id))


async def dm_messages(
    fake: FakeDiscord, dm: FakeChannel, since: int, count: int
) -> list[FakeMessage]:
    """The bot's next ``count`` posts in the DM, in order, as the fake stored them."""
    calls = await fake.wait_for_call(
        "POST", f"/channels/{dm.id}/messages", since=since, count=count
    )
    bot_id = fake.world.bot_user.id
    stored = [m for m in fake.world.messages.values() if m.channel_id == dm.id]
    found = []
    for call in calls:
        content = call.json["content"]
        found.append(next(m for m in stored if m.author_id == bot_id and m.content == content))
    return found


def mods_posts(fake: FakeDiscord, scene: AdapterScene, since: int) -> list[str]:
    return [
        str(c.json["content"])
        for c in fake.calls("POST", f"/channels/{scene.mods.id}/messages", since=since)
    ]


async def crisis_answer(fake: FakeDiscord, scene: AdapterScene) -> FakeMessage:
    """alice starts in #circle, agrees by button and picks 1 (very low) from the select:
    the resources arrive, then the offer of a supporter with yes/no buttons."""
    alice = scene.alice
    dm = fake.world.open_dm(alice)
    intro = await start_in_server(fake, scene)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    first = await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    interaction = await fake.events.component_click(
        first, f"{CHOICE}{alice.id}", user=alice, component_type=3, values=["1"]
    )
    await fake.wait_for_call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback"
    )
    resources, offer = await dm_messages(fake, dm, mark, 2)
    assert RESOURCE in resources.content
    assert "peer supporter to contact you" in offer.content
    assert button_ids(offer) == [f"{CHOICE}{alice.id}:yes", f"{CHOICE}{alice.id}:no"]
    return offer


async def test_contact_request_after_yes_and_one_claim_wins(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice, mod = adapter_scene, adapter_scene.alice, adapter_scene.mod
    sue, policy = add_supporter(fake, scene)
    rig = await start_app(policy=policy)
    dm = fake.world.open_dm(alice)
    begin = fake.requests.mark()
    offer = await crisis_answer(fake, scene)
    assert mods_posts(fake, scene, begin) == []  # resources alone tell nobody
    mark = fake.requests.mark()
    await press(fake, offer, f"{CHOICE}{alice.id}:yes", alice)
    share = await next_dm(fake, dm, mark)
    assert "Should they see your answers" in share.content
    assert mods_posts(fake, scene, begin) == []  # sharing is asked before anyone is told
    mark = fake.requests.mark()
    await press(fake, share, f"{CHOICE}{alice.id}:yes", alice)
    told, second = await dm_messages(fake, dm, mark, 2)
    assert "will be asked to contact you (request 1)" in told.content
    assert second.content.startswith("Question 2 of 3: Did you sleep well?")
    [request] = mods_posts(fake, scene, begin)
    assert request.startswith(f"Contact request 1: discord user {alice.id} asked a peer supporter")
    assert "How is your mood today? 1" in request and "/claim 1" in request
    # the rest of the check-in stays with alice: never added to the request
    mark = fake.requests.mark()
    await press(fake, second, f"{CHOICE}{alice.id}:no", alice)
    await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    await fake.events.message_create(dm, alice, f"I {CANARY} today")
    done = await next_dm(fake, dm, mark)
    assert done.content.startswith("Thank you for checking in.")
    posted = mods_posts(fake, scene, begin)
    assert posted == [request]
    assert not any(CANARY in text or "sleep" in text for text in posted)
    # two supporters claim at once: one wins, the other hears who has it
    mark = fake.requests.mark()
    claims = [
        await fake.events.slash_command(
            "claim", user=who, channel=scene.mods, options={"id": 1}
        )
        for who in (sue, mod)
    ]
    answers = []
    for interaction in claims:
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        [callback] = await fake.wait_for_call("POST", route, since=mark)
        assert callback.json["data"]["flags"] == EPHEMERAL
        answers.append(str(callback.json["data"]["content"]))
    [won] = [a for a in answers if "is yours" in a]
    [lost] = [a for a in answers if "already claimed" in a]
    assert f"discord user {alice.id}" in won
    [escalation] = await rig.app.store.member_escalations("discord", str(alice.id))
    assert escalation.shared and escalation.claimed_by is not None
    winner = escalation.claimed_by.split(":", 1)[1]
    assert winner in (str(sue.id), str(mod.id)) and escalation.claimed_by in lost
    # alice hears who will reach out, in her DM; the supporters see who took it
    coming = await next_dm(fake, dm, mark)
    assert coming.content == (
        f"A peer supporter, discord user {winner}, will contact you privately soon."
    )
    assert mods_posts(fake, scene, mark) == [
        f"Contact request 1 was claimed by {escalation.claimed_by}."
    ]
    assert outside_dm_posts(fake, dm, begin) == posted + mods_posts(fake, scene, mark)
    assert fake.unexpected_calls() == []


async def test_no_contact_request_when_the_member_says_no(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    _, policy = add_supporter(fake, scene)
    rig = await start_app(policy=policy)
    dm = fake.world.open_dm(alice)
    begin = fake.requests.mark()
    offer = await crisis_answer(fake, scene)
    mark = fake.requests.mark()
    await press(fake, offer, f"{CHOICE}{alice.id}:no", alice)
    declined, second = await dm_messages(fake, dm, mark, 2)
    assert "nobody is told" in declined.content
    assert second.content.startswith("Question 2 of 3")
    assert outside_dm_posts(fake, dm, begin) == []
    assert await rig.app.store.member_escalations("discord", str(alice.id)) == []
    [checkin] = await rig.app.store.member_checkins("discord", str(alice.id), 5)
    assert not checkin.asked_contact


# -- time: scheduled check-ins and the timeout, on the core's clock ----------------------------


def scheduled_starts(fake: FakeDiscord, dm: FakeChannel, since: int) -> int:
    return sum(
        str(c.json["content"]).startswith("Time for your scheduled check-in")
        for c in fake.calls("POST", f"/channels/{dm.id}/messages", since=since)
    )


async def test_scheduled_checkin_arrives_once_and_snooze_pause_stop_hold_it(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    rig = await start_app(policy=CHECKIN_POLICY)
    clock, runtime = rig.app.core.clock, rig.app.runtime
    assert clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday
    dm = fake.world.open_dm(alice)
    begin = fake.requests.mark()

    async def command(sub: str, **options: str | int) -> str:
        """/checkin <sub> in #circle: a pointer there, the answer in the DM."""
        mark = fake.requests.mark()
        assert await slash(fake, alice, scene.circle, sub, **options) == "Sent to you privately."
        return (await next_dm(fake, dm, mark)).content

    async def stop_checkin() -> None:
        mark = fake.requests.mark()
        await fake.events.message_create(dm, alice, "stop")
        assert (await next_dm(fake, dm, mark)).content.startswith("Check-in stopped")

    scheduled = await command("schedule", days="daily", time="10:00", zone="UTC")
    assert scheduled.startswith("Your check-in is scheduled")

    async def at(day: int, hour: int, minute: int) -> int:
        """Move the clock to that January 2026 time and tick; the scheduled starts so far."""
        await clock.advance(datetime(2026, 1, day, hour, minute, tzinfo=UTC) - clock.now())
        await runtime.tick()
        return scheduled_starts(fake, dm, begin)

    assert await at(5, 9, 59) == 0
    mark = fake.requests.mark()
    assert await at(5, 10, 1) == 1
    start, intro = await dm_messages(fake, dm, mark, 2)
    assert start.content == "Time for your scheduled check-in."
    assert button_ids(intro) == [f"{CHOICE}{alice.id}:agree", f"{CHOICE}{alice.id}:decline"]
    assert await at(5, 10, 30) == 1  # exactly once
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    assert (await next_dm(fake, dm, mark)).content.startswith("Question 1 of 2")
    await stop_checkin()
    # paused: Tuesday passes without one
    assert "Scheduled check-ins are paused" in await command("pause")
    assert await at(6, 10, 1) == 1
    assert "the next one is Wed 2026-01-07 10:00 UTC" in await command("resume")
    mark = fake.requests.mark()
    assert await at(7, 10, 1) == 2  # Wednesday: consent given, so the questions come at once
    _, first = await dm_messages(fake, dm, mark, 2)
    assert first.content.startswith("Question 1 of 2")
    await stop_checkin()
    # snoozed for 30 hours: Thursday 10:00 falls inside, Friday 10:00 does not
    assert "Snoozed: no scheduled check-in for the next 30 hours" in await command(
        "snooze", hours=30
    )
    assert await at(8, 10, 1) == 2
    assert await at(9, 10, 1) == 3
    await stop_checkin()
    # removed: nothing more, ever
    assert "schedule is removed" in await command("stop")
    assert await at(12, 10, 1) == 3
    assert await rig.app.store.checkin_schedule("discord", str(alice.id)) is None
    assert outside_dm_posts(fake, dm, begin) == []


async def test_a_silent_checkin_times_out_and_the_member_is_told(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    rig = await start_app(policy=BUTTONS_POLICY)
    clock, runtime, store = rig.app.core.clock, rig.app.runtime, rig.app.store
    dm = fake.world.open_dm(alice)
    intro = await start_in_dm(fake, scene)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    first = await next_dm(fake, dm, mark)
    mark = fake.requests.mark()
    await press(fake, first, f"{CHOICE}{alice.id}:3", alice)
    second = await next_dm(fake, dm, mark)
    assert second.content.startswith("Question 2 of 2")
    await clock.advance(timedelta(minutes=19))
    mark = fake.requests.mark()
    await runtime.tick()
    assert fake.calls("POST", f"/channels/{dm.id}/messages", since=mark) == []
    await clock.advance(timedelta(minutes=2))
    await runtime.tick()
    closed = await next_dm(fake, dm, mark)
    assert closed.content.startswith("Your check-in closed after 20 minutes without a reply.")
    [checkin] = await store.member_checkins("discord", str(alice.id), 5)
    assert checkin.status == "timed_out"
    assert [r.question_id for r in await store.checkin_answers(checkin.id)] == ["mood"]
    # a press on the stale question answers nothing
    mark = fake.requests.mark()
    await press(fake, second, f"{CHOICE}{alice.id}:yes", alice)
    assert fake.calls("POST", f"/channels/{dm.id}/messages", since=mark) == []
    assert len(await store.checkin_answers(checkin.id)) == 1
    await runtime.tick()
    assert fake.calls("POST", f"/channels/{dm.id}/messages", since=mark) == []  # told once


# -- /mydata as a file -------------------------------------------------------------------------


async def test_mydata_arrives_as_a_json_file_in_the_dm(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene, alice = adapter_scene, adapter_scene.alice
    _, policy = add_supporter(fake, scene)
    rig = await start_app(policy=policy)
    dm = fake.world.open_dm(alice)
    intro = await start_in_dm(fake, scene)
    mark = fake.requests.mark()
    await press(fake, intro, f"{CHOICE}{alice.id}:agree", alice)
    for typed in ("4", "yes", f"I {CANARY} today"):
        await next_dm(fake, dm, mark)
        mark = fake.requests.mark()
        await fake.events.message_create(dm, alice, typed)
    assert (await next_dm(fake, dm, mark)).content.startswith("Thank you for checking in.")
    expected = await export(rig.app.core.checkins, "discord", str(alice.id))
    mark = fake.requests.mark()
    assert await slash(fake, alice, scene.circle, None, name="mydata") == "Sent to you privately."
    [call] = await fake.wait_for_call("POST", f"/channels/{dm.id}/messages", since=mark)
    assert call.files == ("confidant-mydata.json",)
    message = await next_dm(fake, dm, mark)
    assert message.content == (
        "Everything Confidant holds about you is in the attached file confidant-mydata.json "
        "(JSON)."
    )
    assert CANARY not in message.content
    [attachment] = message.attachments
    assert attachment["filename"] == "confidant-mydata.json"
    # the member's client fetches the file from its CDN address (the fake, on loopback)
    async with (
        aiohttp.ClientSession(connector=fake.connector()) as http,
        http.get(attachment["url"]) as response,
    ):
        assert response.status == 200
        body = await response.read()
    assert attachment["size"] == len(body)
    data = json.loads(body)
    assert data == json.loads(json.dumps(expected))
    assert data["member"] == {"platform": "discord", "id": str(alice.id)}
    [checkin] = data["checkins"]
    assert [a.get("answer") for a in checkin["answers"]] == ["4", "yes", f"I {CANARY} today"]
    assert str(scene.mod.id) not in body.decode()
    assert outside_dm_posts(fake, dm, mark) == []
    assert fake.unexpected_calls() == []
