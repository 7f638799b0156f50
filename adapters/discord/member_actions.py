"""The core's consequences for a repeat leaker on Discord: a timeout, a removal.

A timeout is Discord's own (Modify Guild Member's ``communication_disabled_until``), which
needs Moderate Members (1 << 40): the README invite link does not ask for it, so an admin who
sets ``leaks: repeat: action: timeout`` grants it to the bot's role. Without it the bot does
not try (each refused request counts against it): the core hears ActionRefused and the
moderators are told once. A removal is a per-member View Channel deny on the room's channel.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from bot.actions import ActionNotSupported, ActionRefused
from bot.events import Member, Room
from bot.i18n import N_, Phrase, t

if TYPE_CHECKING:
    from .outbound import Outbound

log = logging.getLogger("confidant.discord")

# Read by moderators in the server's audit log: said (t) where used.
TIMEOUT_REASON = N_("Confidant: repeat leaks of a confidential room (confirmed by moderators)")
REMOVE_REASON = N_("Confidant: removed from a confidential room after repeat leaks")


async def timeout(out: Outbound, room: Room, member: Member, until: datetime | None) -> None:
    channel = out._guild_channel(room)
    if channel is None:
        raise ActionNotSupported(f"no Discord channel {room.id} in a served server")
    if not channel.guild.me.guild_permissions.moderate_members:
        raise ActionRefused(
            Phrase("no Moderate Members permission in {guild}", guild=channel.guild.id)
        )
    target = await out._member(channel.guild, member)
    if target is None:
        return  # no longer in the server
    try:
        await target.edit(timed_out_until=until, reason=t(TIMEOUT_REASON))
    except discord.Forbidden as error:
        raise ActionRefused(
            Phrase(
                "Discord answered {code} to a timeout in {guild}",
                code=error.code,
                guild=channel.guild.id,
            )
        ) from None
    log.info("timeout of %s %s", member.id, "set" if until else "ended")


async def remove(out: Outbound, room: Room, member: Member) -> None:
    channel = out._guild_channel(room)
    if channel is None:
        raise ActionNotSupported(f"no Discord channel {room.id} in a served server")
    if not channel.permissions_for(channel.guild.me).manage_roles:
        raise ActionRefused(
            Phrase("no Manage Permissions permission in {channel}", channel=room.id)
        )
    target = await out._member(channel.guild, member)
    if target is None:
        return
    overwrite = channel.overwrites_for(target)
    if overwrite.view_channel is False:
        return
    overwrite.view_channel = False
    try:
        await channel.set_permissions(target, overwrite=overwrite, reason=t(REMOVE_REASON))
    except discord.Forbidden as error:
        raise ActionRefused(
            Phrase(
                "Discord answered {code} to a removal from {channel}",
                code=error.code,
                channel=room.id,
            )
        ) from None
    log.info("%s removed from %s", member.id, room.id)
