"""Complete member counts (RoomMembers) against the last stored one: only the difference is
a join or a leave, and the first count is news to nobody."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.actions import SendPrivate
from bot.events import Member, MemberJoined, Room, RoomMembers
from tests.conftest import ConsoleRig

COVERED = Room("console", "recovery", "recovery")
UNCOVERED = Room("console", "lobby", "lobby")


def count(room: Room, *ids: str) -> RoomMembers:
    return RoomMembers(room, tuple(Member("console", i) for i in ids), at=_now())


def _now() -> datetime:
    return datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_the_first_count_reminds_nobody_and_the_next_only_newcomers(rig: ConsoleRig) -> None:
    core, store = rig.app.core, rig.app.store
    assert await core.handle(count(COVERED, "alice", "bob")) == []
    assert await store.room_presence("console", "recovery") == {"alice", "bob"}
    assert await core.handle(count(COVERED, "alice", "bob")) == []  # nothing changed

    actions = await core.handle(count(COVERED, "alice", "carol"))  # carol in, bob out
    [reminder] = actions  # the console cannot hold posting; Discord's test shows the hold
    assert isinstance(reminder, SendPrivate) and reminder.member.id == "carol"
    assert await store.room_presence("console", "recovery") == {"alice", "carol"}
    assert await core.handle(count(COVERED, "alice", "carol")) == []  # and only once


async def test_live_joins_and_leaves_keep_the_count_current(rig: ConsoleRig) -> None:
    core, store = rig.app.core, rig.app.store
    await core.handle(count(COVERED, "alice"))
    await core.handle(MemberJoined(COVERED, Member("console", "dave"), _now()))
    assert await store.room_presence("console", "recovery") == {"alice", "dave"}
    assert await core.handle(count(COVERED, "alice", "dave")) == []  # no second reminder
    await core.handle(count(COVERED, "alice"))  # dave left while nobody listened
    records = await store.member_records("console", "dave")
    assert records["memberships"][0]["left_at"] is not None
    assert records["room_presence"] == []


async def test_uncovered_rooms_and_bots_are_not_counted(rig: ConsoleRig) -> None:
    core, store = rig.app.core, rig.app.store
    assert await core.handle(count(UNCOVERED, "alice")) == []
    assert await store.room_presence("console", "lobby") is None
    bot = RoomMembers(COVERED, (Member("console", "helper", is_bot=True),), _now())
    await core.handle(bot)
    assert await store.room_presence("console", "recovery") == frozenset()


async def test_forgetme_removes_the_member_from_every_count(rig: ConsoleRig) -> None:
    core, store = rig.app.core, rig.app.store
    await core.handle(count(COVERED, "alice", "erin"))
    await store.erase_member("console", "erin")
    assert await store.room_presence("console", "recovery") == {"alice"}
