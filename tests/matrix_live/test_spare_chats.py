"""Private chats made ahead of need, on a real Synapse: a newcomer's reminder goes into an
encrypted chat the bot made before they joined, the spares outlive a restart, and with none
configured a chat is still created on demand."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from nio import AsyncClient, DirectRoomsResponse

from adapters.matrix.client import MatrixAdapter
from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.rig import REMINDER, BotWorld, create_world, wait_until, watch
from tests.matrix_live.test_bot import join_member, read_dm

SPARES = 2


@pytest.fixture
async def world(synapse: LocalSynapse, tmp_path: Path, matrix_client) -> AsyncIterator[BotWorld]:  # type: ignore[no-untyped-def]
    built = await create_world(synapse, tmp_path, matrix_client, encrypted=True)
    try:
        yield built
    finally:
        await built.stop_bot()


async def start(world: BotWorld) -> MatrixAdapter:
    await world.start_bot()
    await wait_until([world.mod], world.bot_joined, "the bot joined the covered room")
    assert world.adapter is not None
    return world.adapter


async def bounded(predicate: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {deadline_s} s"
        await asyncio.sleep(0.1)


async def spares_ready(adapter: MatrixAdapter) -> list[str]:
    await bounded(lambda: len(adapter.state.spare_chats) == SPARES, f"{SPARES} spare chats")
    return list(adapter.state.spare_chats)


async def reminded_in(world: BotWorld, member: AsyncClient) -> str:
    notices = await join_member(world, member)
    await read_dm(world, member, notices, REMINDER)
    assert notices.undecryptable == []
    assert [d for _, d in notices.invites] == [True]  # one invite, marked as a direct chat
    (room_id,) = {room for room, _ in notices.containing(REMINDER)}
    return room_id


async def test_a_newcomer_is_reminded_in_a_chat_made_before_they_joined(
    world: BotWorld, matrix_client
) -> None:  # type: ignore[no-untyped-def]
    adapter = await start(world)
    spares = await spares_ready(adapter)
    alice = await matrix_client("alice")
    room_id = await reminded_in(world, alice)
    assert room_id in spares
    assert alice.rooms[room_id].encrypted
    # the spare is used up and replaced; m.direct on the server names the chat as alice's
    refilled = await spares_ready(adapter)
    assert room_id not in refilled
    await bounded(lambda: room_id in adapter.chats.by_member.get(alice.user_id, []), "m.direct")
    direct = await adapter.client.list_direct_rooms()  # type: ignore[union-attr]
    assert isinstance(direct, DirectRoomsResponse)
    assert room_id in direct.rooms.get(alice.user_id, [])
    # a later message to alice reuses her chat, and the spares are left alone
    await adapter.chats.open(alice.user_id)
    assert adapter.state.spare_chats == refilled


async def test_spares_outlive_a_restart_and_are_used_after_it(
    world: BotWorld, matrix_client
) -> None:  # type: ignore[no-untyped-def]
    adapter = await start(world)
    spares = await spares_ready(adapter)
    await world.stop_bot()
    adapter = await start(world)
    assert adapter.state.spare_chats == spares  # remembered, not made again
    sam = await matrix_client("sam")
    assert await reminded_in(world, sam) in spares


async def test_with_no_spares_a_chat_is_created_for_the_newcomer(
    world: BotWorld, matrix_client
) -> None:  # type: ignore[no-untyped-def]
    world.config_path.write_text(world.config_path.read_text() + "    spare_private_chats: 0\n")
    adapter = await start(world)
    kim = await matrix_client("kim")
    watch(kim)
    room_id = await reminded_in(world, kim)
    assert adapter.state.spare_chats == []
    assert kim.rooms[room_id].encrypted
