"""A join burst on a real Synapse: newcomers who joined together (here, while the bot was
away, so its first sync hands the core all of them at once) are named and notified in one
room reminder (m.mentions), and each still gets exactly one private reminder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nio import MatrixRoom, RoomMessageNotice

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.rig import POLICY, REMINDER, Notices, create_world, wait_until
from tests.matrix_live.test_bot import join_member

BURSTY = POLICY + "  burst:\n    queue_over: 1\n    room_every_seconds: 1\n"


async def test_newcomers_joining_together_are_named_in_the_room_and_reminded_privately_once(
    synapse: LocalSynapse, tmp_path: Path, matrix_client: Any
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client, policy=BURSTY)
    try:
        await world.start_bot()
        await wait_until([world.mod], world.bot_joined, "the bot joined the covered room")
        await world.stop_bot()
        members = [await matrix_client(f"burst{i}") for i in range(4)]
        notices = [await join_member(world, member) for member in members]
        named: list[str] = []  # m.mentions of the bot's posts in the room, as a member saw them

        async def on_notice(room: MatrixRoom, event: RoomMessageNotice) -> None:
            if room.room_id == world.room_id and event.sender == world.bot_id:
                content = event.source.get("content") or {}
                named.extend((content.get("m.mentions") or {}).get("user_ids") or [])

        members[0].add_event_callback(on_notice, RoomMessageNotice)  # type: ignore[arg-type]
        await world.start_bot()
        ids = {member.user_id for member in members}
        await wait_until(members[:1], lambda: ids <= set(named), "every newcomer named", 30)
        assert all(named.count(user) == 1 for user in ids), named  # each named once
        room_posts = notices[0].in_room(world.room_id)
        assert any(REMINDER in body and "Welcome," in body for body in room_posts)

        def private_of(seen: Notices) -> list[str]:
            return [rid for rid, _ in seen.containing(REMINDER) if rid != world.room_id]

        await wait_until(  # watched clients open the bot's private chats as they come
            members, lambda: all(private_of(seen) for seen in notices), "the private reminders"
        )
        for seen in notices:
            private = private_of(seen)
            assert len(private) == 1, seen.seen
            assert [d for _, d in seen.invites] == [True]
            assert seen.undecryptable == []
    finally:
        await world.stop_bot()
