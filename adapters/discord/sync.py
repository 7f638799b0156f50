"""Bringing the bot's view of a server back in line with Discord's.

Slash commands: Discord rate-limits command registration tightly (and every sync makes
clients refetch), so each start asks Discord what it has and PUTs only on a difference.
Asking Discord, rather than remembering a hash locally, also repairs commands someone
removed by hand.

Members: a RESUMEd gateway session is replayed everything it missed, but a new session
(a restart, an invalid session, a RESUME Discord refused) starts from a READY whose
GUILD_CREATE carries only the bot itself: without the presences intent Discord sends no
member list (https://discord.com/developers/docs/events/gateway-events#guild-create). The
whole list must be asked for (op 8, answered in chunks), and Discord answers only one such
request per guild every 30 s; a second gets a RATE_LIMITED dispatch and no chunks
(https://discord.com/developers/docs/change-log, "Introducing Rate Limit When Requesting
All Guild Members"). discord.py 2.7 has no parser for that dispatch (discord/gateway.py:
received_message logs "Unknown event"): its chunk request would wait forever, and its
start-up chunking gives up after 5 s and carries on with a partial cache.

So ``MembershipCatchUp`` asks for each served guild's whole list itself after every new
session, waits out a RATE_LIMITED answer and asks again, and only once it holds the whole
list reports, per text channel, who can see it (``RoomMembers``). The core compares that
with the last complete count it stored: what changed while the bot was not listening
becomes joins and leaves, and a partial cache is never compared as if it were complete.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from datetime import datetime
from typing import Any

import discord
from discord import app_commands

from bot.events import Event, RoomMembers

from .channels import covered_channels
from .translate import canonical_commands, member_of, room_for_id

log = logging.getLogger("confidant.discord")


async def sync_if_changed(
    client: discord.Client, tree: app_commands.CommandTree[discord.Client], guild: discord.Guild
) -> bool:
    """True if the server's commands were replaced; raises discord.HTTPException on failure."""
    if client.application_id is None:
        raise RuntimeError("the client has no application id before READY")
    translator = tree.translator  # localizations are part of what is compared (localize.py)
    commands = tree.get_commands(guild=guild)
    if translator is not None:
        wanted = [await command.get_translated_payload(tree, translator) for command in commands]
    else:
        wanted = [command.to_dict(tree) for command in commands]
    current = await client.http.get_guild_commands(client.application_id, guild.id)
    if canonical_commands(wanted) == canonical_commands(current):
        log.info("slash commands in guild %s are up to date", guild.id)
        return False
    await tree.sync(guild=guild)
    log.info("synced %d slash commands to guild %s", len(wanted), guild.id)
    return True


RATE_LIMITED_MARK = "RATE_LIMITED"
REQUEST_GUILD_MEMBERS = 8
LIST_ATTEMPTS = 6  # whole-list requests per guild and session before giving up
RETRY_MARGIN_S = 0.25  # added to Discord's retry_after


def chunk_timeout(guild: discord.Guild) -> float:
    """How long the chunks of one whole list may take (1000 members a chunk)."""
    return max(10.0, (guild.member_count or 0) / 2000)


def who_sees(
    guild: discord.Guild, me: int | None, members: Iterable[discord.Member] | None = None
) -> dict[int, list[discord.Member]]:
    """Which members can view each covered channel, from the cache only (no API calls), and one
    permission check per channel and set of roles rather than per member: members with the
    same roles see the same channels, unless a channel has an overwrite for them personally
    (the bot's posting holds are such) or they own the server. That keeps a count of a few
    thousand members in milliseconds. Members still in rules screening (pending) count: they
    can read what their roles show them; only posting waits for the screening
    (https://discord.com/developers/docs/resources/guild#membership-screening-object)."""
    everyone = guild.members if members is None else members
    with_roles = [(m, frozenset(r.id for r in m.roles)) for m in everyone if m.id != me]
    seen: dict[int, list[discord.Member]] = {}
    for channel in covered_channels(guild):
        personal = {t.id for t in channel.overwrites if not isinstance(t, discord.Role)}
        by_roles: dict[frozenset[int], bool] = {}
        visible: list[discord.Member] = []
        for member, roles in with_roles:
            if member.id in personal or member.id == guild.owner_id:
                can = channel.permissions_for(member).view_channel
            else:
                known = by_roles.get(roles)
                if known is None:
                    known = by_roles[roles] = channel.permissions_for(member).view_channel
                can = known
            if can:
                visible.append(member)
        seen[channel.id] = visible
    return seen


def _release_chunk_request(client: discord.Client, guild_id: int, nonce: str | None) -> None:
    """Let go of discord.py's request for a whole list Discord will not answer (rate
    limited, or timed out): discord.py keys it by guild and would otherwise hand every
    later ``Guild.chunk()`` the same unanswered request (discord/state.py: chunk_guild)."""
    state: Any = client._connection  # private: discord.py has no public way to drop it
    if nonce is not None:
        state.process_chunk_requests(guild_id, nonce, [], True)
    state._chunk_requests.pop(guild_id, None)


async def _nothing_also(guild: discord.Guild, members: list[discord.Member]) -> list[Event]:
    return []


