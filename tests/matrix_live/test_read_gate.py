"""The read gate on a real Synapse: nobody reads the circle before agreeing to keep it.

The room is as docs/admin.md asks (room version 10, join rule ``knock``, history visibility
``joined``); members are real clients. A knock gets the reminder in an encrypted private
chat, ``!agree`` there gets an invite, and the member, once joined, reads only what was said
after their join; a member who never agrees reads nothing at all.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    RoomContextResponse,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomKnockResponse,
    RoomLeaveResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    RoomPutAliasResponse,
    RoomPutStateResponse,
    RoomSendResponse,
    RoomVisibility,
)

from adapters.matrix.homeserver import LocalSynapse
from bot.actions import Action
from bot.doctor import run_doctor
from bot.events import CommandInvoked, Event
from bot.policy import load_policy_dir
from tests.matrix_live.conftest import sync_once, unique_localpart
from tests.matrix_live.rig import (
    POLICY,
    REMINDER,
    BotWorld,
    create_world,
    say,
    wait_until,
    watch,
)

GATED = POLICY.replace("  require_agreement: true\n", "  gate: read\n")
ASKED = "Before you can read"
LET_IN = "accept the invitation and you can read it"
RECORDED = "Your agreement to the reminder"


async def set_room(world: BotWorld, join_rule: str, visibility: str) -> None:
    for kind, content in (
        ("m.room.join_rules", {"join_rule": join_rule}),
        ("m.room.history_visibility", {"history_visibility": visibility}),
    ):
        response = await world.mod.room_put_state(world.room_id, kind, content)
        assert isinstance(response, RoomPutStateResponse), response


async def gated_world(
    synapse: LocalSynapse,
    tmp: Path,
    make_client,  # type: ignore[no-untyped-def]
    join_rule: str = "knock",
    visibility: str = "joined",
) -> BotWorld:
    world = await create_world(synapse, tmp, make_client, policy=GATED)
    await set_room(world, join_rule, visibility)
    return world


@pytest.fixture
async def world(synapse: LocalSynapse, tmp_path: Path, matrix_client) -> AsyncIterator[BotWorld]:  # type: ignore[no-untyped-def]
    built = await gated_world(synapse, tmp_path, matrix_client)
    try:
        await built.start_bot()
        await wait_until([built.mod], built.bot_joined, "the bot joined the gated room")
        yield built
    finally:
        await built.stop_bot()


async def knock(member: AsyncClient, room_id: str) -> None:
    await sync_once(member)
    response = await member.room_knock(room_id)
    assert isinstance(response, RoomKnockResponse), response


def reminders(member: AsyncClient) -> list[tuple[str, str]]:
    return watch(member).containing(ASKED)


async def reminded(member: AsyncClient, count: int = 1) -> str:
    """Waits for the reminder in the member's private chat; the chat it came in."""
    await wait_until([member], lambda: len(reminders(member)) >= count, "the reminder arrived")
    room_id, body = reminders(member)[-1]
    assert REMINDER in body and "!agree" in body
    assert member.rooms[room_id].encrypted, "the reminder came in an unencrypted chat"
    return room_id


async def invited(member: AsyncClient, room_id: str) -> None:
    await wait_until(
        [member], lambda: room_id in member.invited_rooms, "the member was invited to the room"
    )


async def join(member: AsyncClient, room_id: str) -> None:
    response = await member.join(room_id)
    assert isinstance(response, JoinResponse), response
    await wait_until([member], lambda: room_id in member.rooms, "the member is in the room")


async def posted(client: AsyncClient, room_id: str, text: str) -> str:
    response = await say(client, room_id, text)
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


async def readable(member: AsyncClient, room_id: str) -> list[str]:
    """Every message text the homeserver lets the member page back through."""
    response = await member.room_messages(room_id, limit=100)
    if not isinstance(response, RoomMessagesResponse):
        return []
    return [event.body for event in response.chunk if isinstance(event, RoomMessageText)]


