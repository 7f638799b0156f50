"""Private check-ins on a real Synapse: started in the covered room, carried on in the
member's encrypted private chat, answers recorded and read back only there.

Why end to end: the console tests prove the flow, but only a homeserver shows whether the
conversation really leaves the room, arrives decryptable, and whether typed answers in a
private chat reach the check-in instead of the command parser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import AsyncClient, JoinResponse, RoomSendResponse

from adapters.matrix.homeserver import LocalSynapse
from tests.checkin_rig import QUESTIONS
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import BotWorld, Notices, create_world, say, wait_until, watch

CHECKIN_POLICY = (
    """\
name: circle
rooms:
  - platform: matrix
    id: "{room_id}"
moderators:
  - platform: matrix
    user: "{mod}"
alerts:
  - platform: matrix
    id: "{mods_room}"
reminder:
  text: What is shared in the circle stays in the circle.
  delivery: room
checkins:
  intro: >-
    Check-ins are private. Confidant records your answers, encrypted, and only you can
    read them. Moderators see counts only.
  retention_days: 90
  timeout_minutes: 20
"""
    + QUESTIONS
    + """  crisis:
    keywords:
      en: [hopeless]
    resources:
      - name: Samaritans
        number: "116 123"
        link: https://www.samaritans.org
  supporters:
    - platform: matrix
      user: "{mod}"
  supporters_room:
    platform: matrix
    id: "{mods_room}"
