"""The floor for a private encrypted reminder on Matrix: a bare matrix-nio client doing the least.

Why: what a join → reminder figure is worth depends on what the homeserver itself costs. This
client does only what any bot must do for an encrypted private reminder, in the simplest
order, so benchmarks/matrix_joins.py can measure the bot against it in the same run, on the
same Synapse, with the same members, joins interleaved:

  its long-poll sync shows the member's join in its covered room → it invites the member into
  an encrypted private chat it made before the measurement (so, like the bot's spare chats,
  no room creation is on the path) → key query for the member's devices, one-time key claim,
  Megolm key share → one encrypted notice.

Nothing else: no store, no power levels, no m.direct, no refill of the made-ahead chats
(enough are made for every measured join). Timings are kept per member on this machine's
clock (the homeserver's too): when the join was noticed and when the room key was shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedMembersResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomMemberEvent,
    RoomPreset,
    RoomPutStateResponse,
    RoomSendResponse,
    SyncResponse,
)

from adapters.matrix.direct import ENCRYPTION_STATE
from adapters.matrix.e2e import keep_keys

log = logging.getLogger("confidant.bench.floor")

SYNC_FILTER: dict[str, Any] = {  # as the bot's (adapters/matrix/client.py)
    "presence": {"types": []},
    "room": {"ephemeral": {"types": []}, "timeline": {"limit": 500}},
}


def now_ms() -> float:
    return time.time() * 1000


class Floor:
    def __init__(self, client: AsyncClient, text: str) -> None:
        self.client = client
        self.text = text
        self.room_id = ""  # its covered room
        self.pool: list[str] = []  # encrypted private chats made ahead
        self.noticed_ms: dict[str, float] = {}
        self.shared_ms: dict[str, float] = {}
        self.errors = 0
        self._keys_lock = asyncio.Lock()
        self._synced = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @classmethod
    async def create(
        cls, base_url: str, user_id: str, password: str, store: Path, text: str
    ) -> Floor:
        store.mkdir(parents=True, exist_ok=True)
        client = AsyncClient(
            base_url,
            user_id,
            store_path=str(store),
            config=AsyncClientConfig(
                encryption_enabled=True, store_sync_tokens=False, request_timeout=30
            ),
        )
        login = await client.login(password, device_name="floor")
        if not isinstance(login, LoginResponse):
            await client.close()
            raise RuntimeError(f"floor login failed: {login}")
        return cls(client, text)

    async def start(self, chats: int) -> None:
        """Its covered room, ``chats`` private chats ready (known encrypted, members synced),
        then the sync loop that notices joins."""
        covered = await self.client.room_create(preset=RoomPreset.public_chat, name="Floor")
        if not isinstance(covered, RoomCreateResponse):
            raise RuntimeError(f"floor: creating its room failed: {covered}")
        self.room_id = covered.room_id
        made: list[str] = []
        for _ in range(chats):
            created = await self.client.room_create(
                preset=RoomPreset.private_chat, initial_state=[ENCRYPTION_STATE]
            )
            if not isinstance(created, RoomCreateResponse):
                raise RuntimeError(f"floor: creating a private chat failed: {created}")
            made.append(created.room_id)
        self._loop = asyncio.create_task(self._sync_loop(), name="floor-sync")
        client = self.client

        def ready() -> bool:
            return all(r in client.rooms and client.rooms[r].encrypted for r in made) and (
                self.room_id in client.rooms
            )

        async with self._synced:
            await asyncio.wait_for(self._synced.wait_for(ready), 120)
        for room_id in made:
            members = await client.joined_members(room_id)  # marks the member list complete
            if not isinstance(members, JoinedMembersResponse):
                raise RuntimeError(f"floor: member list of a private chat: {members}")
        self.pool = made

    async def stop(self) -> None:
        for task in [*self._tasks, *([self._loop] if self._loop else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.client.close()

    async def _sync_loop(self) -> None:
        client = self.client
        since: str | None = None
        while True:
            response = await client.sync(
                timeout=0 if since is None else 30_000, since=since, sync_filter=SYNC_FILTER
            )
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.25)
                continue
            if since is not None:
                self._notice_joins(response)
            since = response.next_batch
            with contextlib.suppress(Exception):
                await keep_keys(client, self._keys_lock)
            async with self._synced:
                self._synced.notify_all()

    def _notice_joins(self, response: SyncResponse) -> None:
        info = response.rooms.join.get(self.room_id)
        if info is None:
            return
        for event in info.timeline.events:
            if (
                isinstance(event, RoomMemberEvent)
                and event.membership == "join"
                and event.prev_membership != "join"
                and event.state_key != self.user_id
                and event.state_key not in self.noticed_ms
            ):
                self.noticed_ms[event.state_key] = now_ms()
                task = asyncio.create_task(self._remind(event.state_key), name="floor-remind")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _remind(self, member_id: str) -> None:
        """Invite, key query/claim/share, message: one after the other."""
        client = self.client
        try:
            room_id = self.pool.pop(0)
            room = client.rooms[room_id]
            invited = await client.room_put_state(
                room_id,
                "m.room.member",
                {"membership": "invite", "is_direct": True},
                state_key=member_id,
            )
            if not isinstance(invited, RoomPutStateResponse):
                raise RuntimeError(f"invite: {invited}")
            room.add_member(member_id, None, None, invited=True)
            assert client.olm is not None
            client.olm.update_tracked_users(room)
            async with self._keys_lock:
                if client.should_query_keys:
                    await client.keys_query()
            await client.share_group_session(room_id, ignore_unverified_devices=True)
            self.shared_ms[member_id] = now_ms()
            content = {"msgtype": "m.notice", "body": self.text}
            sent = await client.room_send(
                room_id, "m.room.message", content, ignore_unverified_devices=True
            )
            if not isinstance(sent, RoomSendResponse):
                raise RuntimeError(f"send: {sent}")
        except Exception as error:
            self.errors += 1
            log.warning("floor: reminding failed (%s)", error)
