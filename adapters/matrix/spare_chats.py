"""Encrypted private chats made ahead of need, so a newcomer's reminder does not wait for one.

Creating an encrypted room is the slowest thing a reminder does on Synapse (a quarter of a
second, most of the join → reminder time, and more under load), and a sync must show the new
room before a message can be encrypted in it. A spare chat has already paid both: the bot
sits in it alone, nio knows it as encrypted and its member list as complete. Handing one to a
member is a single invite; the reminder's send then shares the room key and sends, in that
order, as the homeserver serves them fastest (its work is done one piece at a time: the key
sent beside the invite only delayed the member seeing the invite). The spares are remembered
in the session file, so a restart reuses them instead of leaving empty rooms behind; one that
is no longer usable is dropped. A burst that empties the spares falls back to creating chats
as before.

Which member a spare went to is written to the session file in the same write that takes it
off the spares, before the invite: the account's m.direct map is saved only after the
reminder (a homeserver write between invite and message slowed the reminder), so a bot killed
in between learns the chat from the session file at restart (see PrivateChats.load) and
resends the reminder there, where its transaction id keeps it to one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable

import aiohttp
from nio import (
    AsyncClient,
    JoinedMembersResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomPutStateResponse,
)
from nio.rooms import MatrixRoom

from adapters.matrix.direct import ENCRYPTION_STATE, WaitForRoom

log = logging.getLogger("confidant.matrix")

# A spare taken for a newcomer is replaced this long afterwards, not at once: creating a room
# is the heaviest write of the lot (about a third of a second of homeserver work), and started
# beside the invite it slowed the invite, the key share, the reminder and the member's own
# join of the chat, on a homeserver that does such work one piece at a time.
REFILL_DELAY_S = 1.0
# The pool grows with the joins of the last RATE_WINDOW_S: enough spares for AHEAD_S of them.
RATE_WINDOW_S = 60.0
AHEAD_S = 10.0


class SpareChats:
    def __init__(
        self,
        client: AsyncClient,
        user_id: str,
        encryption: bool,
        size: int,
        wait_for_room: WaitForRoom,
        remembered: list[str],
        save: Callable[[], None],
        handed: list[list[str]] | None = None,
        cap: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.encryption = encryption
        self.base = size
        self.cap = max(size, cap if cap is not None else size)
        self._clock = clock
        self._joins: deque[float] = deque()  # when recent joins arrived
        self.wait_for_room = wait_for_room
        self.rooms = remembered  # the session state's own list: saving it saves the spares
        self.save = save
        # The session state's own list of [member, room]: spares given away whose m.direct
        # entry is not saved on the homeserver yet.
        self.handed = handed if handed is not None else []
        self._filling: asyncio.Task[None] | None = None
        self._making: set[str] = set()  # created, not ready yet

    async def hand_over(self, member_id: str) -> str | None:
        """A spare chat with the member invited (marked direct, as room_create would mark
        it), or None when there is none to give. The invite goes into nio's view of the room
        at once, so the send that follows encrypts for the member without waiting for a
        sync to show it."""
        room_id = self.take(member_id)
        if room_id is None:
            return None
        room = self.client.rooms[room_id]
        room.add_member(member_id, None, None, invited=True)
        try:
            invited = await self.client.room_put_state(
                room_id,
                "m.room.member",
                {"membership": "invite", "is_direct": True},
                state_key=member_id,
            )
        except Exception:
            room.remove_member(member_id)
            raise
        if isinstance(invited, RoomPutStateResponse):
            return room_id
        room.remove_member(member_id)
        log.warning("matrix: inviting into a spare private chat failed; making a new one")
        return None

    def take(self, member_id: str | None = None) -> str | None:
        """A spare chat that is still only the bot's and known as encrypted, or None; given
        a member, the session file says whose it is from the same write on."""
        while self.rooms:
            room_id = self.rooms.pop(0)
            room = self.client.rooms.get(room_id)
            usable = room is not None and self._still_spare(room)
            if usable and member_id is not None:
                self.handed.append([member_id, room_id])
            self.save()
            if usable:
                self.refill_soon(REFILL_DELAY_S)
                return room_id
            log.info("matrix: spare private chat %s is no longer usable; dropped", room_id)
        self.refill_soon(REFILL_DELAY_S)
        return None

    @property
    def size(self) -> int:
        """How many spares to keep now: the configured number, more while joins come fast
        (the recent rate times AHEAD_S), never more than the cap."""
        now = self._clock()
        while self._joins and self._joins[0] < now - RATE_WINDOW_S:
            self._joins.popleft()
        if not self.base:
            return 0
        wanted = math.ceil(len(self._joins) / RATE_WINDOW_S * AHEAD_S)
        return max(self.base, min(self.cap, wanted))

    def joined(self, count: int) -> None:
        """``count`` members joined a room the bot is in: the pool may need to grow."""
        if count <= 0 or not self.base:
            return
        now = self._clock()
        self._joins.extend([now] * min(count, 10 * self.cap))
        if len(self.rooms) < self.size:
            self.refill_soon(REFILL_DELAY_S)

    def saved(self, by_member: dict[str, list[str]]) -> None:
        """The m.direct map as saved on the homeserver: spares given away that it names need
        no other record."""
        left = [p for p in self.handed if p[1] not in by_member.get(p[0], [])]
        if len(left) != len(self.handed):
            self.handed[:] = left
            self.save()

    def owns(self, room_id: str) -> bool:
        """A spare, or one being made: a room with nothing to enforce and nobody to remind."""
        return room_id in self.rooms or room_id in self._making

    def refill_soon(self, delay_s: float = 0.0) -> None:
        """Top the spares up in the background: one filler at a time, never on the send path,
        starting after ``delay_s`` (the reminder that took a spare goes out first)."""
        if self.size and (self._filling is None or self._filling.done()):
            self._filling = asyncio.create_task(self._fill(delay_s), name="matrix-spare-chats")

    async def stop(self) -> None:
        if self._filling is not None:
            self._filling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._filling

    async def _fill(self, delay_s: float = 0.0) -> None:
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            while len(self.rooms) < self.size:
                room_id = await self._create()
                if room_id is None:
                    return  # the next take() tries again; a reminder never waits for this
                self.rooms.append(room_id)
                self.save()
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientConnectionError, TimeoutError) as error:  # an outage: try later
            log.warning("matrix: no spare private chat made now (%s)", type(error).__name__)
        except Exception:
            log.exception("matrix: making a spare private chat failed")

    async def _create(self) -> str | None:
        created = await self.client.room_create(
            preset=RoomPreset.private_chat,
            initial_state=[ENCRYPTION_STATE] if self.encryption else [],
        )
        if not isinstance(created, RoomCreateResponse):
            log.warning("matrix: could not make a spare private chat (%s)", created.status_code)
            return None
        self._making.add(created.room_id)
        try:
            await self.wait_for_room(created.room_id, None)
            # Marks the member list complete, so the first send does not fetch it.
            members = await self.client.joined_members(created.room_id)
        finally:
            self._making.discard(created.room_id)
        if not isinstance(members, JoinedMembersResponse):
            return None
        log.debug("matrix: spare private chat %s ready", created.room_id)
        return created.room_id

    def _still_spare(self, room: MatrixRoom) -> bool:
        encrypted_as_made = room.encrypted or not self.encryption
        return encrypted_as_made and set(room.users) == {self.user_id}
