"""The gateway half of the fake: sessions, sequence numbers, resume and intent gating.

A session outlives its socket, as on Discord: every dispatch gets the session's next sequence
number and is kept, so a client that RESUMEs with its last seen ``seq`` is replayed exactly what
it missed, in order, and nothing twice. Sockets come and go; sessions end only by invalidation.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from . import members, payloads
from . import permissions as perm
from .faults import GatewayRefusal
from .recorder import GatewayFrame, Recorder
from .shards import UNSHARDED, ShardRules, event_guild, hears
from .state import (
    INTENT_GUILD_MEMBERS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    FakeGuild,
    World,
)

DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12

# Events Discord only sends when the identify asked for the matching intent.
_GUILD_EVENTS = (
    "GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE",
    "GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE",
    "THREAD_CREATE", "THREAD_UPDATE", "THREAD_DELETE",
    "THREAD_LIST_SYNC", "THREAD_MEMBER_UPDATE", "THREAD_MEMBERS_UPDATE",
)
_MEMBER_EVENTS = ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE")
_MESSAGE_EVENTS = ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK")
EVENT_INTENT: dict[str, int] = {
    **dict.fromkeys(_GUILD_EVENTS, INTENT_GUILDS),
    **dict.fromkeys(_MEMBER_EVENTS, INTENT_GUILD_MEMBERS),
}


def required_intent(event: str, data: dict[str, Any]) -> int:
    if event in _MESSAGE_EVENTS:
        return INTENT_GUILD_MESSAGES if data.get("guild_id") else INTENT_DIRECT_MESSAGES
    return EVENT_INTENT.get(event, 0)


def without_content(data: dict[str, Any], bot_id: int) -> dict[str, Any]:
    """What Discord delivers without the MESSAGE_CONTENT intent: the text fields emptied,
    except in DMs, messages mentioning the bot, and the bot's own messages."""
    if not data.get("guild_id") or data.get("author", {}).get("id") == str(bot_id):
        return data
    if any(m.get("id") == str(bot_id) for m in data.get("mentions", [])):
        return data
    data = copy.deepcopy(data)
    for key in ("content", "embeds", "attachments", "components"):
        if key in data:
            data[key] = "" if key == "content" else []
    for snapshot in data.get("message_snapshots", []):
        snapshot["message"].update(content="", embeds=[], attachments=[], components=[])
    return data


@dataclass
class Session:
    id: str
    intents: int
    large_threshold: int = members.LARGE_THRESHOLD_DEFAULT
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    socket: web.WebSocketResponse | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    shard: tuple[int, int] = UNSHARDED  # IDENTIFY's [shard_id, num_shards] (shards.py)


class GatewayError(RuntimeError):
    pass


