"""The order of a Matrix reminder's homeserver writes, without a homeserver.

The homeserver does a bot's writes one piece at a time, so what the bot sends beside a
reminder delays it and the member's own join of the chat (benchmarks/matrix_joins.py measures
it against a bare client). A stand-in client records every write in order: for a newcomer
given a spare private chat, the invite comes first and the message next (nio's send shares
the room key just before it; sent beside the invite, the key delayed the member seeing the
invite), the account's m.direct map is saved after the message, and the replacement spare is
made last. Which member a spare went to is in the session file from before the invite, so a
bot stopped before the m.direct save still knows the chat as theirs after a restart.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from nio import RoomCreateResponse, RoomPutStateResponse, RoomSendResponse
from nio.rooms import MatrixRoom

from adapters.matrix import spare_chats
from adapters.matrix.direct import PrivateChats
from adapters.matrix.outbound import MatrixOutbound
from adapters.matrix.spare_chats import SpareChats
from bot.actions import SendPrivate
from bot.events import Member

BOT = "@bot:x"
ANN = "@ann:x"
SPARE = "!spare:x"


def encrypted_room(room_id: str) -> MatrixRoom:
    room = MatrixRoom(room_id, BOT, encrypted=True)
    room.add_member(BOT, None, None)
    return room


class Client:
    """Just enough of nio's AsyncClient; every write is recorded as (what, room), and each
    gives way to other tasks as a request on the wire would."""

    olm = None
    access_token = "not-a-real-token"
    user_id = BOT

    def __init__(self) -> None:
        self.rooms = {SPARE: encrypted_room(SPARE)}
        self.writes: list[tuple[str, str]] = []
        self.made = 0
        self.direct: dict[str, list[str]] = {}  # m.direct as the homeserver has it

    async def _write(self, what: str, room_id: str = "") -> None:
        await asyncio.sleep(0.01)
        self.writes.append((what, room_id))

    async def room_put_state(self, room_id: str, event_type: str, *_: Any, **__: Any) -> Any:
        await self._write("invite" if event_type == "m.room.member" else event_type, room_id)
        return RoomPutStateResponse(f"$s{len(self.writes)}", room_id)

    async def room_send(self, room_id: str, *_: Any, **__: Any) -> Any:
        await self._write("message", room_id)
        return RoomSendResponse(f"$e{len(self.writes)}", room_id)

    async def share_group_session(self, room_id: str, *_: Any, **__: Any) -> None:
        await self._write("room key", room_id)

    async def room_create(self, *_: Any, **__: Any) -> Any:
        self.made += 1
        room_id = f"!made{self.made}:x"
        await self._write("create", room_id)
        self.rooms[room_id] = encrypted_room(room_id)
        return RoomCreateResponse(room_id)

    async def joined_members(self, room_id: str) -> Any:
        from nio import JoinedMembersResponse

        return JoinedMembersResponse([], room_id)

    async def list_direct_rooms(self) -> Any:
        from nio import DirectRoomsResponse

        return DirectRoomsResponse(dict(self.direct))

    async def send(self, method: str, path: str, body: str = "", *_: Any, **__: Any) -> Any:
        await self._write("m.direct" if "m.direct" in path else f"{method} {path}")
        if "m.direct" in path:
            self.direct = json.loads(body)

        class Answer:
            status = 200

        return Answer()


async def nothing(*_: Any) -> None:
    return None


def rig(
    client: Client, handed: list[list[str]] | None = None
) -> tuple[MatrixOutbound, PrivateChats, SpareChats]:
    chats = PrivateChats(client, BOT, True, nothing)  # type: ignore[arg-type]
    spares = SpareChats(
        client,  # type: ignore[arg-type]
        BOT,
        True,
        1,
        nothing,
        [SPARE],
        lambda: None,
        handed,
    )
    chats.spares = spares
    outbound = MatrixOutbound(
        client,  # type: ignore[arg-type]
        BOT,
        True,
        chats,
        nothing,
        nothing,
        lambda _pending: None,
    )
    return outbound, chats, spares


async def test_the_replacement_spare_is_made_after_the_reminder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spare_chats, "REFILL_DELAY_S", 0.05, raising=False)
    client = Client()
    outbound, chats, spares = rig(client)
    await outbound.perform(
        SendPrivate(Member("matrix", ANN), "the room's promise", idempotency_key="k")
    )
    chats.save_soon()  # as the adapter does after every action
    await chats.close()
    for _ in range(100):  # bounded: the refill runs in the background
        if spares.rooms:
            break
        await asyncio.sleep(0.01)
    await spares.stop()
    whats = [what for what, _ in client.writes]
    assert "create" in whats, client.writes
    assert whats.index("create") > whats.index("message"), client.writes


async def test_the_invite_goes_alone_and_the_message_follows_it() -> None:
    client = Client()
    outbound, _chats, spares = rig(client)
    await outbound.perform(
        SendPrivate(Member("matrix", ANN), "the room's promise", idempotency_key="k")
    )
    await spares.stop()
    assert [what for what, _ in client.writes] == ["invite", "message"], client.writes
    assert ANN in client.rooms[SPARE].invited_users  # so the send encrypts for the member


async def test_m_direct_is_saved_after_the_message_in_the_background() -> None:
    client = Client()
    outbound, chats, spares = rig(client)
    await outbound.perform(
        SendPrivate(Member("matrix", ANN), "the room's promise", idempotency_key="k")
    )
    assert chats.dirty  # not saved on the way: the gate and the next reminder go first
    chats.save_soon()
    await chats.close()
    await spares.stop()
    assert [what for what, _ in client.writes][:3] == ["invite", "message", "m.direct"]
    assert not chats.dirty


async def test_a_spare_given_away_is_the_members_after_a_restart_before_m_direct_was_saved() -> (
    None
):
    session: list[list[str]] = []  # the session file's record
    client = Client()
    outbound, _chats, spares = rig(client, session)
    await outbound.perform(
        SendPrivate(Member("matrix", ANN), "the room's promise", idempotency_key="k")
    )
    await spares.stop()
    assert session == [[ANN, SPARE]]  # killed here: m.direct never saved
    assert client.direct == {}
    again = PrivateChats(client, BOT, True, nothing)  # type: ignore[arg-type]
    await again.load(session)
    assert again.usable(ANN) == (SPARE, False)  # the resend goes where the first one went
    assert SPARE in again.opened  # and never in plaintext
    assert ("m.direct", "") in client.writes  # saved to the account at once
    again.spares = spares
    await again.save()
    assert session == []  # the account names it now: no other record needed
