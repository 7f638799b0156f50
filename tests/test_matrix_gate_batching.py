"""A join burst's gates on Matrix: changes of who may post in one room, asked while the
room's previous power-levels write is under way, go out together in the next write (each
is a read-modify-write of one state event), and each action still ends only once its own
change is written or refused. No homeserver: a stand-in client records the writes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nio import RoomGetStateEventResponse, RoomPutStateResponse

from adapters.matrix.outbound import MatrixOutbound
from bot.actions import ActionNotSupported, SetPostingAllowed
from bot.events import Member, Room

BOT = "@bot:x"
ROOM = "!circle:x"


class Client:
    olm = None
    user_id = BOT

    def __init__(self) -> None:
        self.levels: dict[str, Any] = {
            "users": {BOT: 50, "@mod:x": 100},
            "events": {"m.room.power_levels": 50},
            "events_default": 0,
            "users_default": 0,
        }
        self.writes: list[dict[str, int]] = []
        self.rooms: dict[str, Any] = {}

    async def room_get_state_event(self, room_id: str, event_type: str) -> Any:
        await asyncio.sleep(0.01)
        return RoomGetStateEventResponse(dict(self.levels), event_type, "", room_id)

    async def room_put_state(self, room_id: str, event_type: str, content: Any) -> Any:
        await asyncio.sleep(0.05)
        self.levels = content
        self.writes.append(dict(content["users"]))
        return RoomPutStateResponse("$levels", room_id)


def gate(name: str) -> SetPostingAllowed:
    return SetPostingAllowed(Room("matrix", ROOM), Member("matrix", name), False)


async def nothing(*_: Any) -> None:
    return None


async def test_gates_asked_together_are_written_together() -> None:
    client = Client()
    outbound = MatrixOutbound(client, BOT, True, None, nothing, nothing, lambda _p: None)  # type: ignore[arg-type]
    newcomers = [f"@n{i}:x" for i in range(12)]
    await asyncio.wait_for(
        asyncio.gather(*(outbound.perform(gate(name)) for name in newcomers)), timeout=10
    )
    assert len(client.writes) <= 2, client.writes  # not one per newcomer
    assert all(client.levels["users"][name] == -1 for name in newcomers)


async def test_a_change_that_cannot_be_made_fails_alone() -> None:
    client = Client()
    outbound = MatrixOutbound(client, BOT, True, None, nothing, nothing, lambda _p: None)  # type: ignore[arg-type]
    results = await asyncio.wait_for(
        asyncio.gather(
            outbound.perform(gate("@a:x")),
            outbound.perform(gate("@mod:x")),  # above the bot: refused
            outbound.perform(gate("@b:x")),
            return_exceptions=True,
        ),
        timeout=10,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ActionNotSupported)
    assert client.levels["users"]["@a:x"] == -1 and client.levels["users"]["@b:x"] == -1
    assert client.levels["users"]["@mod:x"] == 100
    with pytest.raises(ActionNotSupported):
        await outbound.perform(gate("@mod:x"))
