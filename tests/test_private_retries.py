"""Private reminders a platform will not take just now: a bounded number of attempts with
growing pauses, then the policy's fallback once; nothing at all for a member who left.
Through the console adapter (its private messages made to fail), the core, the runtime and
a real SQLite store; the Discord errors behind these are tested against the fake."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.actions import (
    Action,
    MemberUnreachable,
    PrivateMessageNotNow,
    PrivateMessageRefused,
    SendPrivate,
)
from bot.reminding import PRIVATE_ATTEMPTS, RETRY_PAUSES
from tests.conftest import POLICY, ConsoleRig, make_config, start_rig, write_policy

MENTION = "[#recovery] confidant → @alice:"


async def started(tmp_path: Path) -> ConsoleRig:
    write_policy(tmp_path / "policies", POLICY)
    return await start_rig(make_config(tmp_path))


def failing_private(rig: ConsoleRig, error: Callable[[], Exception]) -> list[SendPrivate]:
    """Make every private message to alice fail with ``error()``; returns the attempts."""
    attempts: list[SendPrivate] = []
    perform = rig.console.perform

    async def failing(action: Action) -> None:
        if isinstance(action, SendPrivate) and action.member.id == "alice":
            attempts.append(action)
            raise error()
        await perform(action)

    rig.console.perform = failing  # type: ignore[method-assign]
    return attempts


async def tick_after(rig: ConsoleRig, delta: timedelta) -> str:
    start = len(rig.out.getvalue())
    await rig.clock.advance(delta)
    await rig.app.runtime.tick()
    return rig.out.getvalue()[start:]


async def test_not_now_is_tried_three_times_with_pauses_then_the_fallback_once(
    tmp_path: Path,
) -> None:
    rig = await started(tmp_path)
    try:
        attempts = failing_private(rig, lambda: PrivateMessageNotNow("403 40003"))
        assert MENTION not in await rig.say(":join alice")
        assert len(attempts) == 1
        # periodic resends wait out each pause
        pause = RETRY_PAUSES[0]
        assert await tick_after(rig, pause - timedelta(seconds=1)) == ""
        assert len(attempts) == 1
        await tick_after(rig, timedelta(seconds=2))
        assert len(attempts) == 2
        assert await tick_after(rig, RETRY_PAUSES[1] - timedelta(seconds=1)) == ""
        assert len(attempts) == 2
        shown = await tick_after(rig, timedelta(seconds=2))
        assert len(attempts) == PRIVATE_ATTEMPTS == 3
        assert shown.count(MENTION) == 1  # the fallback, once
        assert await rig.app.store.pending_reminders() == []
        for _ in range(3):
            assert MENTION not in await tick_after(rig, timedelta(hours=1))
        assert len(attempts) == 3
    finally:
        await rig.app.close()


async def test_any_failure_of_a_private_reminder_is_bounded_too(tmp_path: Path) -> None:
    rig = await started(tmp_path)
    try:
        attempts = failing_private(rig, lambda: RuntimeError("platform down"))
        await rig.say(":join alice")
        shown = ""
        for _ in range(6):
            shown += await tick_after(rig, timedelta(hours=1))
        assert len(attempts) == PRIVATE_ATTEMPTS
        assert shown.count(MENTION) == 1
    finally:
        await rig.app.close()


async def test_a_member_the_platform_says_is_gone_gets_nothing_and_is_not_owed(
    tmp_path: Path,
) -> None:
    rig = await started(tmp_path)
    try:
        attempts = failing_private(rig, lambda: MemberUnreachable("alice"))
        assert MENTION not in await rig.say(":join alice")
        assert await rig.app.store.pending_reminders() == []
        for _ in range(3):
            assert MENTION not in await tick_after(rig, timedelta(hours=1))
        assert len(attempts) == 1
    finally:
        await rig.app.close()


async def test_a_refused_dm_names_nobody_in_a_room_they_left(tmp_path: Path) -> None:
    """Not reachable at first; by the next attempt alice has left and her DMs are closed:
    no mention in a room she is not in, and the reminder is not owed any more."""
    rig = await started(tmp_path)
    try:
        errors: list[Exception] = [PrivateMessageNotNow("403 40003")]
        failing_private(rig, lambda: errors[-1])
        await rig.say(":join alice")
        await rig.say(":leave alice")
        errors.append(PrivateMessageRefused("alice"))
        shown = await tick_after(rig, timedelta(hours=1))
        assert MENTION not in shown
        assert await rig.app.store.pending_reminders() == []
        assert not await rig.app.store.was_reminded("console", "recovery", "alice", "circle", None)
    finally:
        await rig.app.close()
