"""Posting holds, read-gate access and alerts in a server on another shard, over REST alone.

With the bot sharded across processes, a member's direct messages reach shard 0's process
only (https://discord.com/developers/docs/events/gateway#sharding), whatever server they
joined. When they agree there, the hold on posting in their server's channel must be lifted
by this process, which has no gateway view (no cache) of a server on another shard. REST is
not sharded: the channel's overwrites and the member are read from it, and only the posting
bits of the member's overwrite change, exactly as for a server in the cache
(``translate.posting_overwrite``). Discord checks the bot's permissions itself: a 403 is a
refusal the core hears of, as for a cached server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord

from bot.actions import ActionNotSupported, ActionRefused
from bot.events import Member, Room
from bot.i18n import Phrase, t

from .translate import posting_overwrite, snowflake

THREAD_TYPES = frozenset({10, 11, 12})  # announcement, public and private threads
# Channels that take messages (text, voice and stage text chat, announcement, threads); a
# forum or media channel takes posts only (https://discord.com/developers/docs/resources/channel#channel-object-channel-types).
MESSAGE_TYPES = frozenset({0, 2, 5, 10, 11, 12, 13})
MEMBER_OVERWRITE = 1  # an overwrite's type: 0 a role, 1 a member


@dataclass(frozen=True)
class Reasons:
    """What a read gate's grant or revocation writes in the server's audit log, and which
    bits of the member's overwrite it gives (read_gate.py owns both)."""

    grant: str
    revoke: str
    bits: tuple[str, ...]


def member_overwrite(channel: dict[str, Any], member_id: int) -> discord.PermissionOverwrite:
    """The member's own overwrite in a channel as Discord sent it (empty if none)."""
    raw = next(
        (
            o
            for o in channel.get("permission_overwrites", [])
            if int(o["id"]) == member_id and int(o["type"]) == MEMBER_OVERWRITE
        ),
        None,
    )
    if raw is None:
        return discord.PermissionOverwrite()
    return discord.PermissionOverwrite.from_pair(
        discord.Permissions(int(raw["allow"])), discord.Permissions(int(raw["deny"]))
    )


