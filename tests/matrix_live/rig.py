"""A Confidant bot on a real Synapse, with real member clients, for the adapter scenarios.

The bot runs the whole App (core, SQLite store, policies from files) with the Matrix
adapter; members and moderators are separate nio clients, so everything a test asserts
went through the homeserver as it would for people.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageNotice,
    RoomPreset,
    RoomSendResponse,
    RoomVisibility,
)

from adapters.matrix.client import MatrixAdapter
from adapters.matrix.direct import ENCRYPTION_STATE
from adapters.matrix.homeserver import LocalSynapse
from bot.app import App
from bot.clock import Clock
from bot.config import Config, load_config
from tests.matrix_live.conftest import new_password, sync_once, unique_localpart

POLICY = """\
name: circle
rooms:
  - platform: matrix
    id: "{room_id}"
moderators:
  - platform: matrix
    user: "{mod}"
alerts:
  - platform: matrix
    id: "{mods_room}"
reminder:
  text: What is shared in the circle stays in the circle.
  delivery: private
  require_agreement: true
  private_timeout_minutes: 10
"""

REMINDER = "What is shared in the circle stays in the circle."


@dataclass
class Notices:
    """Notices (what the bot sends) a member's client saw, per room; plus undecryptable."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    undecryptable: list[str] = field(default_factory=list)
    invites: list[tuple[str, bool]] = field(default_factory=list)

    def in_room(self, room_id: str) -> list[str]:
        return [body for rid, body in self.seen if rid == room_id]

    def containing(self, text: str) -> list[tuple[str, str]]:
        return [(rid, body) for rid, body in self.seen if text in body]


# Keyed by the client itself, never by id(): a client freed at the end of one test and a new
# one made in the next can share an id, and the new one would get the old one's record and
# none of the callbacks that fill it (a member who never sees the bot's private chat).
_WATCHED: weakref.WeakKeyDictionary[AsyncClient, Notices] = weakref.WeakKeyDictionary()


def watch(client: AsyncClient) -> Notices:
    """Record what the bot sends this client; one record per client."""
    if client in _WATCHED:
        return _WATCHED[client]
    notices = Notices()
    _WATCHED[client] = notices

    async def on_notice(room: MatrixRoom, event: RoomMessageNotice) -> None:
        notices.seen.append((room.room_id, event.body))

    async def on_megolm(room: MatrixRoom, event: MegolmEvent) -> None:
        notices.undecryptable.append(room.room_id)

    async def on_invite(room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key == client.user_id and event.membership == "invite":
            notices.invites.append((room.room_id, bool(event.content.get("is_direct"))))

    client.add_event_callback(on_notice, RoomMessageNotice)  # type: ignore[arg-type]
    client.add_event_callback(on_megolm, MegolmEvent)  # type: ignore[arg-type]
    client.add_event_callback(on_invite, InviteMemberEvent)  # type: ignore[arg-type]
    return notices


async def wait_until(
    clients: Sequence[AsyncClient],
    predicate: Callable[[], bool],
    what: str,
    deadline_s: float = 20.0,
) -> None:
    """Sync member clients (bounded) until the predicate holds. Clients that are watched
    accept the bot's private chat invites, as a member does by opening them."""
    deadline = time.monotonic() + deadline_s
    for _ in range(400):
        for client in clients:
            notices = _WATCHED.get(client)
            if notices is not None:
                await accept_dm_invites(client, notices)
        if predicate():
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        await asyncio.gather(
            *(sync_once(c, timeout_ms=int(min(250, remaining * 1000))) for c in clients)
        )
    if predicate():
        return
    seen = {
        c.user_id: (
            [b[:40] for _, b in _WATCHED[c].seen],
            f"invites={_WATCHED[c].invites} undecryptable={_WATCHED[c].undecryptable}"
            f" rooms={sorted(c.rooms)}",
        )
        for c in clients
        if c in _WATCHED
    }
    raise AssertionError(f"{what}: not reached within {deadline_s} s; notices seen: {seen}")


async def accept_dm_invites(client: AsyncClient, notices: Notices) -> list[str]:
    joined: list[str] = []
    for room_id, is_direct in list(notices.invites):
        if is_direct and room_id in client.invited_rooms and room_id not in client.rooms:
            response = await client.join(room_id)
            assert isinstance(response, JoinResponse), response
            joined.append(room_id)
    return joined


async def say(client: AsyncClient, room_id: str, text: str) -> RoomSendResponse | object:
    """Send as a member's client would (encrypting for the bot's device without verifying)."""
    await wait_until([client], lambda: room_id in client.rooms, f"{room_id} known to the client")
    return await client.room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": text},
        ignore_unverified_devices=True,
    )


