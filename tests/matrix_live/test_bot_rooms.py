"""Encrypted rooms, the redaction fallback, unopened private chats and invites, on Synapse."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from nio import JoinResponse, RoomCreateResponse, RoomMessagesResponse

from adapters.matrix import outbound as matrix_outbound
from adapters.matrix.homeserver import LocalSynapse
from bot import texts
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import (
    POLICY,
    REMINDER,
    create_world,
    say,
    wait_until,
    watch,
)


async def test_encrypted_room_reminder_commands_and_restart(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client, encrypted=True)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined the encrypted room")
        dana = await matrix_client("dana")
        notices = watch(dana)
        await sync_once(dana)
        assert isinstance(await dana.join(world.room_id), JoinResponse)
        await wait_until([dana], lambda: bool(notices.containing(REMINDER)), "dana reminded")
        assert notices.undecryptable == []
        # posting is held back until she agrees (in the private chat)
        dm_room = notices.containing(REMINDER)[0][0]
        await say(dana, dm_room, "!agree")
        await wait_until([dana], lambda: bool(notices.containing("Thank you")), "agree handled")
        await wait_until(
            [dana],
            lambda: dana.rooms[world.room_id].power_levels.get_user_level(dana.user_id) >= 0,
            "dana may post",
        )
        # the bot decrypts a command typed in the encrypted room itself
        await say(dana, world.room_id, "!rules")
        await wait_until(
            [dana],
            lambda: len(notices.containing("Confidentiality reminder for this room")) == 1,
            "the bot decrypted !rules and answered",
        )
        # what the homeserver holds of the room is ciphertext only (nio decrypts it here)
        history = await dana.room_messages(world.room_id, start="", limit=50)
        assert isinstance(history, RoomMessagesResponse)
        sent_by_dana = [e for e in history.chunk if getattr(e, "sender", "") == dana.user_id]
        texts = [e for e in sent_by_dana if hasattr(e, "body")]
        assert texts and all(e.decrypted for e in texts)
        # a restart (new App, same key store) still reads and writes encrypted messages
        await world.stop_bot()
        await world.start_bot()
        await say(dana, world.room_id, "!rules")
        await wait_until(
            [dana],
            lambda: len(notices.containing("Confidentiality reminder for this room")) == 2,
            "the restarted bot decrypted !rules and answered readably",
        )
        assert notices.undecryptable == []
    finally:
        await world.stop_bot()


async def test_without_power_to_restrict_unagreed_posts_are_redacted_and_told(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    # the bot may redact (50) but changing power levels needs 100
    world = await create_world(synapse, tmp_path, matrix_client, power_levels_level=100)
    mod_notices = watch(world.mod)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        erin = await matrix_client("erin")
        notices = watch(erin)
        await sync_once(erin)
        assert isinstance(await erin.join(world.room_id), JoinResponse)
        await wait_until([erin], lambda: bool(notices.containing(REMINDER)), "erin reminded")
        posted = await say(erin, world.room_id, "my private story")
        event_id = posted.event_id  # type: ignore[attr-defined]
        await wait_until(
            [erin], lambda: bool(notices.containing("was removed")), "erin told privately"
        )
        told = notices.containing("was removed")[0][1]
        assert "my private story" not in told
        redacted = await erin.room_get_event(world.room_id, event_id)
        assert redacted.event.source.get("unsigned", {}).get("redacted_because")  # type: ignore[union-attr]
        assert not mod_notices.containing("cannot")  # it can delete, so no alert
    finally:
        await world.stop_bot()


async def test_unopened_private_chat_falls_back_to_a_room_mention(
    synapse: LocalSynapse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    quick = POLICY.replace("private_timeout_minutes: 10", "private_timeout_minutes: 1")
    invites_due_early(monkeypatch)
    world = await create_world(synapse, tmp_path, matrix_client, policy=quick)
    room_notices = watch(world.mod)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        frank = await matrix_client("frank")  # never opens the private chat: not watched
        await sync_once(frank)
        assert isinstance(await frank.join(world.room_id), JoinResponse)
        await wait_until(
            [world.mod],
            lambda: bool(
                [b for r, b in room_notices.seen if r == world.room_id and "could not reach" in b]
            ),
            "the in-room fallback mentioning frank",
            deadline_s=30,
        )
        fallback = next(b for r, b in room_notices.seen if r == world.room_id and "reach" in b)
        assert REMINDER in fallback
        assert frank.user_id in fallback or "frank" in fallback
    finally:
        await world.stop_bot()


async def test_invites_to_uncovered_rooms_are_declined(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        stranger = await matrix_client("stranger")
        await sync_once(stranger)
        other = await stranger.room_create(name="Random chat", invite=[world.bot_id])
        assert isinstance(other, RoomCreateResponse)
        await wait_until(
            [stranger],
            lambda: (
                other.room_id in stranger.rooms
                and world.bot_id not in stranger.rooms[other.room_id].users
            ),
            "the bot declined the invite",
        )
        # a private chat opened by a member is accepted, and commands work there
        gina = await matrix_client("gina")
        notices = watch(gina)
        await sync_once(gina)
        dm = await gina.room_create(is_direct=True, invite=[world.bot_id])
        assert isinstance(dm, RoomCreateResponse)
        await wait_until(
            [gina],
            lambda: (
                dm.room_id in gina.rooms
                and world.bot_id in gina.rooms[dm.room_id].users
                and world.bot_id not in gina.rooms[dm.room_id].invited_users
            ),
            "the bot joined gina's private chat",
        )
        await say(gina, dm.room_id, "!help")
        await wait_until([gina], lambda: bool(notices.containing("Commands you can use")), "help")
        # her chat is not encrypted: the answer goes to an encrypted one, hers hears where
        answered_in = notices.containing("Commands you can use")[0][0]
        assert answered_in != dm.room_id and gina.rooms[answered_in].encrypted
        notice = texts.unencrypted_private_chat()
        await wait_until([gina], lambda: bool(notices.in_room(dm.room_id)), "the notice")
        assert notices.in_room(dm.room_id) == [notice]
    finally:
        await world.stop_bot()


async def test_moderators_are_alerted_in_their_room(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    """No power at all in the covered room, then a broken policy edit: both reach the
    moderators' room, and neither quotes anything a member wrote."""
    world = await create_world(synapse, tmp_path, matrix_client, bot_level=0)
    alerts = watch(world.mod)
    await world.start_bot()
    try:
        await wait_until(
            [world.mod],
            lambda: any(
                "cannot do everything" in b for r, b in alerts.seen if r == world.mods_room
            ),
            "the missing-power alert in the moderators' room",
        )
        alert = next(b for r, b in alerts.seen if r == world.mods_room and "cannot" in b)
        assert "not enforced" in alert and "power level 50" in alert
        policy_file = world.tmp / "policies" / "circle.yaml"
        policy_file.write_text(policy_file.read_text().replace("delivery: private", "delivery: x"))
        assert world.app is not None
        await world.app.runtime.poll_policies()
        await wait_until(
            [world.mod],
            lambda: any(
                "Policy reload failed" in b for r, b in alerts.seen if r == world.mods_room
            ),
            "the broken-policy alert",
        )
        failed = next(b for r, b in alerts.seen if "Policy reload failed" in b)
        # named within the policy folder, as the moderators know it, not by the server's path
        assert "\ncircle.yaml:13:" in failed and "'x' is not one of" in failed
        assert "policies/" not in failed
    finally:
        await world.stop_bot()


def invites_due_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """A private-chat invitation's deadline is the Matrix adapter's wall-clock time plus the
    policy's wait; set that clock 57 s back, and the shortest wait a policy may give (one
    minute) runs out about 3 s after the invitation."""
    behind = SimpleNamespace(time=lambda: time.time() - 57, time_ns=time.time_ns)
    monkeypatch.setattr(matrix_outbound, "time", behind)
