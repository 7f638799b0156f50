"""The Matrix half of the harness: rooms and accounts on the real Synapse, members as nio
clients with end-to-end encryption, and what those clients saw.

The confidential circle is encrypted (as the embedded default's is), so the bot decrypts
every post and encrypts every private message, across its restarts; the lobby (where
copies turn up) and the moderators' room are not. Members only ever act through their own
client, and everything counted at the end is what a member's client decrypted or what a
moderator's client read in the alert room.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    JoinResponse,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomMessagesResponse,
    RoomPreset,
    RoomSendResponse,
    RoomVisibility,
    SyncResponse,
)

from adapters.matrix.direct import ENCRYPTION_STATE
from adapters.matrix.e2e import keep_keys
from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import client_config

REGISTER_BATCH = 16
CHECK_IN_FLIGHT = 8
HISTORY_PAGE = 100
SYNC_FILTER: dict[str, Any] = {
    # Lazy members keep a circle of hundreds from weighing on every member's sync; a timeline
    # of 50 keeps a busy private chat from being cut between two syncs.
    "room": {
        "state": {"lazy_load_members": True},
        "timeline": {"limit": 50, "lazy_load_members": True},
    },
    "presence": {"not_types": ["*"]},
}


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice from the bot as a member's client decrypted it."""

    room_id: str
    body: str
    mentions: tuple[str, ...] = ()
    event_id: str = ""


@dataclass
class MatrixMember:
    key: str
    client: AsyncClient
    bot_id: str
    notices: list[Notice] = field(default_factory=list)
    undecryptable: int = 0  # the bot's events this client could not decrypt
    dm: str | None = None  # the private chat with the bot this member writes in

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def bot_invites(self) -> list[str]:
        return [r for r, room in self.client.invited_rooms.items() if room.inviter == self.bot_id]


async def member_sync(
    member: MatrixMember, timeout_ms: int = 0, sync_filter: dict[str, Any] | None = None
) -> SyncResponse:
    """One sync plus the key chores nio's sync_forever does after it. Members sync as
    "offline": presence updates would only add homeserver writes to every sync."""
    client = member.client
    response = await asyncio.wait_for(
        client.sync(
            timeout=timeout_ms, sync_filter=sync_filter or SYNC_FILTER, set_presence="offline"
        ),
        timeout=timeout_ms / 1000 + 60,
    )
    if not isinstance(response, SyncResponse):
        raise RuntimeError(f"sync of {client.user_id} failed: {response}")
    await keep_keys(client)
    return response


async def in_batches(
    items: Sequence[Any], size: int, work: Callable[[Any], Awaitable[Any]]
) -> list[Any]:
    results: list[Any] = []
    for start in range(0, len(items), size):
        results += await asyncio.gather(*(work(item) for item in items[start : start + size]))
    return results


async def bounded(what: str, check: Callable[[], Awaitable[bool]], deadline_s: float) -> None:
    """Run ``check`` (which syncs or sleeps itself) until it holds; bounded in time."""
    deadline = time.monotonic() + deadline_s
    for _ in range(10_000):
        if await check():
            return
        if time.monotonic() >= deadline:
            break
    raise TimeoutError(f"{what}: not within {deadline_s:.0f} s")


