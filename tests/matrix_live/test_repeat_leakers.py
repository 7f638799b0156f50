"""Repeat leakers on a real Synapse: a confirmed repeat leaker's timeout is a power level
below posting in the circle, given back by the periodic tick when it ends; a removal is a
kick. Each is audited as the bot's own action, with the policy and the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from nio import AsyncClient, RoomGetStateEventResponse

from adapters.matrix.homeserver import LocalSynapse
from bot.clock import FakeClock
from tests.matrix_live.rig import (
    add_room,
    create_world,
    poll_until,
    say,
    wait_until,
    watch,
    write_policy,
)
from tests.matrix_live.test_leaks import CIRCLE, LOBBY, QUOTE, SHARED, WORDS, join, text

TIMEOUT = "leaks:\n  repeat:\n    count: 1\n    action: timeout\n    automatic: true\n"
REMOVE = "leaks:\n  repeat:\n    count: 1\n    action: remove\n    automatic: true\n"


async def bob_level(mod: AsyncClient, room_id: str, bob: str) -> int:
    got = await mod.room_get_state_event(room_id, "m.room.power_levels")
    assert isinstance(got, RoomGetStateEventResponse), got
    users = got.content.get("users") or {}
    return int(users.get(bob, got.content.get("users_default", 0)))


async def confirmed_leak(synapse, tmp: Path, matrix_client, repeat: str, clock: FakeClock):  # type: ignore[no-untyped-def]
    """The circle, the moderators' room and a lobby; alice shares, bob quotes it in the lobby,
    and the moderator resolves the flag: the policy's action follows at once (automatic)."""
    world = await create_world(synapse, tmp, matrix_client, policy=CIRCLE + repeat)
    lobby = await add_room(world, "Lobby")
    write_policy(world, "lobby", LOBBY.format(lobby=lobby))
    await world.start_bot(clock=clock)
    await wait_until(
        [world.mod], lambda: world.bot_joined() and world.bot_joined(lobby), "the bot joined"
    )
    alice, bob = await matrix_client("alice"), await matrix_client("bob")
    await join(alice, world.room_id)
    await join(bob, world.room_id, lobby)
    notices = watch(world.mod)
    await text(alice, world.room_id, SHARED)
    assert world.app is not None
    app = world.app

    async def indexed() -> bool:
        return bool(await app.store.fingerprints())

    await poll_until(indexed, "the share indexed")
    await text(bob, lobby, QUOTE)

    async def flagged() -> bool:
        return bool(await app.store.open_flags())

    await poll_until(flagged, "the quote flagged")
    [flag] = await app.store.open_flags()
    await say(world.mod, world.mods_room, f"!flag resolve {flag.id}")
    await wait_until(
        [world.mod], lambda: bool(notices.containing("(automatic)")), "the resolve answered"
    )
    return world, bob, notices


async def test_a_timeout_lowers_the_power_level_and_the_tick_gives_it_back(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    clock = FakeClock(datetime.now(UTC))
    world, bob, notices = await confirmed_leak(synapse, tmp_path, matrix_client, TIMEOUT, clock)
    try:
        assert world.app is not None
        app, mod = world.app, world.mod

        async def level_is(wanted: int) -> bool:
            return await bob_level(mod, world.room_id, bob.user_id) == wanted

        await poll_until(lambda: level_is(-1), "bob below posting in the circle")
        await clock.advance(timedelta(minutes=61))
        await app.runtime.tick()
        await poll_until(lambda: level_is(0), "bob may post again")

        async def ended_audited() -> bool:
            # The audit row is written once the adapter reports the power level sent
            # (bot/bot_audit.py), which is a moment after Synapse already shows it.
            entries = await app.store.audit_entries(50, policies=["circle"])
            return "bot timeout ended" in [e.action for e in entries]

        await poll_until(ended_audited, "the timeout's end audited")
        entries = await app.store.audit_entries(50, policies=["circle"])
        actions = [e.action for e in entries]
        assert "bot timeout" in actions and "bot timeout ended" in actions
        text_seen = str(entries) + str(notices.seen)
        assert all(word not in text_seen for word in WORDS)
    finally:
        await world.stop_bot()


async def test_a_removal_kicks_the_member_from_the_circle(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    clock = FakeClock(datetime.now(UTC))
    world, bob, _ = await confirmed_leak(synapse, tmp_path, matrix_client, REMOVE, clock)
    try:
        assert world.app is not None
        app, mod = world.app, world.mod

        async def kicked() -> bool:
            got = await mod.room_get_state_event(world.room_id, "m.room.member", bob.user_id)
            return (
                isinstance(got, RoomGetStateEventResponse)
                and got.content.get("membership") == "leave"
            )

        await poll_until(kicked, "bob kicked from the circle")

        async def removal_audited() -> bool:
            # Written once the adapter reports the kick done, a moment after Synapse shows it.
            entries = await app.store.audit_entries(50, policies=["circle"])
            return "bot removal" in [e.action for e in entries]

        await poll_until(removal_audited, "the removal audited")
    finally:
        await world.stop_bot()