class OtherShards:
    """Server actions the process cannot take from its cache (see the module doc)."""

    def __init__(
        self,
        client: discord.Client,
        configured: Callable[[int], bool],
        *,
        posting_reason: str,
        role_reason: str,
    ) -> None:
        self.client = client
        self.configured = configured  # a server this deployment serves (on any shard)
        self.posting_reason = posting_reason
        self.role_reason = role_reason

    async def _channel(self, room: Room) -> dict[str, Any]:
        """The room's channel as Discord sends it; for a thread its parent, whose overwrites
        the thread follows."""
        for raw in (room.id, room.parent_id):
            channel_id = snowflake(raw) if raw is not None else None
            if channel_id is None:
                continue
            try:
                data: dict[str, Any] = dict(await self.client.http.get_channel(channel_id))
                if data.get("type") in THREAD_TYPES and data.get("parent_id"):
                    data = dict(await self.client.http.get_channel(int(data["parent_id"])))
            except discord.NotFound:
                continue
            guild_id = data.get("guild_id")
            if guild_id is not None and self.configured(int(guild_id)):
                return data
        raise ActionNotSupported(f"no channel {room.id} in a served server")

    async def alert_channel(self, selector: str) -> discord.PartialMessageable | None:
        """A moderators' room named by id in a served server on another shard (a contact
        request from a check-in in DMs, which reach shard 0): sent to by id over REST. A
        room named by name is looked up among this process's servers only."""
        channel_id = snowflake(selector.lstrip("#"))
        if channel_id is None:
            return None
        try:
            data = await self.client.http.get_channel(channel_id)
        except (discord.NotFound, discord.Forbidden):
            return None
        guild_id = data.get("guild_id")
        if guild_id is None or not self.configured(int(guild_id)):
            return None
        if data.get("type") not in MESSAGE_TYPES:
            return None
        return self.client.get_partial_messageable(channel_id, guild_id=int(guild_id))

    async def _is_member(self, guild_id: int, member_id: int) -> bool:
        try:
            await self.client.http.get_member(guild_id, member_id)
        except discord.NotFound:
            return False
        return True

    async def set_posting(self, room: Room, member: Member, allowed: bool) -> None:
        channel = await self._channel(room)
        channel_id, guild_id = int(channel["id"]), int(channel["guild_id"])
        member_id = snowflake(member.id)
        if member_id is None or not await self._is_member(guild_id, member_id):
            return  # no longer in the server: nothing to allow or block
        changed, overwrite = posting_overwrite(member_overwrite(channel, member_id), allowed)
        if changed:
            await self._put_overwrite(channel_id, member_id, overwrite, t(self.posting_reason))

    async def set_access(
        self, room: Room, member: Member, allowed: bool, role_id: int | None, reasons: Reasons
    ) -> None:
        """A read-gated channel's access (``GrantAccess``/``RevokeAccess``) in a server on
        another shard: the agreed role, or the member's own overwrite with only the granted
        bits changed, as read_gate.py does for a server in the cache. A View Channel deny
        for the member is a removal, which agreeing never lifts. Discord refuses (403) what
        the bot may not give; the core hears it as a refusal, so nobody is told they can
        read what they cannot."""
        channel = await self._channel(room)
        channel_id, guild_id = int(channel["id"]), int(channel["guild_id"])
        member_id = snowflake(member.id)
        if member_id is None or not await self._is_member(guild_id, member_id):
            raise ActionNotSupported(f"{member.id} is no longer in server {guild_id}")
        current = member_overwrite(channel, member_id)
        if allowed and current.view_channel is False:
            raise ActionRefused(
                Phrase(
                    "{member} was removed from {channel} (a View Channel deny for them), "
                    "which stands until a moderator lifts it",
                    member=member.id,
                    channel=channel_id,
                )
            )
        reason = reasons.grant if allowed else reasons.revoke
        if role_id is not None:
            try:
                await self.set_role(room, member, allowed, role_id, reason=reason)
            except ActionNotSupported as error:
                raise ActionRefused(str(error)) from None
            return
        wanted = {bit: (True if allowed else None) for bit in reasons.bits}
        if not allowed:
            wanted = {bit: None for bit in reasons.bits if getattr(current, bit) is True}
        if all(getattr(current, bit) == value for bit, value in wanted.items()):
            return
        current.update(**wanted)
        await self._put_overwrite(
            channel_id, member_id, None if current.is_empty() else current, reason
        )

    async def _put_overwrite(
        self,
        channel_id: int,
        member_id: int,
        overwrite: discord.PermissionOverwrite | None,
        reason: str,
    ) -> None:
        http = self.client.http
        try:
            if overwrite is None:
                await http.delete_channel_permissions(channel_id, member_id, reason=reason)
            else:
                allow, deny = overwrite.pair()
                await http.edit_channel_permissions(
                    channel_id, member_id, str(allow.value), str(deny.value),
                    MEMBER_OVERWRITE, reason=reason,
                )
        except discord.Forbidden as error:
            raise ActionRefused(
                Phrase(
                    "Discord answered {code} to a permission change in {channel}",
                    code=error.code,
                    channel=channel_id,
                )
            ) from None

    async def set_role(
        self, room: Room, member: Member, allowed: bool, role_id: int, *, reason: str = ""
    ) -> None:
        channel = await self._channel(room)
        guild_id = int(channel["guild_id"])
        member_id = snowflake(member.id)
        if member_id is None:
            return
        http = self.client.http
        try:
            if allowed:
                await http.add_role(guild_id, member_id, role_id,
                                    reason=reason or t(self.role_reason))
            else:
                await http.remove_role(guild_id, member_id, role_id,
                                       reason=reason or t(self.role_reason))
        except discord.NotFound:
            return  # no longer in the server (or the role is gone: its own server reports it)
        except discord.Forbidden as error:
            raise ActionNotSupported(
                f"Discord answered {error.code} to role {role_id} in {guild_id}"
            ) from None
