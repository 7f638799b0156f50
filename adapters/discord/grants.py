"""Whether the bot can give and take the role a policy names for posting in a channel.

Discord lets a bot manage only roles below its own highest role, and only with the server-wide
Manage Roles permission; a role set up wrongly in the channel gates nothing at all. These
checks read discord.py's cache only, so a start-up check costs no API calls, and they word
each problem for the server admin who has to fix it (role and channel names are the admin's,
never a member's words).
"""

from __future__ import annotations

import discord

CONSEQUENCE = (
    "until this is fixed, members who agree are not given the role, and posts of members "
    "who have not agreed are removed instead"
)


def grant_problems(
    guild: discord.Guild, channel: discord.abc.GuildChannel | None, role_id: int
) -> list[str]:
    """What stops the bot from gating posting in ``channel`` with the role ``role_id``."""
    where = f"#{channel.name}" if channel is not None else f"server {guild.name}"
    role = guild.get_role(role_id)
    if role is None:
        return [
            f"the role {role_id} that lets members post in {where} does not exist in "
            f"{guild.name}; copy the right role id into the policy's 'agreed_role'"
        ]
    problems = role_problems(guild, role, where)
    if channel is not None and not problems:
        problems += channel_problems(channel, role)
    return problems


def role_problems(guild: discord.Guild, role: discord.Role, where: str) -> list[str]:
    """Can the bot give ``role`` at all: assignable, Manage Roles, and placed above it."""
    if role.is_default() or role.managed:
        return [
            f"the role '{role.name}' named for {where} belongs to Discord or an integration "
            "and cannot be given to members; create an ordinary role for posting"
        ]
    me = guild.me
    problems: list[str] = []
    if not me.guild_permissions.manage_roles:
        problems.append(
            f"the bot needs the Manage Roles permission (Server Settings > Roles > its role) "
            f"to give members the role '{role.name}' that lets them post in {where}; " + CONSEQUENCE
        )
    if guild.owner_id != me.id and me.top_role <= role:
        problems.append(
            f"the bot's highest role '{me.top_role.name}' must be above the role '{role.name}' "
            f"that lets members post in {where} (Server Settings > Roles: drag "
            f"'{me.top_role.name}' above '{role.name}'); " + CONSEQUENCE
        )
    return problems


def channel_problems(channel: discord.abc.GuildChannel, role: discord.Role) -> list[str]:
    """Does the role actually decide who posts here: @everyone may not, the role may."""
    everyone = channel.permissions_for(channel.guild.default_role)
    if everyone.send_messages:
        return [
            f"#{channel.name} still lets everyone post, so the role '{role.name}' holds nobody "
            f"back; in the channel's permissions deny Send Messages to @everyone and allow it "
            f"to '{role.name}'"
        ]
    if not channel.permissions_for(role).send_messages:
        return [
            f"the role '{role.name}' may not post in #{channel.name}; allow it Send Messages "
            "in the channel's permissions"
        ]
    return []
