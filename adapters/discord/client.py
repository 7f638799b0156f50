"""The Discord connection: a discord.Client that turns gateway events into core events, and
the Adapter that starts it, prepares each server and performs the core's actions.

discord.py owns the protocol (heartbeats, RESUME after a dropped socket, rate limits);
this module decides only which Discord happenings matter to the core and in what shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.actions import (
    Action,
    ActionNotSupported,
    ActionRefused,
    PrivateMessageNotNow,
    SendPrivate,
)
from bot.clock import Clock
from bot.commands import CommandSpec, Registry
from bot.config import DiscordConfig
from bot.events import (
    AdapterStatus,
    BotPermissions,
    ChoiceMade,
    CommandInvoked,
    Event,
    Member,
    MemberJoined,
    MemberLeft,
    MessageDeleted,
    Room,
)
from bot.i18n import Phrase
from bot.logs import fields
from bot.ports import Capabilities, EventSink

from .access import access_diff, overwrite_diff, visible_channels
from .channels import ThreadParents, covered_channels, is_covered_kind, kind_problems
from .command_mentions import CommandNames
from .commands import build_commands
from .components import CoreComponent
from .elsewhere import OtherShards
from .localize import CatalogTranslator
from .outbound import AUDIT_REASON, ROLE_REASON, Outbound
from .read_gate import ReadGate
from .replies import DEFER_AFTER_S, InteractionReplies
from .shards import ShardPlan
from .sync import MembershipCatchUp, sync_if_changed
from .translate import (
    PLATFORM,
    command_options,
    edit_event,
    guild_message_event,
    is_conversation,
    is_edit,
    lacking_abilities,
    linked_guilds,
    member_of,
    parse_message_links,
    permission_report,
    private_message_event,
    private_room,
    room_for_id,
    room_of,
    snowflake,
    text_of,
)

log = logging.getLogger("confidant.discord")

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0
_REMEMBERED_IDS = 4096
# Discord allows one IDENTIFY per 5 s (max_concurrency 1); discord.py waits that long before
# every re-IDENTIFY, which alone breaks the 5 s recovery target, so only what is left of it.
IDENTIFY_INTERVAL_S = 5.0
# The longest rate-limit wait taken inside one action. Discord's shared-scope 429s can ask
# for twenty minutes and more (docs: topics/rate-limits, "Exceeded Resource Rate Limit");
# discord.py would sleep that long in the call (discord/http.py: HTTPClient.request) with
# the core waiting on it. Past this it raises discord.RateLimited instead, and the action
# is not done now (30 s is the least discord.py accepts).
MAX_RATELIMIT_WAIT_S = 30.0
# A 5xx discord.py gives up on at once (503): tried again after these pauses, because the
# core's outbox would only resend a reminder a minute later.
SERVER_ERROR_RETRY_S = (0.5, 1.0, 2.0)
_RETRIED_BY_LIBRARY = frozenset({500, 502, 504, 524})  # discord.py retries these itself

PRIVILEGED_INTENTS_HELP = (
    "Discord refused the privileged gateway intents Confidant needs. In the Discord developer "
    "portal (https://discord.com/developers/applications) open this bot's application, go to "
    "Bot -> Privileged Gateway Intents, switch on 'Server Members Intent' and 'Message Content "
    "Intent', save, and start Confidant again."
)
BAD_TOKEN_HELP = (
    "Discord rejected the bot token. Copy it again from the developer portal "
    "(Bot -> Reset Token) into the config's adapters.discord.token."
)

# Library loggers that write whole request and gateway payloads (message text included) at
# DEBUG; Confidant's logs must never hold what members wrote, whatever the log level.
_PAYLOAD_LOGGERS = ("discord.http", "discord.gateway", "discord.webhook.async_")


class DiscordStartError(RuntimeError):
    """The adapter could not come up; the message says what the admin should do."""


def required_intents() -> discord.Intents:
    """Server Members (joins, roles) and Message Content (the gate) are privileged: they
    must be switched on in the developer portal, or Discord closes the gateway with 4014."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


def quiet_payload_logs() -> None:
    for name in _PAYLOAD_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)