class MembershipCatchUp:
    """Each new gateway session: the whole member list of every served guild, then one
    ``RoomMembers`` per text channel (see the module doc). A guild that arrives during a
    session (the bot is added, or it is available again after an outage) brings only the
    bot's own member too, and is asked for the same way.

    ``answered`` is set once every guild's first request got its answer (chunks, or a rate
    limit), which is as long as the adapter's start waits; ``known`` once every guild's
    whole list arrived in this session.
    """

    def __init__(
        self,
        serves: Callable[[int], bool],
        deliver: Callable[[Sequence[Event]], Awaitable[None]],
        clock: Callable[[], datetime],
    ) -> None:
        self._serves = serves
        self._deliver = deliver
        self._now = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._limited: dict[int, float] = {}  # guild id -> retry_after, from RATE_LIMITED
        self._live = False  # on_ready of the current session was seen
        self.answered = asyncio.Event()
        self.known = asyncio.Event()
        # Events owed for members a count brings in beyond who sees each channel (the read
        # gate's: joined while the bot was away), asked before the count is delivered, once
        # the servers are prepared (their read-gated channels known).
        self.also: Callable[[discord.Guild, list[discord.Member]], Awaitable[Sequence[Event]]]
        self.also = _nothing_also
        self.prepared = asyncio.Event()

    def session_connecting(self) -> None:
        """A new READY arrived: every request in flight belonged to the old session (its
        guilds are gone from the cache), and its guilds are not there to ask about yet."""
        self._live = False
        self.stop()

    def session_started(self, client: discord.Client) -> None:
        """The new session's guilds are in (on_ready): ask for each one's whole list."""
        self.stop()
        self.answered, self.known = asyncio.Event(), asyncio.Event()
        self._limited.clear()
        self._live = True
        guilds = [g for g in client.guilds if self._serves(g.id)]
        self._spawn(self._run(client, guilds, whole_session=True))

    def guild_arrived(
        self, client: discord.Client, guild: discord.Guild, *, cache_stale: bool
    ) -> None:
        """A guild joined, or available again after an outage (``cache_stale``: discord.py
        kept its old cache), mid-session; at start-up on_ready covers every guild."""
        if self._live and self._serves(guild.id):
            self._spawn(self._run(client, [guild], whole_session=False, prefer_sent=cache_stale))

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="discord-member-lists")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def raw_frame(self, client: discord.Client, frame: object) -> None:
        """Spot Discord's RATE_LIMITED answer to a whole-list request among the raw
        frames (only parsed when the name appears; never logged: frames hold text)."""
        if not isinstance(frame, str) or RATE_LIMITED_MARK not in frame:
            return
        try:
            payload = json.loads(frame)
            if payload.get("t") != RATE_LIMITED_MARK:
                return
            data = payload["d"]
            if data.get("opcode") != REQUEST_GUILD_MEMBERS:
                return
            guild_id = int(data["meta"]["guild_id"])
            retry_after = float(data["retry_after"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        self._limited[guild_id] = retry_after
        _release_chunk_request(client, guild_id, data["meta"].get("nonce"))

    async def _run(
        self,
        client: discord.Client,
        guilds: list[discord.Guild],
        *,
        whole_session: bool,
        prefer_sent: bool = False,
    ) -> None:
        for attempt in range(LIST_ATTEMPTS):
            waits: list[tuple[discord.Guild, float]] = []
            for guild in guilds:
                answer = await self._ask(client, guild)
                if client.get_guild(guild.id) is not guild:
                    return  # a new session replaced this guild's cache: its task takes over
                if isinstance(answer, float):
                    waits.append((guild, answer))
                else:
                    await self._report(client, guild, answer if prefer_sent else [])
            if whole_session:
                self.answered.set()
            if not waits:
                if whole_session:
                    self.known.set()
                return
            pause = max(w for _, w in waits) + RETRY_MARGIN_S
            log.info(
                "member list of %d guild(s) not complete (attempt %d); asking again in %.1f s",
                len(waits),
                attempt + 1,
                pause,
            )
            await asyncio.sleep(pause)
            guilds = [g for g, _ in waits]
        log.warning(
            "the member list of guild(s) %s never came whole; joins and leaves while the bot "
            "was not listening are not caught up there",
            ", ".join(str(g.id) for g in guilds),
        )

    async def _ask(
        self, client: discord.Client, guild: discord.Guild
    ) -> list[discord.Member] | float:
        """The whole list as Discord just sent it, or seconds to wait before asking again."""
        self._limited.pop(guild.id, None)
        try:
            fresh = await asyncio.wait_for(guild.chunk(), chunk_timeout(guild))
        except TimeoutError:
            _release_chunk_request(client, guild.id, None)
            log.warning("member list of guild %s did not arrive in time", guild.id)
            return RETRY_MARGIN_S
        limited = self._limited.pop(guild.id, None)
        if limited is not None:
            log.info("discord rate-limited the member list of guild %s", guild.id)
            return limited
        return fresh

    async def _report(
        self, client: discord.Client, guild: discord.Guild, fresh: list[discord.Member]
    ) -> None:
        """Counted from the cache, which a new session's READY emptied, so it holds the list
        as sent plus what live events changed since. ``fresh`` (the list as sent) is preferred
        only after an outage: discord.py then keeps its old cache and keeps a cached member as
        it was when a chunk repeats it (discord/state.py: ChunkRequest.add_members), so roles
        may be out of date there."""
        me = client.user.id if client.user is not None else None
        now = self._now()
        members = {m.id: m for m in guild.members}
        members.update((m.id, m) for m in fresh)
        events: list[Event] = []
        if self.also is not _nothing_also:
            await self.prepared.wait()  # set by the adapter right after preparing servers
            events += await self.also(guild, [m for m in members.values() if m.id != me])
        for channel_id, visible in who_sees(guild, me, members.values()).items():
            channel = guild.get_channel(channel_id)
            room = room_for_id(channel, channel_id)
            events.append(RoomMembers(room, tuple(member_of(m) for m in visible), now))
        log.info("member list of guild %s complete: %d members", guild.id, len(members))
        await self._deliver(events)
