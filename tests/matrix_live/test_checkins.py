"""Private check-ins on a real Synapse: started in the covered room, carried on in the
member's encrypted private chat, answers recorded and read back only there.

Why end to end: the console tests prove the flow, but only a homeserver shows whether the
conversation really leaves the room, arrives decryptable, and whether typed answers in a
private chat reach the check-in instead of the command parser. Also here: a contact request
reaching the supporters' room and its !claim by one of two supporters, scheduled check-ins
and the timeout on the core's (fake) clock, and /mydata as an encrypted file whose clear
bytes never reach the homeserver's media store.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    MatrixRoom,
    MemoryDownloadResponse,
    RoomEncryptedFile,
    RoomInviteResponse,
    RoomMessageFile,
    RoomSendResponse,
)
from nio.crypto.attachments import decrypt_attachment

from adapters.matrix.homeserver import LocalSynapse
from bot.checkins.rights import export
from bot.clock import FakeClock
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
    thresholds:
      - question: mood
        at_most: 1
    resources:
      - name: Samaritans
        number: "116 123"
        link: https://www.samaritans.org
  supporters:
    - platform: matrix
      user: "{mod}"
    - platform: matrix
      user: "SUE"
  supporters_room:
    platform: matrix
    id: "{mods_room}"
"""
)

CANARY = "walked-by-the-lake-7f3c"


@pytest.fixture
async def sue(matrix_client) -> AsyncClient:  # type: ignore[no-untyped-def]
    """A second peer supporter (the moderator is the first), named in the policy."""
    client: AsyncClient = await matrix_client("sue")
    return client


@pytest.fixture
def clock() -> FakeClock:
    """The bot's clock, started at the real time: Matrix events carry the homeserver's
    timestamps, and the core compares them with this clock."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
async def world(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
    sue: AsyncClient,
    clock: FakeClock,
) -> AsyncIterator[BotWorld]:
    policy = CHECKIN_POLICY.replace("SUE", sue.user_id)
    built = await create_world(synapse, tmp_path, matrix_client, policy=policy)
    try:
        await built.start_bot(clock)
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


# -- a contact request, only after a yes, and !claim -------------------------------------------


async def join_supporters_room(world: BotWorld, supporter: AsyncClient) -> None:
    """The moderator invites the second supporter into the supporters' (moderators') room."""
    watch(supporter)
    await sync_once(supporter)
    invited = await world.mod.room_invite(world.mods_room, supporter.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await wait_until(
        [supporter], lambda: world.mods_room in supporter.invited_rooms, "sue's invitation"
    )
    joined = await supporter.join(world.mods_room)
    assert isinstance(joined, JoinResponse), joined


async def test_contact_request_after_yes_reaches_supporters_and_one_claim_wins(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
    sue: AsyncClient,
) -> None:
    await join_supporters_room(world, sue)
    mod_notices, sue_notices = watch(world.mod), watch(sue)
    bob = await matrix_client("bob")
    notices, dm = await open_checkin_from_room(world, bob)
    await reply(bob, dm, notices, "agree", "Question 1 of 4")
    await reply(bob, dm, notices, "1", "peer supporter to contact you")
    assert "116 123" in notices.containing("Samaritans")[0][1]
    await reply(bob, dm, notices, "yes", "Should they see your answers")
    assert mod_notices.containing("Contact request") == []  # sharing is asked first
    await reply(bob, dm, notices, "no", "Question 2 of 4")
    assert "request 1). They see who you are and nothing else" in (
        notices.containing("will be asked to contact you")[0][1]
    )
    await wait_until(
        [world.mod, sue],
        lambda: bool(mod_notices.containing("Contact request 1")) and bool(
            sue_notices.containing("Contact request 1")
        ),
        "the contact request in the supporters' room",
    )
    [(where, request)] = mod_notices.containing("Contact request 1")
    assert where == world.mods_room
    assert request.startswith(f"Contact request 1: matrix user {bob.user_id} asked")
    assert "!claim 1" in request
    assert "mood" not in request.lower() and "very low" not in request  # not shared
    await reply(bob, dm, notices, "no", "Question 3 of 4")
    await reply(bob, dm, notices, "skip", "Question 4 of 4")
    await reply(bob, dm, notices, f"I {CANARY} today", "Thank you for checking in")
    # two supporters claim at once: one wins, the other hears who has it
    sent = await asyncio.gather(
        say(world.mod, world.mods_room, "!claim 1"), say(sue, world.mods_room, "!claim 1")
    )
    assert all(isinstance(response, RoomSendResponse) for response in sent), sent
    await wait_until(
        [world.mod, sue, bob],
        lambda: (
            len(mod_notices.containing("Request 1 ")) + len(sue_notices.containing("Request 1 "))
            >= 2
            and bool(notices.containing("will contact you privately soon"))
        ),
        "both claims answered and the member told",
    )
    answers = [body for _, body in [*mod_notices.containing("Request 1 "),
                                    *sue_notices.containing("Request 1 ")]]
    assert sum("is yours" in a for a in answers) == 1
    assert sum("already claimed" in a for a in answers) == 1
    assert world.app is not None
    [escalation] = await world.app.store.member_escalations("matrix", bob.user_id)
    assert not escalation.shared and escalation.claimed_by is not None
    winner = escalation.claimed_by.split(":", 1)[1]
    assert winner in (world.mod.user_id, sue.user_id)
    [(told_in, told)] = notices.containing("will contact you privately soon")
    assert told_in == dm and told == (
        f"A peer supporter, matrix user {winner}, will contact you privately soon."
    )
    await wait_until(
        [world.mod], lambda: bool(mod_notices.containing("was claimed by")), "the claim note"
    )
    # nothing of the check-in but who asked ever reached the supporters
    in_mods = [body for rid, body in mod_notices.seen if rid == world.mods_room]
    assert not any(CANARY in body or "sleep" in body.lower() for body in in_mods)
    assert notices.undecryptable == []


# -- time: scheduled check-ins and the timeout, on the core's clock ----------------------------


async def tick_at(world: BotWorld, clock: FakeClock, when: datetime) -> None:
    """Move the bot's clock to ``when`` and run its periodic work once."""
    assert world.app is not None
    await clock.advance(when - clock.now())
    await world.app.runtime.tick()