class MatrixSide:
    """Accounts, rooms and member clients on one Synapse; ``tag`` keeps user names unique
    when a homeserver is shared with other tests."""

    def __init__(self, synapse: LocalSynapse, tmp: Path, tag: str) -> None:
        self.synapse = synapse
        self.tmp = tmp
        self.tag = tag
        self.password = secrets.token_urlsafe(18)
        self.bot_password = secrets.token_urlsafe(18)
        self.bot_id = ""
        self.mod: MatrixMember | None = None
        self.circle = self.lobby = self.mods_room = ""
        self.members: dict[str, MatrixMember] = {}
        self._reading: dict[str, asyncio.Lock] = {}
        self.send_failures = 0

    # -- the world ----------------------------------------------------------------------------
    async def build(self, keys: Sequence[str]) -> None:
        self.bot_id = await self.synapse.register(f"{self.tag}-confidant", self.bot_password)
        self.mod = await self._member("mod")
        mod = self.mod.client
        circle = await mod.room_create(
            visibility=RoomVisibility.private,
            preset=RoomPreset.public_chat,
            name="Crash circle",
            invite=[self.bot_id],
            initial_state=[ENCRYPTION_STATE],
            power_level_override={
                "users": {self.bot_id: 50},
                "events": {"m.room.power_levels": 50},
            },
        )
        lobby = await mod.room_create(
            visibility=RoomVisibility.private,
            preset=RoomPreset.public_chat,
            name="Crash lobby",
            invite=[self.bot_id],
        )
        mods = await mod.room_create(name="Crash moderators", invite=[self.bot_id])
        for created in (circle, lobby, mods):
            if not isinstance(created, RoomCreateResponse):
                raise RuntimeError(f"creating a room failed: {created}")
        self.circle, self.lobby, self.mods_room = circle.room_id, lobby.room_id, mods.room_id
        made = await in_batches(list(keys), REGISTER_BATCH, self._member)
        self.members = {member.key: member for member in made}

    async def _member(self, key: str) -> MatrixMember:
        localpart = f"{self.tag}-{key.split(':')[-1]}"
        user_id = await self.synapse.register(localpart, self.password)
        store = self.tmp / "nio" / localpart
        store.mkdir(parents=True)
        client = AsyncClient(
            self.synapse.base_url, user_id, store_path=str(store), config=client_config()
        )
        response = await client.login(self.password, device_name=f"crash-{localpart}")
        if not isinstance(response, LoginResponse):
            await client.close()
            raise RuntimeError(f"login of {user_id} failed: {response}")
        member = MatrixMember(key, client, self.bot_id)

        async def on_notice(room: MatrixRoom, event: RoomMessageNotice) -> None:
            if event.sender == self.bot_id:
                member.notices.append(_notice(room.room_id, event))

        async def on_megolm(room: MatrixRoom, event: MegolmEvent) -> None:
            if event.sender == self.bot_id:
                member.undecryptable += 1

        client.add_event_callback(on_notice, RoomMessageNotice)  # type: ignore[arg-type]
        client.add_event_callback(on_megolm, MegolmEvent)  # type: ignore[arg-type]
        await member_sync(member)  # uploads the device keys before anything is sent to it
        return member

    def policy_rooms(self) -> dict[str, str]:
        return {"circle": self.circle, "lobby": self.lobby, "mods": self.mods_room}

    def public_rooms(self) -> set[str]:
        return {self.circle, self.lobby, self.mods_room}

    async def wait_bot_in_rooms(self, deadline_s: float = 60.0) -> None:
        assert self.mod is not None
        mod = self.mod

        async def joined() -> bool:
            """Joined, not only invited (nio counts invitees among a room's users): a
            member who joins before the bot is history to it, by design never reminded."""
            await member_sync(mod, timeout_ms=500)
            return all(
                (room := mod.client.rooms.get(r)) is not None
                and self.bot_id in room.users
                and self.bot_id not in room.invited_users
                for r in self.public_rooms()
            )

        await bounded(
            "the bot joined the circle, the lobby and the moderators' room", joined, deadline_s
        )

    # -- regulars: in the circle and the lobby, agreed ------------------------------------------
    async def admit(self, keys: Sequence[str], deadline_s: float = 120.0) -> None:
        """Join the circle and the lobby, open the bot's private chat, agree, and wait for
        the bot's thanks (after which it lets them post)."""

        async def one(key: str) -> None:
            member = self.members[key]
            for room_id in (self.circle, self.lobby):
                response = await member.client.join(room_id)
                if not isinstance(response, JoinResponse):
                    raise RuntimeError(f"{key} could not join: {response}")
            dm = await self._open_private_chat(member, deadline_s)
            await self._send(member, dm, "!agree")

            async def thanked() -> bool:
                await member_sync(member, timeout_ms=1000)
                return any(
                    n.body.startswith("Thank you. Your agreement") and "is recorded" in n.body
                    for n in member.notices
                )

            await bounded(f"{key}'s agreement acknowledged", thanked, deadline_s)

        for key in keys:
            await one(key)

    async def read_private(self, key: str, wait_s: float = 0.0) -> list[str]:
        """Open the app and read: one sync of the member's private chats (returning early
        when something comes, within ``wait_s``), accepting the bot's invites, then every
        notice the bot sent them privately, in order. Only the private chats: the circle's
        traffic would cost the homeserver a sync per member per post, for nothing."""
        member = self.members[key]
        private_only = {
            **SYNC_FILTER,
            "room": {**SYNC_FILTER["room"], "not_rooms": sorted(self.public_rooms())},
        }
        async with self._reading.setdefault(key, asyncio.Lock()):
            await member_sync(member, timeout_ms=int(wait_s * 1000), sync_filter=private_only)
            for room_id in member.bot_invites():
                await member.client.join(room_id)
        return self.private_notices(key)

    # -- what members do ---------------------------------------------------------------------
    async def join(self, key: str) -> bool:
        response = await self.members[key].client.join(self.circle)
        return isinstance(response, JoinResponse)

    async def agree(self, key: str, deadline_s: float) -> bool:
        """A joiner opens the bot's private chat and agrees there (their posting in the
        circle is held back until they do). False when the chat never came in time."""
        member = self.members[key]
        try:
            dm = await self._open_private_chat(member, deadline_s)
        except TimeoutError:
            return False
        return await self._send(member, dm, "!agree") is not None

    async def post(self, key: str, room: str, text: str) -> str | None:
        room_id = self.circle if room == "circle" else self.lobby
        return await self._send(self.members[key], room_id, text)

    async def say_privately(self, key: str, text: str) -> bool:
        member = self.members[key]
        return member.dm is not None and await self._send(member, member.dm, text) is not None

    def private_notices(self, key: str) -> list[str]:
        """The bot's notices in this member's private chats, in the order they came."""
        public = self.public_rooms()
        return [n.body for n in self.members[key].notices if n.room_id not in public]

    async def _open_private_chat(self, member: MatrixMember, deadline_s: float) -> str:
        async def invited() -> bool:
            if member.dm is not None or member.bot_invites():
                return True
            await member_sync(member, timeout_ms=1000)
            return bool(member.bot_invites())

        await bounded(f"the bot's private chat invite to {member.key}", invited, deadline_s)
        for room_id in member.bot_invites():
            response = await member.client.join(room_id)
            if isinstance(response, JoinResponse) and member.dm is None:
                member.dm = room_id
        dm = member.dm
        if dm is None:
            raise TimeoutError(f"{member.key} could not join the bot's private chat")

        async def known() -> bool:
            if dm in member.client.rooms:
                return True
            await member_sync(member, timeout_ms=500)
            return dm in member.client.rooms

        await bounded(f"{member.key}'s private chat synced", known, 30.0)
        return dm

    async def _send(self, member: MatrixMember, room_id: str, text: str) -> str | None:
        """Send as the member's client would; None (and counted) when the homeserver
        refused, e.g. a post while the bot still holds the member back."""
        try:
            if room_id not in member.client.rooms:
                await member_sync(member)
            response = await member.client.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": text},
                ignore_unverified_devices=True,
            )
        except Exception:
            self.send_failures += 1
            return None
        if not isinstance(response, RoomSendResponse):
            self.send_failures += 1
            return None
        return str(response.event_id)

    # -- the end: what every client can read --------------------------------------------------
    async def final_views(self, keys: Sequence[str]) -> dict[str, list[Notice]]:
        """Each member accepts the bot's private chats and reads them whole: every notice
        the bot sent there that the member's client decrypts."""

        async def one(key: str) -> tuple[str, list[Notice]]:
            member = self.members[key]
            await member_sync(member)
            for room_id in member.bot_invites():
                await member.client.join(room_id)
            await member_sync(member)  # the chats joined, and their room keys
            seen: list[Notice] = []
            for room_id, room in list(member.client.rooms.items()):
                if room_id in self.public_rooms() or self.bot_id not in room.users:
                    continue
                seen += await self.history(member, room_id)
            return key, seen

        return dict(await in_batches(list(keys), CHECK_IN_FLIGHT, one))

    async def history(
        self, member: MatrixMember, room_id: str, max_pages: int = 400
    ) -> list[Notice]:
        """The bot's notices in a room, oldest first, read backwards from now (the member's
        client decrypts them); events it cannot decrypt are counted on the member."""
        client = member.client
        token = client.next_batch
        found: list[Notice] = []
        for _ in range(max_pages):
            response = await client.room_messages(
                room_id, start=token, direction=MessageDirection.back, limit=HISTORY_PAGE
            )
            if not isinstance(response, RoomMessagesResponse):
                raise RuntimeError(f"reading {room_id} failed: {response}")
            for event in response.chunk:
                if getattr(event, "sender", None) != self.bot_id:
                    continue
                if isinstance(event, RoomMessageNotice):
                    found.append(_notice(room_id, event))
                elif isinstance(event, MegolmEvent):
                    member.undecryptable += 1
            if not response.chunk or not response.end or response.end == token:
                break
            token = response.end
        found.reverse()
        return found

    async def close(self) -> None:
        clients = [m.client for m in self.members.values()]
        if self.mod is not None:
            clients.append(self.mod.client)
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()


def _notice(room_id: str, event: RoomMessageNotice) -> Notice:
    content = (event.source or {}).get("content") or {}
    mentions = (content.get("m.mentions") or {}).get("user_ids") or ()
    return Notice(room_id, event.body, tuple(str(m) for m in mentions), event.event_id)
