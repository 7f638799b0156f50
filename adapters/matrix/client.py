"""The Matrix adapter's I/O: matrix-nio in, core events out; core actions in, Matrix calls out.

Two tasks keep the bot responsive: a syncer that only talks to the homeserver (sync, E2E
key upkeep) and a dispatcher that hands each batch's events to the core in order. They are
separate because handling an event can need a later sync (a private chat created for a
reminder is only usable once a sync has shown it), and because the sync token is saved
only once a batch was fully handled, so a crash replays a batch instead of losing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    InviteMemberEvent,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RedactionEvent,
    RoomCreateEvent,
    RoomGetStateEventResponse,
    RoomMemberEvent,
    RoomMessageEmote,
    RoomMessageNotice,
    RoomMessageText,
    SyncResponse,
    WhoamiResponse,
)

from adapters.matrix import read_gate, translate
from adapters.matrix.backlog import PrivateBacklog
from adapters.matrix.direct import PrivateChats
from adapters.matrix.e2e import keep_keys
from adapters.matrix.outbound import MatrixError, MatrixOutbound
from adapters.matrix.powers import powers_of
from adapters.matrix.session import PendingInvite, SessionState
from adapters.matrix.spare_chats import SpareChats
from bot import redact
from bot.actions import (
    Action,
    SendPrivate,
)
from bot.clock import Clock
from bot.commands import Registry
from bot.config import MatrixConfig
from bot.events import (
    BotPermissions,
    CommandInvoked,
    Event,
    InvitedToRoom,
    Member,
    MessageDeleted,
    MessagePosted,
    PrivateMessageUnread,
    PrivateReply,
    Room,
    RoomMembers,
)
from bot.logs import fields
from bot.ports import Capabilities, EventSink

log = logging.getLogger("confidant.matrix")

PLATFORM = translate.PLATFORM
MAX_BACKOFF_S = 2.0  # a homeserver that comes back is noticed within this (target: 5 s)
OUTAGE_WAIT_S = 300.0  # an action cut off by an outage waits this long for the homeserver
OUTAGE_RETRIES = 2
# The bot reads no presence, typing or read receipts: leaving them out of its syncs spares the
# homeserver and the bot a wake-up for every one of them in a busy room. A sync returns only a
# room's last TIMELINE_LIMIT events (ten when the filter does not say) and drops the rest, so a
# burst between two syncs, or the seconds a restart takes in a busy room, would go unseen.
TIMELINE_LIMIT = 500
SYNC_FILTER: dict[str, Any] = {
    "presence": {"types": []},
    "room": {"ephemeral": {"types": []}, "timeline": {"limit": TIMELINE_LIMIT}},
}


# Library loggers that write whole payloads (unencrypted members' messages) or key
# material at DEBUG. Confidant's logs must never hold either, whatever the log level.
_PAYLOAD_LOGGERS = ("nio.responses", "nio.client", "nio.api", "nio.crypto", "peewee")


def quiet_payload_logs() -> None:
    for name in _PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
    # nio warns about a malformed event by quoting its content, decrypted text included
    redact.withhold_details("nio.events.misc", "Error validating event")


class LoginFailed(MatrixError):
    pass


def _check(response: Any, what: str) -> Any:
    """nio returns errors as values; the core only ever sees exceptions."""
    if isinstance(response, ErrorResponse):
        raise MatrixError(f"{what} failed: {response.status_code or ''} {response.message or ''}")
    return response


@dataclass
class _Batch:
    events: list[Event]
    next_batch: str
    newest_ts: int


class MatrixAdapter:
    platform = PLATFORM

    def __init__(
        self,
        config: MatrixConfig,
        registry: Registry,
        clock: Clock,
        *,
        sync_timeout_ms: int = 15_000,
        encryption: bool = True,
    ) -> None:
        self.config = config
        self.registry = registry
        self.clock = clock
        self.capabilities = Capabilities(
            ephemeral_replies=False,
            buttons=False,
            posting_permission=True,
            deletes=True,
            private_messages=True,
            command_prefix=config.command_prefix,
            checks_posts=True,
            access_by_invite=True,
        )
        self.sync_timeout_ms = sync_timeout_ms
        self.encryption = encryption
        self.store_dir = config.store_dir
        self.session_path = self.store_dir / "session.json"
        self.state = SessionState()
        self.client: AsyncClient | None = None
        self._sink: EventSink | None = None
        self._queue: asyncio.Queue[_Batch] = asyncio.Queue()
        self._settling = False  # stopping: no further batch is taken
        self._settled = asyncio.Event()
        self._settled.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._synced = asyncio.Condition()
        self._sync_count = 0
        self._first_sync_done = asyncio.Event()
        self._keys_lock = asyncio.Lock()
        self.chats: PrivateChats  # made in start(), with the client
        self.spares: SpareChats
        self.outbound: MatrixOutbound
        self._lanes = asyncio.Semaphore(16)  # members handled at once
        self.backlog = PrivateBacklog()  # the core's burst signal (bot/bursts.py)
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        self._invites_seen: set[str] = set()
        self._checked_rooms: set[str] = set()
        self._known_rooms: set[str] = set()
        self._declines: list[str] = []
        self._to_check: list[Room] = []
        self.connected = False

    # -- lifecycle ------------------------------------------------------------------------------
    @property
    def user_id(self) -> str:
        return self.config.user_id

    async def start(self, sink: EventSink) -> None:
        """Log in (reusing the saved device), do a first sync, then keep syncing."""
        self._sink = sink
        quiet_payload_logs()
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.store_dir.chmod(0o700)
        self.state = SessionState.load(self.session_path)
        self.client = AsyncClient(
            self.config.homeserver,
            self.config.user_id,
            store_path=str(self.store_dir),
            config=AsyncClientConfig(
                encryption_enabled=self.encryption,
                store_sync_tokens=False,  # we save the token once a batch was handled
                request_timeout=30,
                # honour M_LIMIT_EXCEEDED's retry_after_ms, bounded: with a join burst's
                # private reminders sent side by side, a request can lose the homeserver's
                # next free slot several times in a row; the runtime no longer waits on a
                # slow action, so waiting the limit out holds up nothing else
                max_limit_exceeded=30,
                max_timeouts=1,
                max_timeout_retry_wait_time=MAX_BACKOFF_S,
            ),
        )
        await self._login()
        self.backlog.watch(self.client)
        self.chats = PrivateChats(self.client, self.user_id, self.encryption, self._wait_for_room)
        self.outbound = MatrixOutbound(
            self.client,
            self.user_id,
            self.encryption,
            self.chats,
            self._wait_for_room,
            self._know_member_devices,
            self._note_pending_invite,
            clock=self.clock,
            report=self._deliver,
            told_unencrypted=self.state.told_unencrypted,
            save_told=lambda: self.state.save(self.session_path),
        )
        await self.chats.load(self.state.handed_chats)
        self.spares = SpareChats(
            self.client,
            self.user_id,
            self.encryption,
            self.config.spare_private_chats,
            self._wait_for_room,
            self.state.spare_chats,
            lambda: self.state.save(self.session_path),
            self.state.handed_chats,
            cap=self.config.spare_private_chats_max,
        )
        self.chats.spares = self.spares
        self.gate = read_gate.MatrixReadGate(
            self.client, self.user_id, self.outbound._resolve, self._known_room
        )
        self._tasks = [
            asyncio.create_task(self._sync_loop(), name="matrix-sync"),
            asyncio.create_task(self._dispatch_loop(), name="matrix-dispatch"),
            asyncio.create_task(self._invite_watch_loop(), name="matrix-invites"),
        ]
        await asyncio.wait_for(self._first_sync_done.wait(), timeout=120)
        self.spares.refill_soon()

    async def settle(self, timeout_s: float) -> None:
        """Before stopping: take no further batch and let the one being handled finish
        (bounded), so its sync token is saved. A batch cut off halfway is handed over again
        at the next start, and a command answered before the stop would be carried out a
        second time, under whatever policy is loaded then: an agreement typed to the old
        reminder would count for a changed one the member never saw."""
        self._settling = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout_s)

    async def stop(self) -> None:
        if self.client is not None:
            await self.spares.stop()
            await self.outbound.close()
            await self.chats.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self.client is not None:
            await self.client.close()  # never logout: that would delete the device and keys
        self.connected = False

    async def _login(self) -> None:
        assert self.client is not None
        client = self.client
        state = self.state
        if state.access_token and state.user_id == self.user_id and state.device_id:
            redact.protect(state.access_token)  # nio puts it in request URLs it may log
            client.restore_login(state.user_id, state.device_id, state.access_token)
            log.info("matrix: resumed device %s", state.device_id)
            return
        if self.config.access_token is not None:
            client.access_token = self.config.access_token.get_secret_value()
            who = _check(await client.whoami(), "whoami")
            assert isinstance(who, WhoamiResponse)
            if not who.device_id:
                raise LoginFailed("the access token has no device; log in with a password")
            client.restore_login(who.user_id, who.device_id, client.access_token)
        else:
            assert self.config.password is not None
            response = await client.login(
                self.config.password.get_secret_value(), device_name=self.config.device_name
            )
            if not isinstance(response, LoginResponse):
                raise LoginFailed(f"login as {self.user_id} failed: {response.message}")
        redact.protect(client.access_token)
        state.user_id = client.user_id
        state.device_id = client.device_id or ""
        state.access_token = client.access_token
        state.homeserver = self.config.homeserver
        state.next_batch = ""
        state.last_seen_ts = int(time.time() * 1000)
        state.save(self.session_path)
        log.info("matrix: logged in as %s with new device %s", state.user_id, state.device_id)

    # -- syncing ------------------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        assert self.client is not None
        client = self.client
        backoff = 0.25
        first = True
        since = self.state.next_batch or None
        while True:
            try:
                response = await client.sync(
                    timeout=0 if first else self.sync_timeout_ms,
                    since=since,
                    full_state=True if first and since else None,
                    sync_filter=SYNC_FILTER,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:  # network down, homeserver restarting
                self._disconnected(type(error).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if not isinstance(response, SyncResponse):
                self._disconnected(getattr(response, "status_code", "error"))
                if getattr(response, "status_code", "") == "M_UNKNOWN_TOKEN":
                    log.error("matrix: the access token was revoked; log in again")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            if not self.connected:
                log.info(
                    "matrix: connected to %s",
                    self.config.homeserver,
                    extra=fields("adapter_connected", platform=PLATFORM),
                )
            self.connected = True
            backoff = 0.25
            if first:
                self._known_rooms.update(response.rooms.join)
            batch = self._translate_sync(response, handle_timeline=bool(since))
            while self._declines:
                await client.room_leave(self._declines.pop())
            while self._to_check:
                checked = await self._permissions(self._to_check.pop())
                if checked is not None:
                    batch.events.insert(0, checked)
            joins = self.backlog.received(batch.events)  # queued joins: each needs a reminder
            self.spares.joined(joins)
            await self._queue.put(batch)
            # after handing the batch over: sends query the keys they need themselves
            try:
                await self._keep_keys()
            except (aiohttp.ClientConnectionError, TimeoutError) as error:
                log.warning("matrix: key upkeep cut off (%s); next sync", type(error).__name__)
            except Exception:
                log.exception("matrix: end-to-end key upkeep failed; retrying next sync")
            since = response.next_batch
            first = False
            async with self._synced:
                self._sync_count += 1
                self._synced.notify_all()

    def _disconnected(self, why: object) -> None:
        if self.connected:
            log.warning(
                "matrix: lost the homeserver (%s); reconnecting",
                why,
                extra=fields("adapter_disconnected", platform=PLATFORM, reason=why),
            )
        self.connected = False

    async def _keep_keys(self) -> None:
        if self.client is not None and self.encryption:
            await keep_keys(self.client, self._keys_lock)

    async def _know_member_devices(self, room_id: str) -> None:
        """Query the devices of everyone in an encrypted room (invited members included)
        before sending: a message encrypted before a member's devices are known can never
        be read by them, and a new private chat's invitee is usually not known yet."""
        client = self.client
        if client is None or not self.encryption or client.olm is None:
            return
        room = client.rooms.get(room_id)
        if room is None or not room.encrypted:
            return
        client.olm.update_tracked_users(room)
        async with self._keys_lock:  # also waits for a query the syncer has in flight
            if client.should_query_keys:
                await client.keys_query()

    async def _dispatch_loop(self) -> None:
        """Events of one member stay in order; different members are handled side by side
        (a burst of joins must not queue behind each reminder's round trips). A batch is
        finished before the next starts, and only then is its sync token saved."""
        while True:
            batch = await self._queue.get()
            if self._settling:  # stopping: left for the next start (its token is not saved)
                return
            self._settled.clear()
            while not self._queue.empty():  # behind (a join burst): the waiting batches as one
                later = self._queue.get_nowait()
                batch = _Batch(
                    batch.events + later.events,
                    later.next_batch,
                    max(batch.newest_ts, later.newest_ts),
                )
            lanes: dict[str, list[Event]] = {}
            for event in batch.events:
                lanes.setdefault(_lane(event), []).append(event)
            self.backlog.batch_started()
            await asyncio.gather(*(self._deliver_in_order(lane) for lane in lanes.values()))
            self.state.next_batch = batch.next_batch
            self.state.last_seen_ts = max(self.state.last_seen_ts, batch.newest_ts)
            self.state.save(self.session_path)
            self._first_sync_done.set()
            self._settled.set()

    async def _deliver_in_order(self, events: list[Event]) -> None:
        async with self._lanes:
            for event in events:
                await self._deliver(event)

    async def _deliver(self, event: Event) -> None:
        if self._sink is None:
            return
        event = self.backlog.handing_over(event)
        try:
            if isinstance(event, read_gate.JoinAsked):
                event = await self.gate.requested(event)
            await self._sink(event)
        except Exception:
            log.exception("matrix: delivering %s failed", type(event).__name__)

    async def wait_for_sync(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until ``count`` more syncs completed (bounded)."""
        async with self._synced:
            target = self._sync_count + count
            await asyncio.wait_for(
                self._synced.wait_for(lambda: self._sync_count >= target), timeout
            )

    # -- translation of a sync response ---------------------------------------------------------
    def _translate_sync(self, response: SyncResponse, handle_timeline: bool) -> _Batch:
        """Events worth the core's attention, in order. The very first sync of a new device
        only learns the state: old history is not news."""
        assert self.client is not None
        events: list[Event] = []
        newest = self.state.last_seen_ts
        for account_event in response.account_data_events:
            source = getattr(account_event, "source", None) or {}
            if source.get("type") == "m.direct":
                self.chats.replace(source.get("content") or {})
        for room_id, invite in response.rooms.invite.items():
            events += self._translate_invite(room_id, invite.invite_state)
        for room_id, info in response.rooms.join.items():
            matrix_room = self.client.rooms.get(room_id)
            if matrix_room is None:
                continue
            room = self._room(matrix_room)
            created_by_me = self._created_by_me(info)
            if room_id not in self._checked_rooms and not (room.is_private_chat or created_by_me):
                self._checked_rooms.add(room_id)
                self._to_check.append(room)
                # The whole joined-member list (the first sync of a run is full state and
                # members are not lazy-loaded): who was there before the bot, for the core's
                # room count (bot/presence.py), e.g. for /agreements.
                events.append(self._room_members(room, matrix_room))
                # knocks made while the bot was away (or before it joined): each reported,
                # the core reminds once per member and text (its outbox)
                events += self._pending_knocks(room, info)
            for state_event in info.state:
                source = getattr(state_event, "source", {}) or {}
                ts = source.get("origin_server_ts", 0)
                # state that changed while we were away: a join then is still a join
                if isinstance(ts, int) and ts > self.state.last_seen_ts:
                    translated = self._translate_event(room, state_event)
                    if translated is not None:
                        events.append(translated)
                    newest = max(newest, ts)
            if not handle_timeline:
                self._known_rooms.add(room_id)
                continue
            # A room joined during this run starts with history from before the bot was
            # there (its creator's join, say): that is not news and nobody is reminded of it.
            since_ts = 0 if room_id in self._known_rooms else self._own_join_ts(info)
            self._known_rooms.add(room_id)
            for timeline_event in info.timeline.events:
                ts = getattr(timeline_event, "server_timestamp", 0) or 0
                newest = max(newest, ts)
                if ts < since_ts:
                    continue
                translated = self._translate_event(room, timeline_event)
                if translated is not None:
                    events.append(translated)
        return _Batch(events, response.next_batch, newest)

    def _pending_knocks(self, room: Room, info: Any) -> list[Event]:
        sources = [getattr(e, "source", None) or {} for e in [*info.state, *info.timeline.events]]
        found: list[Event] = []
        for source in read_gate.pending_knocks(room, sources, self.user_id):
            asked = read_gate.knock(room, source, self.user_id)
            if asked is not None and self._once(source.get("event_id")):
                found.append(asked)
        return found

    def _known_room(self, room_id: str) -> Room | None:
        """A room the bot is in, as the core knows rooms (name, alias)."""
        matrix_room = self.client.rooms.get(room_id) if self.client is not None else None
        return None if matrix_room is None else self._room(matrix_room)

    def _room_members(self, room: Room, matrix_room: MatrixRoom) -> RoomMembers:
        invited = set(matrix_room.invited_users)
        members = tuple(
            Member(PLATFORM, user_id, display_name=user.display_name)
            for user_id, user in sorted(matrix_room.users.items())
            if user_id != self.user_id and user_id not in invited
        )
        return RoomMembers(room, members, self.clock.now())

    def _created_by_me(self, info: Any) -> bool:
        """Rooms the bot created are its private chats: nothing to enforce there."""
        return any(
            isinstance(event, RoomCreateEvent) and event.sender == self.user_id
            for event in [*info.state, *info.timeline.events]
        )

    def _own_join_ts(self, info: Any) -> int:
        for event in info.timeline.events:
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "join"
            ):
                return int(event.server_timestamp or 0)
        return 2**62  # the join is not in this batch: treat all of it as history

    def _once(self, event_id: str | None) -> bool:
        """True the first time an event id is seen (state and timeline can overlap)."""
        if not event_id:
            return True
        if event_id in self._seen_events:
            return False
        self._seen_events[event_id] = None
        while len(self._seen_events) > 10_000:
            self._seen_events.popitem(last=False)
        return True

    def _translate_event(self, room: Room, event: Any) -> Event | None:
        source = getattr(event, "source", None) or {}
        if not self._once(source.get("event_id") or getattr(event, "event_id", None)):
            return None
        if (
            read_gate.settings_changed(room, source, self.user_id)
            and room.id in self._checked_rooms
        ):
            self._to_check.append(room)  # checked again: the core asks for CheckReadGate
        if isinstance(event, RoomMemberEvent):
            knocked = read_gate.knock(room, source, self.user_id)
            if knocked is not None:
                return knocked
            if event.state_key in self.chats.members_of(room.id):
                self._note_dm_membership(room.id, event.state_key, event.membership)
            return translate.member_event(room, source, self.user_id)
        if isinstance(event, RedactionEvent):
            if event.sender == self.user_id:
                return None
            at = translate.event_time(source)
            return MessageDeleted(room, event.redacts, at)
        if isinstance(event, MegolmEvent):
            # Only metadata: which room, who, which session. Never a body (there is none).
            log.warning(
                "matrix: could not decrypt an event in %s from %s (session %s)",
                room.id,
                event.sender,
                event.session_id,
            )
            return None
        if isinstance(event, RoomMessageText | RoomMessageNotice | RoomMessageEmote):
            if event.sender == self.user_id or isinstance(event, RoomMessageNotice):
                return None  # notices are what bots send; never answer another bot
            # a decrypted event's source is the decrypted payload: sender and ids come
            # from the event object
            source = dict(source)
            source.setdefault("origin_server_ts", event.server_timestamp)
            source.setdefault("sender", event.sender)
            source.setdefault("event_id", event.event_id)
            translated = translate.message_event(room, source, self.user_id, body=event.body)
            if isinstance(translated, MessagePosted):
                return self._command_or_message(translated)
            return translated
        return None

    def _command_or_message(self, posted: MessagePosted) -> Event:
        prefix = self.config.command_prefix
        asked = read_gate.join_request(posted, prefix)
        if asked is not None:
            return asked  # type: ignore[return-value]  # resolved in _deliver
        text = posted.text.strip()
        parsed = self.registry.parse_text(text, prefix)
        if parsed is not None:
            return CommandInvoked(
                posted.room,
                posted.author,
                parsed.spec.name,
                posted.at,
                argv=parsed.argv,
                links=posted.links,
            )
        unknown = self.registry.unknown_command(text, prefix)
        if unknown is not None:
            argv = self.registry.words_after(text, prefix, unknown)
            return CommandInvoked(posted.room, posted.author, unknown, posted.at, argv=argv)
        if posted.room.is_private_chat:
            return PrivateReply(
                posted.room, posted.author, posted.text, posted.at, message_id=posted.message_id
            )
        return posted

    def _translate_invite(self, room_id: str, invite_state: list[Any]) -> list[Event]:
        """An invite for the core to accept or decline; invites from servers outside
        ``allowed_servers`` are declined here and never reach the core."""
        assert self.client is not None
        if room_id in self._invites_seen:
            return []
        self._invites_seen.add(room_id)
        invited = self.client.invited_rooms.get(room_id)
        inviter_id = getattr(invited, "inviter", None) or ""
        is_direct = any(
            isinstance(event, InviteMemberEvent)
            and event.state_key == self.user_id
            and bool((event.content or {}).get("is_direct"))
            for event in invite_state
        )
        room = Room(
            PLATFORM,
            room_id,
            name=getattr(invited, "name", None),
            aliases=tuple(a for a in [getattr(invited, "canonical_alias", None)] if a),
            is_private_chat=is_direct,
        )
        server = inviter_id.split(":", 1)[1] if ":" in inviter_id else ""
        allowed = self.config.allowed_servers
        if allowed and server not in allowed:
            log.info("matrix: declining an invite from a server not in allowed_servers")
            self._declines.append(room_id)
            return []
        if is_direct and inviter_id:
            self.chats.remember(inviter_id, room_id)
        return [InvitedToRoom(room, Member(PLATFORM, inviter_id), self.clock.now())]

    def _room(self, matrix_room: MatrixRoom) -> Room:
        aliases = tuple(a for a in [matrix_room.canonical_alias] if a)
        return Room(
            PLATFORM,
            matrix_room.room_id,
            name=matrix_room.name or matrix_room.canonical_alias or None,
            aliases=aliases,
            is_private_chat=self.chats.is_private(matrix_room.room_id),
        )

    async def _permissions(self, room: Room) -> BotPermissions | None:
        """Checked on the homeserver's current power levels, once per room and run, so the
        moderators learn at start what the bot cannot enforce.

        Only facts, quietly: whether a lacking power matters depends on what the room is
        for (an alert room or a watched room needs none), which the core knows and the
        adapter does not, so the core words the complaint (bot/room_admin.py)."""
        assert self.client is not None
        if self.chats.is_private(room.id) or self.spares.owns(room.id):
            return None  # a private chat of the bot's, or one made ahead: nothing to enforce
        response = await self.client.room_get_state_event(room.id, "m.room.power_levels")
        if isinstance(response, RoomGetStateEventResponse):
            content = response.content
        else:
            log.info("matrix: cannot read power levels in %s: %s", room.id, response)
            content = {}
        powers = powers_of(content, self.user_id)
        if powers.missing:
            log.debug("matrix: in %s I lack %s", room.id, "; ".join(powers.missing))
        return BotPermissions(
            room, powers.can_delete, powers.can_restrict_posting, self.clock.now(), powers.missing
        )

    # -- private chats -------------------------------------------------------------------------
    def _note_dm_membership(self, room_id: str, user_id: str, membership: str) -> None:
        if membership == "join":
            before = len(self.state.pending_invites)
            self.state.pending_invites = [
                p
                for p in self.state.pending_invites
                if not (p.room_id == room_id and p.member_id == user_id)
            ]
            if len(self.state.pending_invites) != before:
                self.state.save(self.session_path)
        elif membership in {"leave", "ban"}:
            self.chats.forget(user_id, room_id)

    async def _wait_for_room(
        self, room_id: str, member_id: str | None = None, timeout: float = 30.0
    ) -> None:
        """room_create does not add the room to nio's state; a later sync does (and the
        member's invite may come one sync after the room itself)."""
        assert self.client is not None
        client = self.client

        def ready() -> bool:
            room = client.rooms.get(room_id)
            return (
                room is not None
                and (member_id is None or member_id in room.users)
                and (member_id is None or not self.encryption or room.encrypted)
            )

        async with self._synced:
            await asyncio.wait_for(self._synced.wait_for(ready), timeout)

    async def _invite_watch_loop(self) -> None:
        """Reports private chats whose invitation was not accepted in time."""
        while True:
            await asyncio.sleep(1.0)
            now = time.time()
            due = [p for p in self.state.pending_invites if p.deadline <= now]
            if not due:
                continue
            for pending in due:
                found = self.chats.usable(pending.member_id)
                joined = found is not None and found[0] == pending.room_id and found[1]
                if not joined:
                    await self._deliver(
                        PrivateMessageUnread(
                            Member(PLATFORM, pending.member_id),
                            pending.idempotency_key,
                            self.clock.now(),
                        )
                    )
            self.state.pending_invites = [p for p in self.state.pending_invites if p.deadline > now]
            self.state.save(self.session_path)

    # -- actions -------------------------------------------------------------------------------
    async def perform(self, action: Action) -> None:
        """An action cut off by a homeserver outage waits for the homeserver to be back (a
        sync that succeeds again) and is tried once more, instead of waiting for the core's
        periodic resend a minute or two later. Sends carry transaction ids, so a send that
        did arrive before the connection broke is not shown twice."""
        if self.client is None:
            raise MatrixError("the Matrix adapter is not started")
        private = isinstance(action, SendPrivate)
        async with self.backlog.sending_one() if private else contextlib.nullcontext():
            await self._perform_through_outages(action)
        self.chats.save_soon()  # after the action: the member's gate goes first

    async def _perform_through_outages(self, action: Action) -> None:
        for attempt in range(1 + OUTAGE_RETRIES):
            try:
                if self.gate.handles(action):
                    await self.gate.perform(action)
                else:
                    await self.outbound.perform(action)
                break
            except (aiohttp.ClientConnectionError, TimeoutError) as error:
                if attempt == OUTAGE_RETRIES:
                    raise
                log.info(
                    "matrix: %s waits for the homeserver (%s)",
                    type(action).__name__,
                    type(error).__name__,
                )
                await self.wait_for_sync(1, timeout=OUTAGE_WAIT_S)

    def _note_pending_invite(self, pending: PendingInvite) -> None:
        self.state.pending_invites.append(pending)
        self.state.save(self.session_path)


def _lane(event: Event) -> str:
    """Who an event is about: its events must be handled in order."""
    for attribute in ("member", "author", "invoker", "inviter"):
        person = getattr(event, attribute, None)
        if isinstance(person, Member):
            return f"member:{person.id}"
    room = getattr(event, "room", None)
    return f"room:{room.id}" if isinstance(room, Room) else "other"