async def test_scheduled_checkin_arrives_once_in_the_private_chat(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    carol = await matrix_client("carol")
    notices = await join_member(world, carol)
    due = (clock.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    sent = await say(carol, world.room_id, f"!checkin schedule daily {due:%H:%M} UTC")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until(
        [carol], lambda: bool(notices.containing("Your check-in is scheduled")), "the schedule"
    )
    dm = private_room(world, notices, "Your check-in is scheduled")
    assert f"daily at {due:%H:%M} (UTC)" in notices.containing("Your check-in is scheduled")[0][1]

    def starts() -> int:
        return len(notices.containing("Time for your scheduled check-in"))

    async def settled(expected: int) -> None:
        """``!checkin history`` answered after the tick proves the bot sent all before it."""
        marker = len(notices.containing("Your recent check-ins"))
        before = len(notices.containing("You have no check-ins yet"))
        await say(carol, dm, "!checkin history")
        await wait_until(
            [carol],
            lambda: len(notices.containing("Your recent check-ins")) > marker
            or len(notices.containing("You have no check-ins yet")) > before,
            "the history marker",
        )
        assert starts() == expected

    await tick_at(world, clock, due - timedelta(minutes=1))
    await settled(0)
    await tick_at(world, clock, due + timedelta(minutes=1))
    await wait_until([carol], lambda: starts() == 1, "the scheduled check-in")
    await wait_until([carol], lambda: bool(notices.containing("agree or decline")), "the intro")
    assert {rid for rid, _ in notices.containing("Time for your scheduled")} == {dm}
    assert private_room(world, notices, "agree or decline") == dm
    await tick_at(world, clock, due + timedelta(minutes=30))
    await settled(1)  # exactly once
    await reply(carol, dm, notices, "agree", "Question 1 of 4")
    await reply(carol, dm, notices, "stop", "Check-in stopped")
    # snoozed for 72 hours from now: the next two days pass without one, the third comes
    await reply(carol, dm, notices, "!checkin snooze 72", "Snoozed")
    await tick_at(world, clock, due + timedelta(days=1, minutes=1))
    await settled(1)
    await tick_at(world, clock, due + timedelta(days=3, minutes=1))
    await wait_until([carol], lambda: starts() == 2, "the check-in after the snooze")
    await reply(carol, dm, notices, "stop", "Check-in stopped", count=2)
    # paused, then removed: nothing more
    await reply(carol, dm, notices, "!checkin pause", "Scheduled check-ins are paused")
    await tick_at(world, clock, due + timedelta(days=4, minutes=1))
    await settled(2)
    await reply(carol, dm, notices, "!checkin stop", "Your check-in schedule is removed")
    await tick_at(world, clock, due + timedelta(days=6, minutes=1))
    await settled(2)
    assert world.app is not None
    assert await world.app.store.checkin_schedule("matrix", carol.user_id) is None
    assert notices.undecryptable == []
    assert not any("scheduled" in body for body in notices.in_room(world.room_id))


async def test_a_silent_checkin_times_out_and_the_member_is_told(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
    clock: FakeClock,
) -> None:
    dave = await matrix_client("dave")
    notices, dm = await open_checkin_from_room(world, dave)
    await reply(dave, dm, notices, "agree", "Question 1 of 4")
    await reply(dave, dm, notices, "3", "Question 2 of 4")
    assert world.app is not None
    store = world.app.store
    [checkin] = await store.member_checkins("matrix", dave.user_id, 5)
    # 19 minutes of silence: still open (the answer's time is the homeserver's)
    await tick_at(world, clock, checkin.updated_at + timedelta(minutes=19))
    [checkin] = await store.member_checkins("matrix", dave.user_id, 5)
    assert checkin.status == "open"
    await tick_at(world, clock, checkin.updated_at + timedelta(minutes=21))
    await wait_until(
        [dave], lambda: bool(notices.containing("closed after 20 minutes")), "the timeout note"
    )
    assert private_room(world, notices, "closed after 20 minutes") == dm
    [checkin] = await store.member_checkins("matrix", dave.user_id, 5)
    assert checkin.status == "timed_out"
    assert [r.question_id for r in await store.checkin_answers(checkin.id)] == ["mood"]
    # a late answer is not taken, and nothing is asked again
    await reply(dave, dm, notices, "!checkin history", "Your recent check-ins")
    assert "(timed out)" in notices.containing("Your recent check-ins")[0][1]
    assert len(notices.containing("Question 2 of 4")) == 1


# -- /mydata as an encrypted file ---------------------------------------------------------------


async def test_mydata_is_an_encrypted_file_the_homeserver_cannot_read(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
    synapse: LocalSynapse,
) -> None:
    erin = await matrix_client("erin")
    files: list[tuple[str, RoomEncryptedFile | RoomMessageFile]] = []

    async def on_file(room: MatrixRoom, event: RoomEncryptedFile | RoomMessageFile) -> None:
        files.append((room.room_id, event))

    erin.add_event_callback(on_file, (RoomEncryptedFile, RoomMessageFile))  # type: ignore[arg-type]
    notices, dm = await open_checkin_from_room(world, erin)
    await reply(erin, dm, notices, "agree", "Question 1 of 4")
    await reply(erin, dm, notices, "4", "Question 2 of 4")
    await reply(erin, dm, notices, "yes", "Question 3 of 4")
    await reply(erin, dm, notices, "friends", "Question 4 of 4")
    await reply(erin, dm, notices, f"I {CANARY} today", "Thank you for checking in")
    assert world.app is not None and world.app.core.checkins is not None
    expected = await export(world.app.core.checkins, "matrix", erin.user_id)
    sent = await say(erin, world.room_id, "!mydata")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until([erin], lambda: bool(files), "the export file")
    [(room_id, event)] = files
    assert room_id == dm and isinstance(event, RoomEncryptedFile)  # never a plain m.file
    text = notices.containing("confidant-mydata.json")[0][1]
    assert CANARY not in text and "attached file confidant-mydata.json" in text
    assert event.body == "confidant-mydata.json"
    downloaded = await erin.download(mxc=event.url)
    assert isinstance(downloaded, MemoryDownloadResponse), downloaded
    assert CANARY.encode() not in downloaded.body  # what the homeserver hands out: ciphertext
    clear = decrypt_attachment(
        downloaded.body, event.key["k"], event.hashes["sha256"], event.iv
    )
    data = json.loads(clear)
    assert data == json.loads(json.dumps(expected))
    assert data["member"] == {"platform": "matrix", "id": erin.user_id}
    assert [a.get("answer") for a in data["checkins"][0]["answers"]][-1] == f"I {CANARY} today"
    # and what the homeserver stored on its disk is the same ciphertext, never the clear text
    media_id = event.url.rsplit("/", 1)[1]
    stored = [f for f in (synapse.data_dir / "media_store").rglob("*") if f.is_file()]
    assert any(f.name == media_id or f.read_bytes() == downloaded.body for f in stored)
    assert not any(CANARY.encode() in f.read_bytes() for f in stored)
    assert not any(b'"checkins"' in f.read_bytes() for f in stored)