"""
)

CANARY = "walked-by-the-lake-7f3c"


@pytest.fixture
async def world(synapse: LocalSynapse, tmp_path: Path, matrix_client) -> AsyncIterator[BotWorld]:  # type: ignore[no-untyped-def]
    built = await create_world(synapse, tmp_path, matrix_client, policy=CHECKIN_POLICY)
    try:
        await built.start_bot()
        await wait_until([built.mod], built.bot_joined, "the bot joined the covered room")
        yield built
    finally:
        await built.stop_bot()


async def join_member(world: BotWorld, client: AsyncClient) -> Notices:
    notices = watch(client)
    await sync_once(client)
    response = await client.join(world.room_id)
    assert isinstance(response, JoinResponse), response
    return notices


def private_room(world: BotWorld, notices: Notices, text: str) -> str:
    """The room the notice with ``text`` arrived in, which must not be the covered room."""
    [room_id] = {rid for rid, _ in notices.containing(text)}
    assert room_id not in (world.room_id, world.mods_room)
    return room_id


async def reply(
    client: AsyncClient, room_id: str, notices: Notices, text: str, expect: str, count: int = 1
) -> None:
    """Type ``text`` in the private chat and wait for the ``count``-th notice with ``expect``."""
    sent = await say(client, room_id, text)
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until(
        [client],
        lambda: len(notices.containing(expect)) >= count,
        f"{expect!r} after the member typed {text!r}",
    )


async def open_checkin_from_room(world: BotWorld, client: AsyncClient) -> tuple[Notices, str]:
    """The member types !checkin in the covered room; the intro arrives privately."""
    notices = await join_member(world, client)
    sent = await say(client, world.room_id, "!checkin")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until(
        [client],
        lambda: (
            bool(notices.containing("agree or decline"))
            and bool(notices.containing("continues in our private chat"))
        ),
        "the check-in intro in the private chat",
    )
    dm = private_room(world, notices, "agree or decline")
    assert private_room(world, notices, "continues in our private chat") == dm
    intro = notices.containing("agree or decline")[0][1]
    assert "only you can" in intro and "kept for 90 days" in intro and "stop" in intro
    assert client.rooms[dm].encrypted
    return notices, dm


async def room_quiet_for_checkins(world: BotWorld, marker_from: AsyncClient) -> list[str]:
    """Everything the bot posted in the covered room, as the moderator sees it; a !rules
    answer typed after the check-in proves the bot has processed all that came before."""
    mod_notices = watch(world.mod)
    before = len(mod_notices.containing("Confidentiality reminder"))
    sent = await say(world.mod, world.room_id, "!rules")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until(
        [world.mod, marker_from],
        lambda: len(mod_notices.containing("Confidentiality reminder")) > before,
        "the moderator's !rules answer",
    )
    return [body for rid, body in mod_notices.seen if rid in (world.room_id, world.mods_room)]


async def test_checkin_answers_stay_in_the_encrypted_private_chat(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    alice = await matrix_client("alice")
    notices, dm = await open_checkin_from_room(world, alice)
    await reply(alice, dm, notices, "yes", "Question 1 of 4: How is your mood today?")
    assert "4) 4 (good)" in notices.containing("Question 1 of 4")[0][1]
    await reply(alice, dm, notices, "4", "Question 2 of 4: Did you sleep well?")
    await reply(alice, dm, notices, "skip", "Question 3 of 4: What helped most this week?")
    await reply(alice, dm, notices, "friends", "Question 4 of 4")
    await reply(alice, dm, notices, f"I {CANARY} today", "Thank you for checking in")
    await reply(alice, dm, notices, "!checkin history", "Your recent check-ins")
    history = notices.containing("Your recent check-ins")[0][1]
    assert "(complete)" in history
    assert "How is your mood today? 4 (good)" in history
    assert "Did you sleep well? (skipped)" in history
    assert "What helped most this week? friends" in history
    assert CANARY in history
    assert private_room(world, notices, "Your recent check-ins") == dm
    assert notices.undecryptable == []
    # the bot said nothing of it where others read: not the room, not the moderators
    public = await room_quiet_for_checkins(world, alice)
    assert not any(CANARY in body or "Question" in body or "mood" in body for body in public)
    assert not any("check-in" in body.lower() for body in notices.in_room(world.room_id))
    # and the store holds what was typed, in order, sealed
    assert world.app is not None
    store = world.app.store
    [checkin] = await store.member_checkins("matrix", alice.user_id, 5)
    assert checkin.status == "complete"
    rows = await store.checkin_answers(checkin.id)
    assert [(r.question_id, r.skipped) for r in rows] == [
        ("mood", False),
        ("slept", True),
        ("support", False),
        ("note", False),
    ]
    assert not any(CANARY.encode() in (r.sealed or b"") for r in rows)


async def test_crisis_word_shows_resources_and_stop_keeps_half_finished(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    bob = await matrix_client("bob")
    notices, dm = await open_checkin_from_room(world, bob)
    await reply(bob, dm, notices, "agree", "Question 1 of 4")
    await reply(bob, dm, notices, "3", "Question 2 of 4")
    # a crisis word where a yes/no was expected: resources at once, contact only on a yes
    await reply(bob, dm, notices, "I feel hopeless", "peer supporter to contact you")
    resources = notices.containing("Samaritans")
    assert [body for _, body in resources] and "116 123" in resources[0][1]
    assert "https://www.samaritans.org" in resources[0][1]
    assert {rid for rid, _ in resources} == {dm}
    await reply(bob, dm, notices, "no", "nobody is told")
    # the question still open is asked again (a second time), then the member stops
    await wait_until(
        [bob], lambda: len(notices.containing("Question 2 of 4")) >= 2, "question 2 again"
    )
    await reply(bob, dm, notices, "stop", "Check-in stopped")
    await reply(bob, dm, notices, "!checkin history", "Your recent check-ins")
    history = notices.containing("Your recent check-ins")[0][1]
    assert "(stopped)" in history and "How is your mood today? 3 (okay)" in history
    assert "Did you sleep well?" not in history and "hopeless" not in history
    assert notices.undecryptable == []
    public = await room_quiet_for_checkins(world, bob)
    assert not any("Contact request" in body or "hopeless" in body for body in public)
    assert world.app is not None
    store = world.app.store
    [checkin] = await store.member_checkins("matrix", bob.user_id, 5)
    assert checkin.status == "stopped"
    assert [r.question_id for r in await store.checkin_answers(checkin.id)] == ["mood"]
    assert await store.member_escalations("matrix", bob.user_id) == []
