"""Matrix: a moderator is answered where they asked, and told where a private answer is."""

from __future__ import annotations

from pathlib import Path

from nio import AsyncClient, JoinResponse, MatrixRoom, RoomMessageNotice

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import POLICY, REMINDER, create_world, say, wait_until, watch

POINTER = "my answer is in our private chat"


def collect(client: AsyncClient) -> list[tuple[str, str]]:
    """Notices for a client that does not open the bot's invites (unlike rig.watch)."""
    seen: list[tuple[str, str]] = []

    async def on_notice(room: MatrixRoom, event: RoomMessageNotice) -> None:
        seen.append((room.room_id, event.body))

    client.add_event_callback(on_notice, RoomMessageNotice)  # type: ignore[arg-type]
    return seen


async def test_moderators_are_answered_in_their_room_or_pointed_to_the_private_chat(
    synapse: LocalSynapse, tmp_path: Path, matrix_client
) -> None:  # type: ignore[no-untyped-def]
    second = await matrix_client("mod2")
    policy = POLICY.replace(
        'moderators:\n  - platform: matrix\n    user: "{mod}"\n',
        'moderators:\n  - platform: matrix\n    user: "{mod}"\n'
        f'  - platform: matrix\n    user: "{second.user_id}"\n',
    )
    world = await create_world(synapse, tmp_path, matrix_client, policy=policy)
    try:
        await world.start_bot()
        mod_notices = watch(world.mod)
        await wait_until([world.mod], world.bot_joined, "the bot joined the covered room")
        await wait_until(
            [world.mod], lambda: world.bot_joined(world.mods_room), "the bot joined the mods room"
        )
        # in the moderators' room: answered there, for the moderators who read it
        await say(world.mod, world.mods_room, "!agreements")  # their one policy
        await wait_until(
            [world.mod],
            lambda: any(
                rid == world.mods_room and body.startswith("Agreements to the reminder of circle")
                for rid, body in mod_notices.seen
            ),
            "the answer in the moderators' room",
        )
        [answer] = [
            body
            for rid, body in mod_notices.seen
            if rid == world.mods_room and body.startswith("Agreements to the reminder of circle")
        ]
        # the room's creator was there before the bot: listed, by display name and Matrix ID
        assert f"({world.mod.user_id})" in answer and "not agreed" in answer
        assert "<member:" not in answer
        # elsewhere: privately; with the private chat still an invite, a pointer in the room
        seen = collect(second)
        await sync_once(second)
        joined = await second.join(world.room_id)
        assert isinstance(joined, JoinResponse), joined
        await wait_until([second], lambda: bool(second.invited_rooms), "the reminder's invite")
        await say(second, world.room_id, "!agreements")
        await wait_until(
            [second],
            lambda: any(rid == world.room_id and POINTER in body for rid, body in seen),
            "the pointer in the room",
        )
        in_room = [body for rid, body in seen if rid == world.room_id]
        assert not any("Agreements to the reminder" in body for body in in_room)
    finally:
        await world.stop_bot()


async def test_a_member_who_never_agreed_is_reminded_again_on_coming_back(
    synapse: LocalSynapse, tmp_path: Path, matrix_client
) -> None:  # type: ignore[no-untyped-def]
    world = await create_world(synapse, tmp_path, matrix_client)
    try:
        await world.start_bot()
        await wait_until([world.mod], world.bot_joined, "the bot joined the covered room")
        dora = await matrix_client("dora")
        notices = watch(dora)
        await sync_once(dora)
        assert isinstance(await dora.join(world.room_id), JoinResponse)
        await wait_until([dora], lambda: bool(notices.containing(REMINDER)), "first reminder")
        await dora.room_leave(world.room_id)
        assert isinstance(await dora.join(world.room_id), JoinResponse)
        await wait_until(
            [dora], lambda: len(notices.containing(REMINDER)) == 2, "reminded again on return"
        )
    finally:
        await world.stop_bot()