@dataclass
class BotWorld:
    synapse: LocalSynapse
    tmp: Path
    bot_id: str
    bot_password: str
    mod: AsyncClient
    room_id: str
    mods_room: str
    config_path: Path
    app: App | None = None
    adapter: MatrixAdapter | None = None

    def bot_joined(self, room_id: str | None = None) -> bool:
        """As the moderator's client sees it (sync the moderator first)."""
        room = self.mod.rooms.get(room_id or self.room_id)
        return (
            room is not None
            and self.bot_id in room.users
            and (self.bot_id not in room.invited_users)
        )

    def config(self) -> Config:
        return load_config(self.config_path, env={"BOT_PASSWORD": self.bot_password})

    async def start_bot(self, clock: Clock | None = None) -> App:
        """``clock``: a FakeClock for scenarios that move time (schedules, timeouts)."""
        holder: list[MatrixAdapter] = []

        def make(registry, clock):  # type: ignore[no-untyped-def]
            config = self.config()
            assert config.adapters.matrix is not None
            holder.append(
                MatrixAdapter(config.adapters.matrix, registry, clock, sync_timeout_ms=2000)
            )
            return holder

        self.app = await App.create(
            self.config(),
            make,
            clock=clock,
            display_root=self.tmp,
            tick_seconds=3600,
            policy_poll_seconds=3600,
        )
        await self.app.start()
        self.adapter = holder[0]
        return self.app

    async def stop_bot(self) -> None:
        if self.app is not None:
            await self.app.close()
            self.app = None


async def create_world(
    synapse: LocalSynapse,
    tmp: Path,
    make_client,
    *,
    encrypted: bool = False,
    power_levels_level: int = 50,
    bot_level: int = 50,
    policy: str = POLICY,
) -> BotWorld:
    """Bot account, a moderator who creates the support room (bot at power level 50, which
    may change power levels) and a moderators' room, the policy and the config files."""
    bot_password = new_password()
    bot_id = await synapse.register(unique_localpart("confidant"), bot_password)
    mod = await make_client("mod")
    watch(mod)
    await sync_once(mod)
    initial_state = [ENCRYPTION_STATE] if encrypted else []
    support = await mod.room_create(
        visibility=RoomVisibility.private,
        preset=RoomPreset.public_chat,
        name="Recovery circle",
        invite=[bot_id],
        initial_state=initial_state,
        power_level_override={
            "users": {bot_id: bot_level},
            "events": {"m.room.power_levels": power_levels_level},
        },
    )
    assert isinstance(support, RoomCreateResponse), support
    mods = await mod.room_create(name="Moderators", invite=[bot_id])
    assert isinstance(mods, RoomCreateResponse), mods
    policies = tmp / "policies"
    policies.mkdir(parents=True, exist_ok=True)
    (policies / "circle.yaml").write_text(
        policy.format(room_id=support.room_id, mod=mod.user_id, mods_room=mods.room_id)
    )
    config_path = tmp / "config.yaml"
    config_path.write_text(
        "database: confidant.db\nkey_file: confidant.key\npolicy_dir: policies\nlog_level: DEBUG\n"
        'status: {listen: "127.0.0.1:0"}\n'  # a bot process's endpoint: any free port
        "adapters:\n  matrix:\n"
        f"    homeserver: {synapse.base_url}\n"
        f'    user_id: "{bot_id}"\n'
        "    password: ${BOT_PASSWORD}\n"
        "    store_dir: matrix-store\n"
    )
    return BotWorld(
        synapse, tmp, bot_id, bot_password, mod, support.room_id, mods.room_id, config_path
    )


# -- more rooms and bounded waits on the bot's own state (leak flagging scenarios) -----------


async def add_room(
    world: BotWorld, name: str, *, encrypted: bool = False, bot_level: int = 0
) -> str:
    """Another room the moderator creates, anyone may join, and the bot is invited to (it
    accepts only if a policy names the room)."""
    created = await world.mod.room_create(
        visibility=RoomVisibility.private,
        preset=RoomPreset.public_chat,
        name=name,
        invite=[world.bot_id],
        initial_state=[ENCRYPTION_STATE] if encrypted else [],
        power_level_override={"users": {world.bot_id: bot_level}} if bot_level else None,
    )
    assert isinstance(created, RoomCreateResponse), created
    return created.room_id


def write_policy(world: BotWorld, name: str, text: str) -> None:
    """A further policy file, read when the bot (re)starts."""
    (world.tmp / "policies" / f"{name}.yaml").write_text(text)


async def send(client: AsyncClient, room_id: str, content: dict[str, Any]) -> str:
    """Send any m.room.message content (a reply, HTML) and return the event id."""
    await wait_until([client], lambda: room_id in client.rooms, f"{room_id} known to the client")
    response = await client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


async def poll_until(
    check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = 20.0
) -> None:
    """Poll the bot's own state (its store) until ``check`` holds; bounded in time."""
    deadline = time.monotonic() + deadline_s
    for _ in range(int(deadline_s / 0.05) + 1):
        if await check():
            return
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not reached within {deadline_s} s")
