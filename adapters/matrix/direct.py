"""The bot's private chats with members: finding, opening and remembering them.

Matrix has no built-in "direct message": a private chat is a room marked in the bot's
``m.direct`` account data. The bot keeps that map current so a restart (or another
client on the account) finds the same chat, and opens at most one chat per member.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
from nio import AsyncClient, RoomCreateResponse, RoomPreset
from nio.api import Api

from bot.actions import PrivateMessageRefused

log = logging.getLogger("confidant.matrix")

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}

WaitForRoom = Callable[[str, str | None], Awaitable[None]]

if TYPE_CHECKING:
    from adapters.matrix.spare_chats import SpareChats


class PrivateChats:
    def __init__(
        self, client: AsyncClient, user_id: str, encryption: bool, wait_for_room: WaitForRoom
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.encryption = encryption
        self.wait_for_room = wait_for_room
        self.by_member: dict[str, list[str]] = {}  # the m.direct map
        self.opened: set[str] = set()  # created encrypted by us: never send plaintext there
        # Chats added here that no m.direct from the server has shown yet (see replace).
        self._unconfirmed: set[tuple[str, str]] = set()
        self.dirty = False
        self._failed = False
        self._locks: dict[str, asyncio.Lock] = {}
        self._save_lock = asyncio.Lock()
        self._saving: asyncio.Task[None] | None = None
        self.spares: SpareChats | None = None  # set by the adapter once it can make them

    def is_private(self, room_id: str) -> bool:
        return any(room_id in rooms for rooms in self.by_member.values())

    def members_of(self, room_id: str) -> set[str]:
        return {user for user, rooms in self.by_member.items() if room_id in rooms}

    def remember(self, member_id: str, room_id: str) -> None:
        rooms = self.by_member.setdefault(member_id, [])
        if room_id not in rooms:
            rooms.append(room_id)
            self.dirty = True
            self._unconfirmed.add((member_id, room_id))

    def forget(self, member_id: str, room_id: str) -> None:
        self.by_member[member_id] = [r for r in self.by_member.get(member_id, []) if r != room_id]
        self._unconfirmed.discard((member_id, room_id))
        self.dirty = True

    def replace(self, content: dict[str, list[str]]) -> None:
        """Another client of the account changed m.direct: theirs is the truth, except for
        chats added here that it has not shown yet. Our own saves come back in later syncs,
        each as it was when saved: taken whole, the echo of an earlier save would forget a
        chat opened since, the next save would drop it from the account, and the member
        would get a second chat (and a second reminder) after a restart."""
        by_member = {user: list(rooms) for user, rooms in content.items()}
        for member_id, room_id in list(self._unconfirmed):
            if room_id in by_member.get(member_id, []):
                self._unconfirmed.discard((member_id, room_id))
            else:
                by_member.setdefault(member_id, []).append(room_id)
        self.by_member = by_member

    async def load(self, handed: list[list[str]] | None = None) -> None:
        """The account's m.direct map, plus the spare chats the session file says were given
        to a member (``handed``, [member, room]) that it may not name yet: a bot stopped
        after the invite or the reminder but before saving the map must know the chat as
        the member's, or it would give them another and remind them twice. Those are saved
        to the account at once."""
        response = await self.client.list_direct_rooms()
        rooms = getattr(response, "rooms", None)
        if isinstance(rooms, dict):
            self.replace(rooms)
        self.dirty = False
        for member_id, room_id in handed or []:
            self.remember(member_id, room_id)
            self.opened.add(room_id)  # made encrypted by us: never plaintext there
        if self.dirty:
            await self.save()

    async def save_if_dirty(self) -> None:
        if self.dirty:
            await self.save()

    def save_soon(self) -> None:
        """Save the map in the background: after a reminder, the member's gate and the
        next member's reminder go first (the session file already says whose a spare is)."""
        if self.dirty and (self._saving is None or self._saving.done()):
            self._saving = asyncio.create_task(self._save_while_dirty(), name="matrix-m-direct")

    async def _save_while_dirty(self) -> None:
        for _ in range(3):  # chats opened during a save; a failure waits for the next action
            try:
                await self.save()
            except (aiohttp.ClientConnectionError, TimeoutError) as error:
                log.warning("matrix: saving m.direct cut off (%s)", type(error).__name__)
                return
            except Exception:
                log.exception("matrix: saving m.direct failed")
                return
            if not self.dirty or self._failed:
                return

    async def close(self) -> None:
        """Lets a save under way finish (bounded by the client's request timeout)."""
        if self._saving is not None:
            with contextlib.suppress(Exception):
                await self._saving

    async def save(self) -> None:
        path = Api._build_path(["user", self.user_id, "account_data", "m.direct"])
        async with self._save_lock:  # one PUT at a time, each with the newest map
            self.dirty = False
            saved = {user: list(rooms) for user, rooms in self.by_member.items()}
            response = await self.client.send(
                "PUT",
                path,
                json.dumps(saved),
                headers={
                    "Authorization": f"Bearer {self.client.access_token}",
                    "Content-Type": "application/json",
                },
            )
            self._failed = response.status >= 300
            if self._failed:
                self.dirty = True
                log.warning("matrix: saving m.direct failed with HTTP %s", response.status)
            elif self.spares is not None:
                self.spares.saved(saved)

    def usable(self, member_id: str) -> tuple[str, bool] | None:
        """An existing encrypted private chat with the member: (room id, member has joined).

        Only an encrypted one: a chat the member opened without encryption (Matrix clients
        let them) would hand reminders, check-ins and data exports to the homeserver in
        the clear, so it is never used for anything private (see ``unencrypted``)."""
        for room_id in reversed(self.by_member.get(member_id, [])):
            room = self.client.rooms.get(room_id)
            if room is None or self.user_id not in room.users or not room.encrypted:
                continue
            if member_id in room.invited_users:
                return room_id, False
            if member_id in room.users:
                return room_id, True
        return None

    def unencrypted(self, member_id: str) -> list[str]:
        """The member's private chats with the bot that are not encrypted, both joined."""
        found = []
        for room_id in self.by_member.get(member_id, []):
            room = self.client.rooms.get(room_id)
            if (
                room is not None
                and not room.encrypted
                and self.user_id in room.users
                and member_id in room.users
                and member_id not in room.invited_users
            ):
                found.append(room_id)
        return found

    def is_bots_private(self, room_id: str) -> bool:
        """A room that is, or is about to be, a private chat of the bot with one member:
        in m.direct, created as one, or made ahead. Nothing may go there unencrypted."""
        spares = self.spares
        return (
            self.is_private(room_id)
            or room_id in self.opened
            or (spares is not None and spares.owns(room_id))
        )

    async def open(self, member_id: str) -> tuple[str, bool]:
        """The encrypted private chat with a member, created (and invited to) if there is
        none. One creation at a time per member, or two quick messages would open two chats."""
        if not self.encryption:
            # encrypted or not at all: without end-to-end encryption the homeserver would
            # read every private message; the core uses the policy's fallback instead
            raise PrivateMessageRefused("private chats need end-to-end encryption, which is off")
        async with self._locks.setdefault(member_id, asyncio.Lock()):
            found = self.usable(member_id)
            if found is not None:
                return found
            spare = await self.spares.hand_over(member_id) if self.spares is not None else None
            if spare is not None:
                log.debug("matrix: private chat %s (made ahead) for %s", spare, member_id)
                self.opened.add(spare)
                # m.direct is saved after the message (save_soon), not between invite and
                # message: the session file already names the member (SpareChats.take), so
                # a bot killed before the save still knows the chat at restart.
                self.remember(member_id, spare)
                return spare, False
            created = await self.client.room_create(
                is_direct=True,
                preset=RoomPreset.trusted_private_chat,
                invite=[member_id],
                initial_state=[ENCRYPTION_STATE] if self.encryption else [],
            )
            if not isinstance(created, RoomCreateResponse):
                raise PrivateMessageRefused(f"could not open a private chat: {created.status_code}")
            room_id = created.room_id
            log.debug("matrix: opened private chat %s with %s", room_id, member_id)
            self.opened.add(room_id)
            self.remember(member_id, room_id)
            await self.save()
            # not only the room: the invite too, or the first message is encrypted for nobody
            await self.wait_for_room(room_id, member_id)
            return room_id, False