class _RecentIds:
    """A bounded memory of handled ids: a gateway replay or a duplicate dispatch after a
    reconnect must not hold back (or delete) the same post twice."""

    def __init__(self, size: int = _REMEMBERED_IDS) -> None:
        self.size = size
        self._ids: OrderedDict[tuple[str, int], None] = OrderedDict()

    def first_time(self, kind: str, item_id: int) -> bool:
        key = (kind, item_id)
        if key in self._ids:
            return False
        self._ids[key] = None
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


class ConfidantClient(discord.Client):
    """Gateway events in, core events out: every handler builds its event(s) and hands them
    to the sink; none of them decides policy."""

    def __init__(
        self,
        *,
        registry: Registry,
        clock: Clock,
        serves: Callable[[int], bool],
        replies: InteractionReplies,
        identify_interval_s: float = IDENTIFY_INTERVAL_S,
        **options: Any,
    ) -> None:
        # The member list is asked for by MembershipCatchUp, which waits out Discord's
        # RATE_LIMITED answer; discord.py's own start-up chunking would give up after 5 s
        # and carry on with a partial cache. Debug events carry that answer's raw frame
        # (discord.py has no parser for it; see sync.py).
        options.setdefault("chunk_guilds_at_startup", False)
        options.setdefault("enable_debug_events", True)
        options.setdefault("max_ratelimit_timeout", MAX_RATELIMIT_WAIT_S)
        super().__init__(intents=required_intents(), **options)
        self.registry = registry
        self.clock = clock
        self.serves = serves
        self.replies = replies
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self)
        self.sink: EventSink | None = None
        self.became_ready = asyncio.Event()
        self.guild_joined: Callable[[discord.Guild], Awaitable[None]] | None = None
        self._recent = _RecentIds()
        self._in_flight: set[asyncio.Task[Any]] = set()
        # Private threads the bot opened to remind one member: not rooms of their own, so
        # adding the member there is not a join (which would remind them again). Kept in the
        # store (``remember_thread``) and read back at start, so a restart knows them too.
        self.reminder_threads: set[int] = set()
        self.forget_thread: Callable[[int], Awaitable[None]] | None = None
        self.threads = ThreadParents(self)
        # The names Discord clients show the bot's commands by, which its DMs name too:
        # typed there as text, they mean the declared command (command_mentions.py).
        self.command_names = CommandNames()
        self.connected = False  # the gateway is READY (or RESUMED) and not dropped since
        self.identify_interval_s = identify_interval_s
        self._last_identify: float | None = None
        self.catch_up = MembershipCatchUp(serves, self.deliver_all, clock.now)
        self.read_gate: ReadGate | None = None  # set by the adapter (its Outbound's)
        self.add_dynamic_items(CoreComponent)

    async def deliver(self, event: Event) -> None:
        if self.sink is None:
            log.debug("dropped %s: the adapter is not started", type(event).__name__)
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            await self.sink(event)
        finally:
            self._in_flight.discard(task)  # type: ignore[arg-type]

    async def finish_in_flight(self, timeout: float) -> None:
        """Let events already handed to the core finish (their actions may still be going
        out) before the store behind the sink is closed."""
        me = asyncio.current_task()
        pending = [t for t in self._in_flight if t is not me and not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    async def deliver_all(self, events: Sequence[Event]) -> None:
        for event in events:
            await self.deliver(event)

    def _is_me(self, user_id: int) -> bool:
        return self.user is not None and user_id == self.user.id

    def _is_own(self, message: discord.Message) -> bool:
        """The bot's posts, and its interaction responses (webhook messages whose webhook
        is this application): never a member's words."""
        return self._is_me(message.author.id) or (
            message.webhook_id is not None and message.webhook_id == self.application_id
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def on_ready(self) -> None:
        log.info(
            "discord gateway ready in %d guilds",
            len(self.guilds),
            extra=fields("adapter_connected", platform=PLATFORM, guilds=len(self.guilds)),
        )
        self.connected = True
        # a new session replays nothing and knows only the bot's own member: the whole
        # list is asked for, and what changed meanwhile comes from comparing it
        self.catch_up.session_started(self)
        self.became_ready.set()

    async def on_connect(self) -> None:
        """A new session's READY (discord.py dispatches this from it, not on RESUME)."""
        self.catch_up.session_connecting()

    async def on_resumed(self) -> None:
        log.info(
            "discord gateway session resumed",
            extra=fields("adapter_connected", platform=PLATFORM, resumed=True),
        )
        self.connected = True  # Discord replayed what was missed

    async def on_disconnect(self) -> None:
        """discord.py reconnects by itself; until READY or RESUMED the bot is deaf."""
        if self.connected:
            log.warning(
                "discord gateway disconnected; reconnecting",
                extra=fields("adapter_disconnected", platform=PLATFORM),
            )
        self.connected = False

    async def on_socket_raw_receive(self, frame: object) -> None:
        """Only to spot RATE_LIMITED (see MembershipCatchUp.raw_frame); never logged."""
        self.catch_up.raw_frame(self, frame)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Wait only for what is left of Discord's IDENTIFY interval (discord.py's default
        waits the whole 5 s before every re-IDENTIFY, however long ago the last one was)."""
        if self._last_identify is not None:
            wait = self._last_identify + self.identify_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_identify = time.monotonic()

    async def on_guild_available(self, guild: discord.Guild) -> None:
        self.catch_up.guild_arrived(self, guild, cache_stale=True)  # back after an outage

    async def on_guild_join(self, guild: discord.Guild) -> None:
        log.info("added to guild %s", guild.id)
        self.catch_up.guild_arrived(self, guild, cache_stale=False)
        if self.guild_joined is not None:
            await self.guild_joined(guild)

    # -- messages ----------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if self._is_own(message) or not self._recent.first_time("message", message.id):
            return
        now = self.clock.now()
        if message.guild is None:
            if message.author.bot:
                return
            event: Event = private_message_event(message, self.registry, now)
            if isinstance(event, CommandInvoked) and self.registry.get(event.name) is None:
                found = self.command_names.declared(event.name, event.argv)
                if found is not None:
                    event = replace(event, name=found[0], argv=found[1])
        elif self.serves(message.guild.id) and is_conversation(message):
            # a thread's message, and a link or forward out of a thread, count as its channel's
            event = await self.threads.message_event(
                guild_message_event(message, now), message.channel, referenced_guilds(message)
            )
        else:
            return
        log.debug("message %s -> %s", message.id, type(event).__name__)
        await self.deliver(event)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Only real edits: a link preview, a pin or a thread flag is an update too."""
        message = payload.message
        if (
            payload.guild_id is None
            or not self.serves(payload.guild_id)
            or "author" not in payload.data
            or self._is_own(message)
            or not is_conversation(message)
            or not is_edit(payload.data, message, payload.cached_message)
        ):
            return
        await self.deliver(edit_event(message, self.clock.now()))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is None or not self.serves(payload.guild_id):
            return
        # a thread the cache lost (archived) still belongs to its channel
        room = await self.threads.room_by_id(payload.channel_id)
        await self.deliver(MessageDeleted(room, str(payload.message_id), self.clock.now()))

    async def on_raw_bulk_message_delete(
        self, payload: discord.RawBulkMessageDeleteEvent
    ) -> None:
        """A purge (MESSAGE_DELETE_BULK, discord/state.py: parse_message_delete_bulk) is
        that many deletes: a purged rules message is posted again, a purged copy's flag
        says so, a purged confidential message's fingerprints go."""
        if payload.guild_id is None or not self.serves(payload.guild_id):
            return
        room = await self.threads.room_by_id(payload.channel_id)  # as for a single delete
        now = self.clock.now()
        await self.deliver_all(
            [MessageDeleted(room, str(i), now) for i in sorted(payload.message_ids)]
        )

    # -- commands ----------------------------------------------------------------------------

    async def invoke(
        self, spec: CommandSpec, interaction: discord.Interaction, values: Mapping[str, object]
    ) -> None:
        """A slash command: the core answers through the reply handle while this runs."""
        await self._answer(
            interaction,
            f"command {spec.name}",
            lambda room, member, handle: CommandInvoked(
                room,
                member,
                spec.name,
                self.clock.now(),
                options=command_options(values),
                reply_handle=handle,
                links=parse_message_links(" ".join(str(v) for v in values.values())),
                locale=interaction.locale.value,
            ),
        )

    async def choose(
        self, interaction: discord.Interaction, custom_id: str, values: tuple[str, ...]
    ) -> None:
        """A press on one of the core's buttons or selects: answered like a command."""
        await self._answer(
            interaction,
            "choice",
            lambda room, member, handle: ChoiceMade(
                room,
                member,
                custom_id,
                self.clock.now(),
                values=values,
                reply_handle=handle,
                locale=interaction.locale.value,
            ),
        )

    async def _answer(
        self,
        interaction: discord.Interaction,
        what: str,
        build: Callable[[Room, Member, str], CommandInvoked | ChoiceMade],
    ) -> None:
        """Once per interaction (a resumed gateway may replay it): open a reply handle,
        deliver the event, and close the handle whatever the core did."""
        if not self._recent.first_time("interaction", interaction.id):
            return
        if interaction.user.bot:  # never act for a bot, not even to say no
            log.info("ignored a %s by bot user %s", what, interaction.user.id)
            return
        handle = self.replies.open(interaction)
        log.info("%s by %s (interaction %s)", what, interaction.user.id, handle)
        handled = False
        try:
            room = self._interaction_room(interaction)
            await self.deliver(build(room, member_of(interaction.user), handle))
            handled = True
        finally:
            await self.replies.close(handle, answered_elsewhere=handled and what == "choice")

    def _interaction_room(self, interaction: discord.Interaction) -> Room:
        channel_id = interaction.channel_id or 0
        if interaction.guild_id is None:
            return private_room(channel_id, interaction.user)
        return room_for_id(self.get_channel(channel_id), channel_id)

    # -- membership --------------------------------------------------------------------------

    async def on_member_join(self, member: discord.Member) -> None:
        if self._is_me(member.id) or not self.serves(member.guild.id):
            return
        # Read-gated channels they cannot see are asked for; decided before the joins are
        # handled, which may change their roles (the cached member changes with them).
        gate = self.read_gate
        asks = gate.requests(member, None, "server_join", self.clock.now()) if gate else []
        # Still in rules screening (pending) a member reads what their roles show them,
        # so the reminder is due now, not when they pass (see access.visible_channels).
        await self._joined(visible_channels(member.guild, member), member)
        await self.deliver_all(asks)

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        if self._is_me(after.id) or not self.serves(after.guild.id):
            return
        if before.pending and not after.pending:  # they saw the same channels before
            log.info("member %s passed screening in guild %s", after.id, after.guild.id)
        if before.roles == after.roles:
            return
        gained, lost = access_diff(after.guild, before, after)
        # a role that shows a gated channel's category asks for it (decided first, as above)
        gate = self.read_gate
        asks = gate.requests(after, before, "role_gained", self.clock.now()) if gate else []
        await self._joined(gained, after)
        await self._left(lost, after)
        await self.deliver_all(asks)

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        if self._is_me(payload.user.id) or not self.serves(payload.guild_id):
            return
        guild = self.get_guild(payload.guild_id)
        if guild is None:
            return
        user = payload.user
        channels = (
            visible_channels(guild, user)
            if isinstance(user, discord.Member)
            else covered_channels(guild)
        )
        await self._left(channels, user)
        if self.read_gate is not None:
            await self.read_gate.forget_leaver(guild, user)

    async def on_guild_channel_update(
        self, before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        if not is_covered_kind(after) or not self.serves(after.guild.id):
            return
        members = [m for m in after.guild.members if not self._is_me(m.id)]
        gained, lost = overwrite_diff(before, after, members)
        room = room_of(after)
        now = self.clock.now()
        await self.deliver_all([MemberJoined(room, member_of(m), now) for m in gained])
        await self.deliver_all([MemberLeft(room, member_of(m), now) for m in lost])

    async def on_thread_member_join(self, thread_member: discord.ThreadMember) -> None:
        """Private threads are rooms of their own: being added is joining them. (Anyone who
        sees a public thread already sees its channel, whose joins cover them.)"""
        thread = thread_member.thread
        if thread.type is not discord.ChannelType.private_thread or not self.serves(
            thread.guild.id
        ):
            return
        if thread.id in self.reminder_threads:
            return
        await self.deliver(
            MemberJoined(room_of(thread), self._thread_member(thread_member), self.clock.now())
        )

    async def on_thread_member_remove(self, thread_member: discord.ThreadMember) -> None:
        thread = thread_member.thread
        if thread.type is not discord.ChannelType.private_thread or not self.serves(
            thread.guild.id
        ):
            return
        if thread.id in self.reminder_threads:
            return
        await self.deliver(
            MemberLeft(room_of(thread), self._thread_member(thread_member), self.clock.now())
        )

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A reminder thread someone deleted: its id is forgotten (memory and store)."""
        if payload.thread_id in self.reminder_threads:
            self.reminder_threads.discard(payload.thread_id)
            if self.forget_thread is not None:
                await self.forget_thread(payload.thread_id)

    def _thread_member(self, thread_member: discord.ThreadMember) -> Member:
        member = thread_member.thread.guild.get_member(thread_member.id)
        return member_of(member) if member is not None else Member(PLATFORM, str(thread_member.id))

    async def _joined(self, channels: Sequence[discord.abc.GuildChannel], member: Any) -> None:
        now = self.clock.now()
        await self.deliver_all([MemberJoined(room_of(c), member_of(member), now) for c in channels])

    async def _left(self, channels: Sequence[discord.abc.GuildChannel], member: Any) -> None:
        now = self.clock.now()
        await self.deliver_all([MemberLeft(room_of(c), member_of(member), now) for c in channels])


class BotThreadStore(Protocol):
    """What the adapter needs of ``bot.store.Store``: the ids of threads it opened."""

    async def add_bot_thread(self, platform: str, thread_id: str, at: datetime) -> None: ...

    async def bot_threads(self, platform: str) -> set[str]: ...

    async def forget_bot_thread(self, platform: str, thread_id: str) -> None: ...

    async def room_counted_at(self, platform: str, room_id: str) -> datetime | None: ...


def referenced_guilds(message: discord.Message) -> dict[str, int | None]:
    """The server of each channel a message's links and reference point into."""
    guilds: dict[str, int | None] = dict(linked_guilds(text_of(message)))
    ref = message.reference
    if ref is not None:
        guilds[str(ref.channel_id)] = ref.guild_id or (message.guild.id if message.guild else None)
    return guilds


class DiscordAdapter:
    platform = PLATFORM
    capabilities = Capabilities(
        ephemeral_replies=True,
        buttons=True,
        posting_permission=True,
        deletes=True,
        private_messages=True,
        command_prefix="/",
        checks_posts=True,
        command_names_by_locale=True,  # adapters/discord/localize.py
    )

    def __init__(
        self,
        config: DiscordConfig,
        registry: Registry,
        clock: Clock,
        *,
        ready_timeout: float = READY_TIMEOUT_S,
        defer_after: float = DEFER_AFTER_S,
        **client_options: Any,
    ) -> None:
        self.config = config
        self.ready_timeout = ready_timeout
        self._guild_ids = frozenset(int(g) for g in config.guild_ids)
        self.shards = ShardPlan(config.shard)
        # DMs reach shard 0 only: another shard's process resumes no check-in at its start
        self.capabilities = replace(
            DiscordAdapter.capabilities, private_messages_arrive=self.shards.hears_dms()
        )
        self.replies = InteractionReplies(defer_after)
        self.client = ConfidantClient(
            registry=registry,
            clock=clock,
            serves=self.serves,
            replies=self.replies,
            **self.shards.client_options(),
            **client_options,
        )
        self.commands = build_commands(registry, self.client.invoke)
        names = CommandNames.of(self.commands)  # named in texts as each reader's client shows
        self.replies.names = names
        self.client.command_names = names
        self.outbound = Outbound(
            self.client,
            self.replies,
            self.serves,
            clock=clock,
            report=self.client.deliver,
            reminder_threads=self.client.reminder_threads,
            remember_thread=self._remember_thread,
            elsewhere=self._other_shards(),
            command_names=names,
        )
        self.client.read_gate = self.outbound.read_gate
        self.client.catch_up.also = self.outbound.read_gate.missed_joins
        self._connection: asyncio.Task[None] | None = None
        self._prepared: set[int] = set()
        self._store: BotThreadStore | None = None
        self.client.forget_thread = self._forget_thread

    def use_store(self, store: BotThreadStore) -> None:
        """The App hands over its store: the ids of threads the bot opened live there, and
        when each channel was last counted (the read gate's joins while away)."""
        self._store = store
        self.outbound.read_gate.store = store

    def _other_shards(self) -> OtherShards | None:
        """Sharded, an agreement given in DMs (shard 0) may lift a hold in a server another
        process serves: done over REST (elsewhere.py)."""
        if self.shards.shard is None:
            return None
        return OtherShards(
            self.client,
            lambda guild_id: not self._guild_ids or guild_id in self._guild_ids,
            posting_reason=AUDIT_REASON,
            role_reason=ROLE_REASON,
        )

    async def _remember_thread(self, thread_id: int) -> None:
        if self._store is not None:
            await self._store.add_bot_thread(PLATFORM, str(thread_id), self.client.clock.now())

    async def _forget_thread(self, thread_id: int) -> None:
        if self._store is not None:
            await self._store.forget_bot_thread(PLATFORM, str(thread_id))

    def serves(self, guild_id: int) -> bool:
        """Configured servers only (none configured means every server the bot is in), and
        of those only the ones on this process's shard: another process serves the rest."""
        configured = not self._guild_ids or guild_id in self._guild_ids
        return configured and self.shards.owns(guild_id)

    # -- what this process's periodic jobs cover (bot/jobs.py's Serving) ----------------------

    def serves_room(self, room: Room) -> bool:
        """A room (channel or thread) of a server this process serves. A channel missing from
        the cache is on another shard's server (or gone): not this process's to remind in."""
        channel_id = snowflake(room.id)
        channel = self.client.get_channel(channel_id) if channel_id is not None else None
        guild = getattr(channel, "guild", None)
        return guild is not None and self.serves(guild.id)

    def job_scope(self) -> str:
        """Processes running the same shard share one lease for room work; each shard has its
        own, as its servers are nobody else's."""
        return self.shards.describe().replace(" ", "-")

    def receives_private_messages(self) -> bool:
        """Direct messages reach shard 0 only: member work (check-ins) is asked for there."""
        return self.shards.hears_dms()

    @property
    def connected(self) -> bool:
        """The gateway is up (see bot.ports.is_connected)."""
        return self.client.connected and not self.client.is_closed()

    # -- Adapter protocol ---------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Log in, connect in the background and return once READY with servers prepared."""
        quiet_payload_logs()
        self.client.sink = sink
        await self.client.tree.set_translator(CatalogTranslator())  # descriptions per locale
        if self._store is not None:  # before any THREAD_MEMBERS_UPDATE can arrive
            known = await self._store.bot_threads(PLATFORM)
            self.client.reminder_threads.update(int(t) for t in known if t.isdigit())
        try:
            await self.client.login(self.config.token.get_secret_value())
        except discord.LoginFailure:
            await self._close_client()
            raise DiscordStartError(BAD_TOKEN_HELP) from None
        except (discord.HTTPException, OSError) as error:  # aiohttp's connect errors are OSErrors
            await self._close_client()
            raise DiscordStartError(f"could not reach Discord to log in: {error}") from error
        self._connection = asyncio.create_task(
            self.client.connect(reconnect=True), name="discord-gateway"
        )
        self._connection.add_done_callback(_report_connection_end)
        ready = asyncio.create_task(self.client.became_ready.wait(), name="discord-ready")
        done, _ = await asyncio.wait(
            {ready, self._connection},
            timeout=self.ready_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if ready not in done:
            ready.cancel()
            error = _failure(self._connection)
            await self.stop()
            raise _start_error(error, self.ready_timeout)
        self.client.guild_joined = self._on_guild_join
        await self._prepare_guilds()
        self.client.catch_up.prepared.set()  # read-gated channels are known now
        # The member lists' first answers (whole lists, or Discord's rate limit after a
        # quick restart: then they follow in the background, and joins and leaves meanwhile
        # are caught up from the core's last complete count once they are in).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.client.catch_up.answered.wait(), self.ready_timeout)

    async def stop(self) -> None:
        """Stop taking events, let those the core is working on finish, then disconnect."""
        self.client.sink = None
        self.client.catch_up.stop()
        await self.client.finish_in_flight(STOP_TIMEOUT_S)
        await self.replies.close_all()
        await self.outbound.close()
        await self._close_client()
        task, self._connection = self._connection, None
        if task is not None and not task.done():
            # wait_for cancels the task on timeout; a failure was logged by its done callback
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, STOP_TIMEOUT_S)

    async def perform(self, action: Action) -> None:
        """Carry out one action; a server error discord.py does not retry itself is tried
        again a few times (a 503 usually means the request never reached Discord)."""
        for pause in (*SERVER_ERROR_RETRY_S, None):
            try:
                await self.outbound.perform(action)
                return
            except discord.Forbidden as error:
                # a 403 the action's own code did not expect: refused, never done
                raise ActionRefused(
                    Phrase(
                        "Discord answered {code} to {action}",
                        code=error.code,
                        action=type(action).__name__,
                    )
                ) from None
            except discord.RateLimited as limited:
                # a long (shared-scope) rate limit: not now, rather than a 20-minute hang
                wait = f"rate limited for {limited.retry_after:.0f} s"
                if isinstance(action, SendPrivate):
                    raise PrivateMessageNotNow(wait) from None
                raise ActionNotSupported(f"{type(action).__name__} not done now: {wait}") from None
            except discord.DiscordServerError as error:
                if pause is None or error.status in _RETRIED_BY_LIBRARY:
                    raise
                log.warning(
                    "discord answered %s to %s; trying again in %.1f s",
                    error.status,
                    type(action).__name__,
                    pause,
                )
                await asyncio.sleep(pause)

    # -- preparing servers ------------------------------------------------------------------------

    async def _close_client(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()

    async def _on_guild_join(self, guild: discord.Guild) -> None:
        if not self.serves(guild.id):
            return
        problems = await self._prepare_guild(guild)
        if problems:
            await self.client.deliver(
                AdapterStatus(PLATFORM, tuple(problems), self.client.clock.now())
            )

    async def _prepare_guilds(self) -> None:
        present = {g.id for g in self.client.guilds}
        problems = [
            Phrase(
                "the bot is not in the Discord server {guild}; invite it with the link in the "
                "docs",
                guild=gid,
            )
            for gid in sorted(self._guild_ids - present)
            if self.shards.owns(gid)  # another shard's servers are not in this session
        ]
        for guild in self.client.guilds:
            if self.serves(guild.id):
                problems += await self._prepare_guild(guild)
        if problems:
            await self.client.deliver(
                AdapterStatus(PLATFORM, tuple(problems), self.client.clock.now())
            )

    async def _prepare_guild(self, guild: discord.Guild) -> list[str]:
        """Commands for this server (synced only if changed), then what the bot may do in
        each channel, reported to the core, which alerts moderators of covered rooms."""
        problems: list[str] = []
        if guild.id not in self._prepared:
            for command in self.commands:
                self.client.tree.add_command(command, guild=guild, override=True)
            self._prepared.add(guild.id)
        try:
            await sync_if_changed(self.client, self.client.tree, guild)
        except discord.HTTPException as error:
            log.warning("command sync failed in guild %s: %s", guild.id, error.status)
            problems.append(
                Phrase(
                    "slash commands could not be registered in {guild} ({status}); invite the "
                    "bot with the 'applications.commands' scope",
                    guild=guild.name,
                    status=error.status,
                )
            )
        now = self.client.clock.now()
        events: list[Event] = []
        for channel in covered_channels(guild):
            perms = channel.permissions_for(guild.me)
            can_delete, can_restrict, missing = permission_report(channel.name, perms)
            missing += kind_problems(channel, guild.me)
            lacking = lacking_abilities(channel.name, perms)
            events.append(
                BotPermissions(room_of(channel), can_delete, can_restrict, now, missing, lacking)
            )
        await self.client.deliver_all(events)
        return problems


def _failure(task: asyncio.Task[None]) -> BaseException | None:
    if not task.done() or task.cancelled():
        return None
    return task.exception()


def _start_error(error: BaseException | None, timeout: float) -> DiscordStartError:
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return DiscordStartError(PRIVILEGED_INTENTS_HELP)
    if isinstance(error, discord.LoginFailure):
        return DiscordStartError(BAD_TOKEN_HELP)
    if error is not None:
        return DiscordStartError(f"the Discord connection failed: {type(error).__name__}: {error}")
    return DiscordStartError(f"Discord did not become ready within {timeout:g} s")


def _report_connection_end(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.error("the Discord connection ended: %s", type(error).__name__)
