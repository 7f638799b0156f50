"""Register slash commands per server, only when they changed.

Discord rate-limits command registration tightly (and every sync makes clients refetch), so
each start asks Discord what it has and PUTs only on a difference. Asking Discord, rather
than remembering a hash locally, also repairs commands someone removed by hand.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from .translate import canonical_commands

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
