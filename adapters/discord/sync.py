"""Bringing the bot's view of a server back in line with Discord's.

Slash commands: Discord rate-limits command registration tightly (and every sync makes
clients refetch), so each start asks Discord what it has and PUTs only on a difference.
Asking Discord, rather than remembering a hash locally, also repairs commands someone
removed by hand.

Members: a RESUMEd gateway session is replayed everything it missed, but a new session
(after an invalid session, or a RESUME Discord refused) starts from a fresh READY that
replays nothing: a member who joined, left or got a role in between shows up only as a
different member list. ``MembershipCatchUp`` compares who could see which channel when the
connection dropped with who can once the new session is ready, and turns the difference
back into the joins and leaves the core would have been told about. The core's store then
decides, as for any join, whether a reminder is still owed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import discord
from discord import app_commands

from bot.events import Event, Member, MemberJoined, MemberLeft

from .channels import covered_channels, is_covered_kind
from .translate import PLATFORM, canonical_commands, member_of, room_for_id

log = logging.getLogger("confidant.discord")


async def sync_if_changed(
    client: discord.Client, tree: app_commands.CommandTree[discord.Client], guild: discord.Guild
) -> bool:
    """True if the server's commands were replaced; raises discord.HTTPException on failure."""
    if client.application_id is None:
        raise RuntimeError("the client has no application id before READY")
    wanted = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    current = await client.http.get_guild_commands(client.application_id, guild.id)
    if canonical_commands(wanted) == canonical_commands(current):
        log.info("slash commands in guild %s are up to date", guild.id)
        return False
    await tree.sync(guild=guild)
    log.info("synced %d slash commands to guild %s", len(wanted), guild.id)
    return True


# Which members (ids) can view each text channel (id) of the served servers.
Presence = dict[int, frozenset[int]]


def who_sees_what(client: discord.Client, serves: Callable[[int], bool]) -> Presence:
    """From the cache only (no API calls), and one permission check per channel and set of
    roles rather than per member: members with the same roles see the same channels, unless
    a channel has an overwrite for them personally (the bot's posting holds are such) or they
    own the server. That keeps a snapshot of a few thousand members in milliseconds."""
    me = client.user.id if client.user is not None else None
    seen: Presence = {}
    for guild in client.guilds:
        if not serves(guild.id):
            continue
        members = [
            (m, frozenset(r.id for r in m.roles)) for m in guild.members
            if m.id != me and not m.pending
        ]
        for channel in covered_channels(guild):
            personal = {t.id for t in channel.overwrites if not isinstance(t, discord.Role)}
            by_roles: dict[frozenset[int], bool] = {}
            visible: list[int] = []
            for member, roles in members:
                if member.id in personal or member.id == guild.owner_id:
                    can = channel.permissions_for(member).view_channel
                else:
                    known = by_roles.get(roles)
                    if known is None:
                        known = by_roles[roles] = channel.permissions_for(member).view_channel
                    can = known
                if can:
                    visible.append(member.id)
            seen[channel.id] = frozenset(visible)
    return seen


class MembershipCatchUp:
    """The membership a new gateway session must be compared with (see the module doc).

    The snapshot is taken when the connection drops, while discord.py's cache still holds
    the old session's view (a new READY clears it); a RESUME makes it moot, because Discord
    replays the missed events themselves.
    """

    def __init__(self, serves: Callable[[int], bool]) -> None:
        self._serves = serves
        self._before: Presence | None = None
        self._settled = False  # the cache is a whole session's view (READY or RESUMED seen)

    def connection_lost(self, client: discord.Client) -> None:
        # A second drop before the next READY keeps the first snapshot: the cache has not
        # been rebuilt since, or is half rebuilt, and the first one is the last whole view.
        if self._settled and not client.is_closed():
            self._before = who_sees_what(client, self._serves)
            self._settled = False

    def resumed(self) -> None:
        self._before, self._settled = None, True

    def ready(self, client: discord.Client, now: datetime) -> list[Event]:
        """The joins and leaves a new session's READY implies; none at the first READY
        (what happened before this process started is not known here)."""
        before, self._before = self._before, None
        self._settled = True
        if before is None:
            return []
        after = who_sees_what(client, self._serves)
        events: list[Event] = []
        for channel_id, members in after.items():
            channel = client.get_channel(channel_id)
            if not is_covered_kind(channel):
                continue
            room = room_for_id(channel, channel_id)
            for member_id in sorted(members - before.get(channel_id, frozenset())):
                member = channel.guild.get_member(member_id)
                if member is not None:
                    events.append(MemberJoined(room, member_of(member), now))
        for channel_id, members in before.items():
            room = room_for_id(client.get_channel(channel_id), channel_id)
            for member_id in sorted(members - after.get(channel_id, frozenset())):
                events.append(MemberLeft(room, Member(PLATFORM, str(member_id)), now))
        if events:
            log.info("caught up %d membership changes missed between sessions", len(events))
        return events
