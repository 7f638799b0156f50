"""Join bursts, in the core and the runtime, through the console adapter: past the policy's
private-queue threshold a newcomer is named in a room reminder (one per room every few
seconds), their private reminder follows in the background (or not at all when the policy
says the room reminder is enough), and the gate holds them back as for any newcomer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.events import Member, MemberJoined, PrivateMessageUnread, Room
from bot.identifiers import reminder_key
from tests.conftest import POLICY, ConsoleRig, policy_rig

ROOM = Room("console", "recovery", "recovery")
AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ENOUGH = POLICY + (
    "  burst:\n    queue_over: 5\n    room_every_seconds: 5\n    room_is_enough: true\n"
)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[ConsoleRig]:
    async with policy_rig(tmp_path, POLICY) as started:
        yield started


async def join(rig: ConsoleRig, name: str, backlog: int) -> str:
    """A join as an adapter reports it, with its private queue's depth; what the bot said,
    background private sends included."""
    start = len(rig.out.getvalue())
    event = MemberJoined(ROOM, Member("console", name), rig.clock.now(), private_backlog=backlog)
    await rig.app.runtime.on_event(event)
    await settle(rig)
    return rig.out.getvalue()[start:]


async def settle(rig: ConsoleRig) -> None:
    background = list(rig.app.runtime._background)
    if background:
        await asyncio.wait_for(asyncio.gather(*background), timeout=10)


async def test_below_the_threshold_a_newcomer_is_reminded_privately_only(rig: ConsoleRig) -> None:
    said = await join(rig, "alice", backlog=10)  # the default threshold: more than 10
    assert "[private → alice]" in said
    assert "[#recovery]" not in said


async def test_in_a_burst_the_room_names_newcomers_once_every_few_seconds(
    rig: ConsoleRig,
) -> None:
    first = await join(rig, "alice", backlog=11)
    assert "[#recovery]" in first and "Welcome, alice." in first
    assert "What is shared here stays here." in first
    assert "A private copy is on its way" in first
    assert "[private → alice]" in first  # still sent, beside the next joins
    second = await join(rig, "bob", backlog=12)
    third = await join(rig, "carol", backlog=13)
    assert "[#recovery]" not in second + third  # the room was reminded less than 5 s ago
    assert "[private → bob]" in second and "[private → carol]" in third
    await rig.app.runtime.burst_reminders()
    assert "[#recovery]" not in await rig.say()
    await rig.clock.advance(5)
    start = len(rig.out.getvalue())
    await rig.app.runtime.burst_reminders()
    named = rig.out.getvalue()[start:]
    assert "Welcome, bob, carol." in named, named
    await rig.app.runtime.burst_reminders()  # named once
    assert rig.out.getvalue()[start:] == named
    assert not rig.app.core.burst_waits.waiting()


async def test_the_gate_holds_a_burst_newcomer_back_until_they_agree(rig: ConsoleRig) -> None:
    await join(rig, "alice", backlog=50)
    held = await rig.say("alice: hello")
    assert "(alice's message was hidden from the room)" in held
    await rig.say("alice: /agree")
    assert await rig.say("alice: hello") == ""


async def test_where_the_room_reminder_is_enough_no_private_one_follows(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, ENOUGH) as rig:
        said = await join(rig, "alice", backlog=6)
        assert "Welcome, alice." in said
        assert "A private copy" not in said
        assert "[private → alice]" not in said
        store = rig.app.store
        assert await store.pending_reminders() == []  # the room reminder was hers
        quiet = await join(rig, "bob", backlog=1)  # the burst is over
        assert "[private → bob]" in quiet


async def test_a_platform_rate_limiting_the_bot_is_a_burst_too(rig: ConsoleRig) -> None:
    start = len(rig.out.getvalue())
    event = MemberJoined(ROOM, Member("console", "alice"), rig.clock.now(), rate_limited=True)
    await rig.app.runtime.on_event(event)
    await settle(rig)
    assert "Welcome, alice." in rig.out.getvalue()[start:]


async def test_a_burst_newcomer_who_leaves_the_private_chat_unread_is_not_named_again(
    rig: ConsoleRig,
) -> None:
    await join(rig, "alice", backlog=50)
    policy = rig.app.core.policies.current.by_name("circle")
    assert policy is not None
    key = reminder_key("console", "recovery", "alice", "circle", policy.reminder_version)
    assert await rig.app.store.reminder_by_key(key) is not None
    start = len(rig.out.getvalue())
    unread = PrivateMessageUnread(Member("console", "alice"), key, rig.clock.now())
    await rig.app.runtime.on_event(unread)
    assert "[#recovery]" not in rig.out.getvalue()[start:]
    # one who was not part of a burst gets the room fallback, as before
    await join(rig, "bob", backlog=0)
    key = reminder_key("console", "recovery", "bob", "circle", policy.reminder_version)
    await rig.app.runtime.on_event(PrivateMessageUnread(Member("console", "bob"), key, AT))
    assert "[#recovery]" in rig.out.getvalue()[start:]
