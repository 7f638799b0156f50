"""Who can see which channel, from discord.py's cache and its permission maths.

On Discord "joining a room" is gaining the View Channel permission in it: by joining the
server (screening pending or not), being given a role, a channel overwrite changing, or
being added to a private thread. These helpers compute that from cached state only, so the
adapter can turn every such change into MemberJoined / MemberLeft without extra API calls.
"""

from __future__ import annotations

from collections.abc import Iterable

import discord

from .channels import covered_channels
from .translate import affected_by, changed_overwrite_targets


def visible_channels(
    guild: discord.Guild, member: discord.Member
) -> list[discord.abc.GuildChannel]:
    """Covered channels (text, voice, stage, forum) ``member`` can view. A member still in
    rules screening (``pending``) counts: Discord lets them read the channels their roles
    show and holds back only talking
    (https://discord.com/developers/docs/resources/guild#membership-screening-object:
    "before they become full members that can talk"), so the reminder is due when they can
    see the channel, not when they pass screening."""
    return [c for c in covered_channels(guild) if c.permissions_for(member).view_channel]


def access_diff(
    guild: discord.Guild, before: discord.Member, after: discord.Member
) -> tuple[list[discord.abc.GuildChannel], list[discord.abc.GuildChannel]]:
    """(gained, lost) channels between two states of one member (their roles)."""
    old = {c.id for c in visible_channels(guild, before)}
    new_channels = visible_channels(guild, after)
    new = {c.id for c in new_channels}
    gained = [c for c in new_channels if c.id not in old]
    lost = [c for c in visible_channels(guild, before) if c.id not in new]
    return gained, lost


def overwrite_diff(
    before: discord.abc.GuildChannel,
    after: discord.abc.GuildChannel,
    members: Iterable[discord.Member],
) -> tuple[list[discord.Member], list[discord.Member]]:
    """(gained, lost) members of one channel whose overwrites changed.

    Only members touched by a changed overwrite are checked (all of them only when the
    @everyone overwrite changed), so the bot's own per-member posting overwrites cost one
    permission check, not one per member of the server.
    """
    targets = changed_overwrite_targets(before.overwrites, after.overwrites)
    if not targets:
        return [], []
    everyone = after.guild.id
    gained: list[discord.Member] = []
    lost: list[discord.Member] = []
    for member in members:
        role_ids = [r.id for r in member.roles]
        if not affected_by(targets, everyone, member.id, role_ids):
            continue
        could = before.permissions_for(member).view_channel
        can = after.permissions_for(member).view_channel
        if can and not could:
            gained.append(member)
        elif could and not can:
            lost.append(member)
    return gained, lost
