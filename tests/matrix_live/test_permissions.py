"""The permission matrix on a real Synapse: one member sends every moderator command in the
registry and is refused each one; commands sent from the bot's own account, or as notices
(what bots send on Matrix), are never acted on, even from accounts the policy lists as
moderators."""

from __future__ import annotations

import json
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, JoinResponse, RoomSendResponse

from adapters.matrix.homeserver import LocalSynapse
from bot.app import build_registry
from bot.commands import CommandSpec, Permission
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import (
    REMINDER,
    BotWorld,
    create_world,
    say,
    wait_until,
    watch,
    write_policy,
)

MODERATOR_COMMANDS = [s for s in build_registry() if s.permission is Permission.MODERATOR]

# No agreement gate (a member who has not agreed could not post commands in the room at all),
# and the bot's own account listed as a moderator: acting on its own words would show.
POLICY = """\
name: circle
rooms:
  - platform: matrix
    id: "{room_id}"
moderators:
  - platform: matrix
    user: "{mod}"
  - platform: matrix
    user: "{bot}"
alerts:
  - platform: matrix
    id: "{mods_room}"
reminder:
  text: What is shared in the circle stays in the circle.
  delivery: private
"""


def command_line(spec: CommandSpec) -> str:
    """``!name`` with arguments that fit, so a refusal is never a usage error."""
    argv = [p.choices[0] if p.choices else "1" if p.kind is int else "circle" for p in spec.params]
    return " ".join([f"!{spec.name}", *argv])


async def started(synapse: LocalSynapse, tmp_path: Path, matrix_client) -> BotWorld:  # type: ignore[no-untyped-def]
    world = await create_world(synapse, tmp_path, matrix_client)
    write_policy(
        world,
        "circle",
        POLICY.format(
            room_id=world.room_id,
            mod=world.mod.user_id,
            bot=world.bot_id,
            mods_room=world.mods_room,
        ),
    )
    await world.start_bot()
    await wait_until([world.mod], world.bot_joined, "the bot joined the covered room")
    return world


async def as_the_bot(world: BotWorld) -> AsyncClient:
    """A second client on the bot's own account and device (its saved session)."""
    session = json.loads((world.tmp / "matrix-store" / "session.json").read_text())
    client = AsyncClient(
        world.synapse.base_url,
        world.bot_id,
        config=AsyncClientConfig(encryption_enabled=False, max_timeouts=2),
    )
    client.restore_login(session["user_id"], session["device_id"], session["access_token"])
    return client


async def test_a_member_is_refused_every_moderator_command(
    synapse: LocalSynapse, tmp_path: Path, matrix_client  # type: ignore[no-untyped-def]
) -> None:
    world = await started(synapse, tmp_path, matrix_client)
    try:
        alice = await matrix_client("alice")
        notices = watch(alice)
        await sync_once(alice)
        assert isinstance(await alice.join(world.room_id), JoinResponse)
        await wait_until([alice], lambda: bool(notices.containing(REMINDER)), "alice reminded")
        assert len(MODERATOR_COMMANDS) >= 7
        for spec in MODERATOR_COMMANDS:
            sent = await say(alice, world.room_id, command_line(spec))
            assert isinstance(sent, RoomSendResponse), sent
        refusals = [f"Only moderators can use !{spec.name}." for spec in MODERATOR_COMMANDS]
        await wait_until(
            [alice],
            lambda: all(notices.containing(r) for r in refusals),
            "a refusal for every moderator command",
            deadline_s=60,
        )
        for refusal in refusals:
            [(room_id, _)] = notices.containing(refusal)
            assert room_id != world.room_id  # told privately, not in front of the room
        assert notices.containing("Policy circle") == []
        assert world.app is not None
        assert await world.app.store.audit_entries(100) == []
    finally:
        await world.stop_bot()


async def test_commands_from_the_bots_own_account_or_as_notices_are_ignored(
    synapse: LocalSynapse, tmp_path: Path, matrix_client  # type: ignore[no-untyped-def]
) -> None:
    world = await started(synapse, tmp_path, matrix_client)
    bot_self = await as_the_bot(world)
    try:
        assert world.app is not None
        for room_id in (world.room_id, world.mods_room):
            sent = await bot_self.room_send(
                room_id, "m.room.message", {"msgtype": "m.text", "body": "!policy reload"}
            )
            assert isinstance(sent, RoomSendResponse), sent
        # a listed moderator's command sent as a notice: the way bots talk, so not a command
        notice = {"msgtype": "m.notice", "body": "!policy reload"}
        sent = await world.mod.room_send(world.room_id, "m.room.message", notice)
        assert isinstance(sent, RoomSendResponse), sent
        # the control, after them: the moderator's own command is acted on and audited
        mod_notices = watch(world.mod)
        await say(world.mod, world.room_id, "!policy reload")
        await wait_until(
            [world.mod],
            lambda: bool(mod_notices.containing("Policies reloaded")),
            "the moderator's reload answer",
        )
        # one more, in a later sync batch: the batches before it were handled completely
        await say(world.mod, world.room_id, "!policy show")
        await wait_until(
            [world.mod], lambda: bool(mod_notices.containing("Policy circle")), "policy show"
        )
        entries = await world.app.store.audit_entries(100)
        assert [(e[2], e[3]) for e in entries] == [(world.mod.user_id, "policy reload")]
        assert len(mod_notices.containing("Policies reloaded")) == 1
    finally:
        await bot_self.close()
        await world.stop_bot()
