"""Confidant's Matrix adapter against a real Synapse: the join/agree scenarios of the issue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import AsyncClient, JoinResponse, RoomSendResponse

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import (
    REMINDER,
    BotWorld,
    Notices,
    accept_dm_invites,
    create_world,
    say,
    wait_until,
    watch,
)


@pytest.fixture
async def world(synapse: LocalSynapse, tmp_path: Path, matrix_client) -> AsyncIterator[BotWorld]:  # type: ignore[no-untyped-def]
    built = await create_world(synapse, tmp_path, matrix_client)
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


async def read_dm(world: BotWorld, client: AsyncClient, notices: Notices, text: str) -> str:
    """Wait for the bot's private chat invite, open it, and return the notice with text."""
    await wait_until([client], lambda: any(d for _, d in notices.invites), "a private chat invite")
    await accept_dm_invites(client, notices)
    await wait_until([client], lambda: bool(notices.containing(text)), f"a notice with {text!r}")
    room_id, body = notices.containing(text)[0]
    assert room_id != world.room_id  # privately, not in the support room
    return body


async def test_join_gets_private_reminder_once(world: BotWorld, matrix_client) -> None:  # type: ignore[no-untyped-def]
    alice = await matrix_client("alice")
    notices = await join_member(world, alice)
    body = await read_dm(world, alice, notices, REMINDER)
    assert "!agree" in body and "!rules" in body
    assert notices.undecryptable == []
    # once she agreed: a display-name change is not a join; a second join asks nothing
    # (a member who never agreed is reminded again when they come back)
    dm_room = notices.containing(REMINDER)[0][0]
    await say(alice, dm_room, "!agree")
    await wait_until(
        [alice], lambda: bool(notices.containing("agreement")), "her agreement is recorded"
    )
    await alice.set_displayname("Alice A.")
    await alice.room_leave(world.room_id)
    await alice.join(world.room_id)
    marker = await say(world.mod, world.room_id, "!rules")
    assert isinstance(marker, RoomSendResponse)
    # the moderator's !rules reply proves the bot processed everything before it
    mod_notices = watch(world.mod)
    await wait_until(
        [world.mod, alice],
        lambda: bool(mod_notices.containing("Confidentiality reminder")),
        "the moderator's !rules answer",
    )
    assert len(notices.containing(REMINDER)) == 1
    # members who were in the room before the bot joined (its creator) are not reminded
    assert mod_notices.containing("Welcome to") == []


async def test_agreement_gate_with_power_levels(world: BotWorld, matrix_client) -> None:  # type: ignore[no-untyped-def]
    bob = await matrix_client("bob")
    notices = await join_member(world, bob)
    await read_dm(world, bob, notices, REMINDER)
    # not agreed yet: the bot lowered bob's power level below what posting needs
    await wait_until(
        [bob],
        lambda: bob.rooms[world.room_id].power_levels.get_user_level(bob.user_id) < 0,
        "bob's posting restricted",
    )
    refused = await say(bob, world.room_id, "hello")
    assert not isinstance(refused, RoomSendResponse)
    # agreeing in the private chat restores posting
    dm_room = notices.containing(REMINDER)[0][0]
    sent = await say(bob, dm_room, "!agree")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until([bob], lambda: bool(notices.containing("Thank you")), "the agree reply")
    await wait_until(
        [bob],
        lambda: bob.rooms[world.room_id].power_levels.get_user_level(bob.user_id) >= 0,
        "bob may post again",
    )
    ok = await say(bob, world.room_id, "hi")
    assert isinstance(ok, RoomSendResponse), ok
    assert world.app is not None
    assert await world.app.store.has_agreed("matrix", bob.user_id, "circle", None)


async def test_commands_and_moderator_refusal(world: BotWorld, matrix_client) -> None:  # type: ignore[no-untyped-def]
    carol = await matrix_client("carol")
    notices = await join_member(world, carol)
    await read_dm(world, carol, notices, REMINDER)
    dm_room = notices.containing(REMINDER)[0][0]
    for command in ("!help", "!policy reload", "!rules"):
        await say(carol, dm_room, command)
    await wait_until(
        [carol],
        lambda: (
            bool(notices.containing("Commands you can use"))
            and bool(notices.containing("Only moderators can use !policy reload"))
            and len(notices.containing(REMINDER)) == 2
        ),
        "answers to help, a refused moderator command and the rules in a private chat",
    )
    help_text = notices.containing("Commands you can use")[0][1]
    assert "!agree" in help_text and "!policy reload" not in help_text
    mod_notices = watch(world.mod)
    await say(world.mod, world.room_id, "!policy reload")
    await wait_until(
        [world.mod, carol],
        lambda: bool(mod_notices.containing("Policies reloaded")),
        "the moderator's reload answer",
    )