class Gateway:
    def __init__(
        self,
        world: World,
        frames: Recorder[GatewayFrame],
        *,
        heartbeat_interval_ms: int = 41_250,
        resume_host: str = "gateway-us-east1-c.discord.gg",
    ) -> None:
        self.world = world
        self.frames = frames
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.resume_gateway_url = f"wss://{resume_host}"
        self.sessions: dict[str, Session] = {}
        self.current: Session | None = None  # the newest session (of any shard)
        # The newest session of each shard, which hears that shard's events (shards.py).
        self.by_shard: dict[tuple[int, int], Session] = {}
        self.shard_rules = ShardRules()
        self.connections = 0
        self.connect_paths: list[str] = []  # host + query of each socket, in order
        self._sockets: set[web.WebSocketResponse] = set()
        self.refusals = GatewayRefusal()  # upgrades to turn away (an outage)
        # op 8 answers and counts; ``member_requests.window_s`` is the whole-list limit
        self.member_requests = members.MemberRequests()

    # -- control surface for tests ----------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> int | None:
        """Send an event to the session of its shard (or keep it for replay if its socket is
        down); unsharded, that is the current session.

        Returns the sequence number, or None if the session's intents filter the event out
        (or no connected shard hears it: Discord does not keep those).
        """
        if self.current is None and not self.by_shard:
            raise GatewayError("no gateway session: has the client identified?")
        guild_id = event_guild(event, data)
        seq: int | None = None
        for session in [s for k, s in self.by_shard.items() if hears(k, guild_id)]:
            async with session.lock:
                sent = await self._emit(session, event, data)
            seq = sent if seq is None else seq
        return seq

    def shard_session(self, shard_id: int, shard_count: int) -> Session | None:
        """The newest session that identified as ``[shard_id, shard_count]``."""
        return self.by_shard.get((shard_id, shard_count))

    def _forget(self, session: Session) -> None:
        """A session that ended: it no longer hears its shard."""
        if self.by_shard.get(session.shard) is session:
            del self.by_shard[session.shard]

    async def close_socket(
        self,
        code: int = 4000,
        reason: str = "fake: closed on demand",
        *,
        shard: tuple[int, int] | None = None,
    ) -> None:
        """Drop the current session's socket (or that of ``shard``'s session); the client
        RESUMEs it."""
        session = self._require_connected(shard)
        ws, session.socket = session.socket, None
        assert ws is not None
        await ws.close(code=code, message=reason.encode())

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        session = self._require_connected()
        if not resumable:
            self.sessions.pop(session.id, None)
            self._forget(session)
            self.current = None
        assert session.socket is not None
        await self._send(session.socket, {"op": INVALID_SESSION, "d": resumable})

    async def request_reconnect(self) -> None:
        session = self._require_connected()
        assert session.socket is not None
        await self._send(session.socket, {"op": RECONNECT, "d": None})

    @property
    def connected(self) -> bool:
        return self.current is not None and self.current.socket is not None

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"fake Discord stopping")

    # -- the protocol -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refused = self.refusals.take()
        if refused is not None:
            return refused
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        self.connections += 1
        connection = self.connections
        self.connect_paths.append(f"{request.host}{request.path_qs}")
        self._sockets.add(ws)
        session: Session | None = None
        try:
            await self._send(ws, {
                "op": HELLO,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake"]},
            })
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                    op, d = frame["op"], frame.get("d")
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self.frames.add(GatewayFrame(op=op, d=d, connection=connection))
                session = await self._on_frame(ws, op, d, session)
        finally:
            self._sockets.discard(ws)
            if session is not None and session.socket is ws:
                session.socket = None
        return ws

    async def _on_frame(
        self, ws: web.WebSocketResponse, op: int, d: Any, session: Session | None
    ) -> Session | None:
        if op == HEARTBEAT:
            await self._send(ws, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            if session is not None:
                await ws.close(code=4005, message=b"Already authenticated.")
                return session
            return await self._identify(ws, d)
        elif op == RESUME:
            return await self._resume(ws, d)
        elif session is None:
            await ws.close(code=4003, message=b"Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            await self._send_member_chunk(session, d)
        elif op not in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            await ws.close(code=4001, message=b"Unknown opcode.")
        return session

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> Session | None:
        if not self.world.limits.identify():
            await self._reset_token(ws)
            return None
        if d.get("token") != self.world.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = d.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await ws.close(code=4013, message=b"Invalid intent(s).")
            return None
        if intents & PRIVILEGED_INTENTS & ~self.world.enabled_privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        refused = self.shard_rules.refusal(d.get("shard"), self.world.guilds)
        if refused is not None:  # 4010 / 4011 (shards.py)
            await ws.close(code=refused[0], message=refused[1])
            return None
        session = Session(
            id=secrets.token_hex(16),
            intents=intents,
            large_threshold=members.large_threshold(d),
            socket=ws,
            shard=tuple(d["shard"]) if "shard" in d else UNSHARDED,  # type: ignore[arg-type]
        )
        self.sessions[session.id] = session
        self.current = session
        self.by_shard[session.shard] = session
        async with session.lock:
            ready = payloads.ready(
                self.world, session_id=session.id, resume_gateway_url=self.resume_gateway_url
            )
            # only this shard's servers (docs: events/gateway#sharding)
            ready["guilds"] = [g for g in ready["guilds"] if hears(session.shard, int(g["id"]))]
            if "shard" in d:  # sharded clients (AutoShardedClient) read their shard back
                ready["shard"] = d["shard"]
            await self._emit(session, "READY", ready)
            for guild in self.world.guilds.values():
                if hears(session.shard, guild.id):
                    await self._emit(session, "GUILD_CREATE", self._guild_create(session, guild))
        return session

    async def _reset_token(self, ws: web.WebSocketResponse) -> None:
        """Over the day's IDENTIFYs: Discord ends every session and resets the token
        (docs: events/gateway#identifying), so this and every later login fails."""
        self.world.token = f"reset.{secrets.token_urlsafe(24)}"
        self.sessions.clear()
        self.by_shard.clear()
        self.current = None
        for other in list(self._sockets):
            with contextlib.suppress(Exception):
                await other.close(code=4004, message=b"Authentication failed.")
        await ws.close(code=4004, message=b"Authentication failed.")

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> Session | None:
        session = self.sessions.get(str(d.get("session_id")))
        seq = d.get("seq")
        if (
            session is None
            or d.get("token") != self.world.token
            or not isinstance(seq, int)
            or seq > session.seq
        ):
            await self._send(ws, {"op": INVALID_SESSION, "d": False})
            return None
        async with session.lock:
            old, session.socket = session.socket, None
            if old is not None and old is not ws:
                await old.close(code=4000, message=b"Session resumed elsewhere.")
            for frame in session.history:
                if frame["s"] > seq:
                    await self._send(ws, frame)
            session.socket = ws
            self.current = session
            self.by_shard[session.shard] = session
            await self._emit(session, "RESUMED", {"_trace": ["fake"]})
        return session

    async def guild_outage(self, guild: FakeGuild) -> None:
        """A server Discord cannot serve for a while: GUILD_DELETE with ``unavailable``
        (https://discord.com/developers/docs/events/gateway-events#guild-delete: "If the
        unavailable field is not set, the user was removed from the guild"), nothing from it
        meanwhile, and GUILD_CREATE when it is back (see :meth:`guild_back`)."""
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id), "unavailable": True})

    async def guild_back(self, guild: FakeGuild) -> None:
        """The server is available again: a GUILD_CREATE like a new session's (only the bot's
        own member without the presences intent), and no replay of what changed meanwhile
        (https://discord.com/developers/docs/events/gateway-events#guild-create, case 2)."""
        session = next((s for k, s in self.by_shard.items() if hears(k, guild.id)), None)
        if session is None:
            raise GatewayError("no gateway session of this server's shard")
        await self.dispatch("GUILD_CREATE", self._guild_create(session, guild))

    def _guild_create(self, session: Session, guild: FakeGuild) -> dict[str, Any]:
        shown = members.guild_create_members(
            self.world, guild, intents=session.intents, threshold=session.large_threshold
        )
        return payloads.guild_create(
            self.world, guild, members=shown, large_threshold=session.large_threshold
        )

    async def _send_member_chunk(self, session: Session, d: dict[str, Any]) -> None:
        """Op 8: chunks of at most 1000, or RATE_LIMITED (see members.py)."""
        answers = self.member_requests.answer(self.world, d)
        async with session.lock:
            for event, data in answers:
                await self._emit(session, event, data)

    # -- plumbing ---------------------------------------------------------------------------

    def _bot_cannot_see(self, event: str, data: dict[str, Any]) -> bool:
        """Discord sends a guild channel's message events only to those who can view the
        channel ("VIEW_CHANNEL: allows guild members to view a channel, which includes reading
        messages in text channels", https://discord.com/developers/docs/topics/permissions),
        and a private thread's events only to its members and holders of Manage Threads
        (https://discord.com/developers/docs/topics/threads#private-threads)."""
        if not data.get("guild_id"):
            return False
        if event in _MESSAGE_EVENTS:
            channel_id = data.get("channel_id")
        elif event in ("THREAD_CREATE", "THREAD_UPDATE", "THREAD_MEMBERS_UPDATE"):
            channel_id = data.get("id")
        else:
            return False
        channel = self.world.channels.get(int(channel_id)) if channel_id else None
        if channel is None:
            return False  # a deleted channel's last events still go out
        return not perm.can_view(self.world, channel, self.world.bot_user.id)

    async def _emit(self, session: Session, event: str, data: dict[str, Any]) -> int | None:
        """Number, keep and (if a socket is attached) send one dispatch. Caller holds the lock."""
        needed = required_intent(event, data)
        if needed and not session.intents & needed:
            return None
        if self._bot_cannot_see(event, data):
            return None
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not (
            session.intents & INTENT_MESSAGE_CONTENT
        ):
            data = without_content(data, self.world.bot_user.id)
        if event == "INTERACTION_CREATE":  # its 3 s deadline runs from here (limits.py)
            self.world.limits.interaction_dispatched(int(data["id"]))
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.history.append(frame)
        if session.socket is not None:
            await self._send(session.socket, frame)
        return session.seq

    def _require_connected(self, shard: tuple[int, int] | None = None) -> Session:
        session = self.current if shard is None else self.by_shard.get(shard)
        if session is None or session.socket is None:
            raise GatewayError("no connected gateway session")
        return session

    @staticmethod
    async def _send(ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        if ws.closed:
            return
        # A socket the client is tearing down may fail mid-write; the frame stays in history.
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(json.dumps(frame))