async def cannot_read_anything(member: AsyncClient, room_id: str, event_id: str) -> None:
    assert not isinstance(await member.room_messages(room_id, limit=100), RoomMessagesResponse)
    assert not isinstance(await member.room_context(room_id, event_id), RoomContextResponse)
    assert not isinstance(await member.room_get_state(room_id), RoomGetStateResponse)
    await sync_once(member)
    assert room_id not in member.rooms


async def test_knock_reminder_agree_invite_join_reads_only_after_the_join(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    room = world.room_id
    before = await posted(world.mod, room, "shared before anyone new came in")
    ann, bob = await matrix_client("ann"), await matrix_client("bob")
    await knock(ann, room)
    await knock(bob, room)
    chat = await reminded(ann)
    await reminded(bob)
    assert room not in ann.invited_rooms  # asked, reminded, not let in
    await cannot_read_anything(ann, room, before)

    await posted(ann, chat, "!agree")
    await wait_until([ann], lambda: bool(watch(ann).containing(LET_IN)), "told they can read")
    await invited(ann, room)
    await join(ann, room)
    await posted(world.mod, room, "shared after ann joined")
    texts = await readable(ann, room)
    assert "shared after ann joined" in texts
    assert "shared before anyone new came in" not in texts
    assert not isinstance(await ann.room_context(room, before), RoomContextResponse)

    # the join after the invite is no news: no second reminder, and ann is not held back
    hello = await posted(ann, room, "hello, I am new here")
    await posted(ann, room, "!rules")  # answered privately once the bot handled the above
    await wait_until(
        [ann], lambda: bool(watch(ann).containing("You have agreed to it")), "!rules answered"
    )
    assert len(reminders(ann)) == 1
    levels = await world.mod.room_get_state_event(room, "m.room.power_levels")
    assert levels.content["users"].get(ann.user_id, 0) >= 0  # type: ignore[union-attr]
    kept = await world.mod.room_get_event(room, hello)
    assert not (kept.event.source.get("unsigned") or {}).get("redacted_because")  # type: ignore[union-attr]

    # bob never agreed: nothing of the room reaches him, before or after
    await cannot_read_anything(bob, room, before)
    assert len(reminders(bob)) == 1

    # ann leaves and knocks again: let in at once, without a new reminder (same text)
    left = await ann.room_leave(room)
    assert isinstance(left, RoomLeaveResponse), left
    await knock(ann, room)
    await invited(ann, room)
    assert len(reminders(ann)) == 1


async def test_a_plain_agree_reply_and_join_by_alias_let_in(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    alias = f"#{unique_localpart('circle')}:{world.bot_id.split(':', 1)[1]}"
    put = await world.mod.room_put_alias(alias, world.room_id)
    assert isinstance(put, RoomPutAliasResponse), put
    cy = await matrix_client("cy")
    watch(cy)
    await sync_once(cy)
    # the member opens a private chat with the bot and asks there
    created = await cy.room_create(is_direct=True, invite=[world.bot_id])
    assert isinstance(created, RoomCreateResponse), created
    own = created.room_id

    def bot_in_own_chat() -> bool:
        found = cy.rooms.get(own)
        return found is not None and world.bot_id in found.users and not found.invited_users

    await wait_until([cy], bot_in_own_chat, "the bot joined the member's chat")
    await posted(cy, own, f"!join {alias}")
    chat = await reminded(cy)
    await posted(cy, chat, "agree")
    await invited(cy, world.room_id)
    # a room the bot does not gate is answered, never met with silence
    await posted(cy, chat, f"!join #nowhere-{unique_localpart()}:example.org")
    await wait_until(
        [cy],
        lambda: bool(watch(cy).containing("is not a room I let people into")),
        "the answer for a room the bot does not gate",
    )


async def test_knocks_while_the_bot_was_down_are_handled_once_after_restarts(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    dee, eli = await matrix_client("dee"), await matrix_client("eli")
    watch(dee)
    watch(eli)
    await world.stop_bot()
    await knock(dee, world.room_id)
    await knock(eli, world.room_id)
    await world.start_bot()
    chat = await reminded(dee)
    await reminded(eli)
    await world.stop_bot()
    await world.start_bot()
    await posted(dee, chat, "!agree")
    await invited(dee, world.room_id)
    await wait_until([dee, eli], lambda: bool(watch(dee).containing(LET_IN)), "dee let in")
    assert len(reminders(dee)) == 1 and len(reminders(eli)) == 1
    assert world.room_id not in eli.invited_rooms


async def test_open_join_rule_and_shared_history_are_told_to_the_moderators(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    built = await gated_world(synapse, tmp_path, matrix_client, "public", "shared")
    try:
        await built.start_bot()
        mods = watch(built.mod)
        await wait_until(
            [built.mod],
            lambda: any("read gate" in body for body in mods.in_room(built.mods_room)),
            "the moderators were told",
        )
        (alert,) = [b for b in mods.in_room(built.mods_room) if "read gate" in b]
        assert "join rule is 'public'" in alert and "as with gate: post" in alert
        assert "history visibility is 'shared'" in alert and "Members only" in alert
        # meanwhile the room holds back posting, as gate: post does: a joiner is reminded
        fay = await matrix_client("fay")
        watch(fay)
        await join(fay, built.room_id)
        await wait_until([fay], lambda: bool(watch(fay).containing(REMINDER)), "fay reminded")
    finally:
        await built.stop_bot()
    # confidant doctor says the same before a bot ever runs against the room
    from adapters.matrix.doctor import inspect

    config = built.config()
    out = io.StringIO()
    await run_doctor(config, load_policy_dir(config.policy_dir), out, {"matrix": inspect})
    report = out.getvalue()
    assert f"problem  in Recovery circle ({built.room_id}) its join rule is 'public'" in report
    assert "fix: in room settings > Security & Privacy > Access choose 'Ask to join'" in report
    assert "its history visibility is 'shared'" in report
    await set_room(built, "knock", "joined")
    out = io.StringIO()
    await run_doctor(config, load_policy_dir(config.policy_dir), out, {"matrix": inspect})
    assert "read gate: nobody joins without an invite" in out.getvalue()
    assert "its join rule" not in out.getvalue()


async def suspending_world(synapse: LocalSynapse, tmp: Path, make_client) -> BotWorld:  # type: ignore[no-untyped-def]
    """The gated circle under ``reask: suspend``: a changed reminder takes access away."""
    built = await create_world(synapse, tmp, make_client, policy=GATED + "  reask: suspend\n")
    await set_room(built, "knock", "joined")
    return built


async def knocked_and_reminded(built: BotWorld, make_client) -> tuple[AsyncClient, str]:  # type: ignore[no-untyped-def]
    """The bot started; gus knocks and is reminded: (gus, his private chat with the bot)."""
    await built.start_bot()
    await wait_until([built.mod], built.bot_joined, "the bot joined the gated room")
    gus = await make_client("gus")
    await knock(gus, built.room_id)
    return gus, await reminded(gus)


async def test_a_changed_text_under_suspend_removes_until_agreed_again(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    built = await suspending_world(synapse, tmp_path, matrix_client)
    try:
        gus, chat = await knocked_and_reminded(built, matrix_client)
        await posted(gus, chat, "!agree")
        await invited(gus, built.room_id)
        await join(gus, built.room_id)
        await built.stop_bot()
        policy = built.tmp / "policies" / "circle.yaml"
        policy.write_text(policy.read_text().replace(REMINDER, "New words, it stays here."))
        await built.start_bot()
        await wait_until(
            [gus, built.mod],
            lambda: gus.user_id not in built.mod.rooms[built.room_id].users,
            "gus was removed from the room",
        )
        await wait_until(
            [gus], lambda: len(reminders(gus)) == 2, "the new reminder, saying it changed"
        )
        assert "has changed" in reminders(gus)[-1][1]
        assert "New words, it stays here." in reminders(gus)[-1][1]
        response = await built.mod.room_get_state_event(built.room_id, "m.room.member", gus.user_id)
        reason = response.content.get("reason", "")  # type: ignore[union-attr]
        # the core's sentence in the policy's language, never the room's text
        assert reason == (
            "The room's confidentiality reminder has changed. Agree to the new one to read the "
            "room again."
        )
        assert "New words" not in reason
        await posted(gus, reminders(gus)[-1][0], "!agree")
        await invited(gus, built.room_id)
    finally:
        await built.stop_bot()


async def test_a_stop_while_an_agreement_is_answered_finishes_it_and_a_restart_replays_nothing(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    """The bot is stopped while it is still handling a member's !agree (a deploy, a
    restart). The stop lets that answer finish and saves the sync position; otherwise the
    next start hands the same !agree over again, and, the reminder's words having changed
    meanwhile, it would count as agreeing to words the member never saw."""
    built = await suspending_world(synapse, tmp_path, matrix_client)
    try:
        gus, chat = await knocked_and_reminded(built, matrix_client)
        assert built.app is not None
        core = built.app.runtime.core
        handle, handling = core.handle, asyncio.Event()

        async def slow_agree(event: Event) -> list[Action]:
            actions = await handle(event)
            if isinstance(event, CommandInvoked) and event.name == "agree":
                handling.set()
                await asyncio.sleep(1.0)  # the stop comes now
            return actions

        core.handle = slow_agree  # type: ignore[method-assign]
        await posted(gus, chat, "!agree")
        await asyncio.wait_for(handling.wait(), 20)
        await built.stop_bot()
        await invited(gus, built.room_id)  # the answer finished: she is let in
        thanked = len(watch(gus).containing(RECORDED))
        assert thanked == 1
        policy = built.tmp / "policies" / "circle.yaml"
        policy.write_text(policy.read_text().replace(REMINDER, "New words, it stays here."))
        await built.start_bot()
        assert built.app is not None
        await posted(gus, chat, "!help")  # her next command: answered after any replay
        await wait_until([gus], lambda: bool(watch(gus).containing("!rules")), "help answered")
        assert len(watch(gus).containing(RECORDED)) == thanked  # no second answer
        assert not watch(gus).containing("already agreed")
        new_version = built.app.runtime.core.policies.current.by_name("circle").reminder_version
        assert not await built.app.store.has_agreed("matrix", gus.user_id, "circle", new_version)
    finally:
        await built.stop_bot()


async def test_a_knock_on_a_space_child_counts_like_a_knock_on_the_room(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    """Members browsing a space see the circle listed and ask to join it from there."""
    server = world.bot_id.split(":", 1)[1]
    space = await world.mod.room_create(
        space=True, name="Support", preset=RoomPreset.public_chat, visibility=RoomVisibility.private
    )
    assert isinstance(space, RoomCreateResponse), space
    child = await world.mod.room_put_state(
        space.room_id, "m.space.child", {"via": [server]}, state_key=world.room_id
    )
    assert isinstance(child, RoomPutStateResponse), child
    ivy = await matrix_client("ivy")
    await join(ivy, space.room_id)
    listed = await ivy.room_get_state_event(space.room_id, "m.space.child", world.room_id)
    assert isinstance(listed, RoomGetStateEventResponse), listed  # the circle, as a child
    await knock(ivy, world.room_id)
    chat = await reminded(ivy)
    await posted(ivy, chat, "!agree")
    await invited(ivy, world.room_id)


async def test_a_room_opened_while_the_bot_runs_is_told_to_the_moderators_at_once(
    world: BotWorld,
) -> None:
    mods = watch(world.mod)
    await set_room(world, "public", "joined")
    await wait_until(
        [world.mod],
        lambda: any("join rule is 'public'" in b for b in mods.in_room(world.mods_room)),
        "the moderators were told the room was opened",
    )
    assert not any("history visibility" in b for b in mods.in_room(world.mods_room))
