"""Whether the bot can give and take the role a policy names for posting in a channel.

Discord lets a bot manage only roles below its own highest role, and only with the server-wide
Manage Roles permission; a role set up wrongly in the channel gates nothing at all. These
checks read discord.py's cache only, so a start-up check costs no API calls, and they word
each problem for the server admin who has to fix it (role and channel names are the admin's,
never a member's words).
"""

from __future__ import annotations

import discord

from bot.i18n import Phrase

CONSEQUENCE = Phrase(
    "until this is fixed, members who agree are not given the role, and posts of members "
    "who have not agreed are removed instead"
)


def grant_problems(
    guild: discord.Guild, channel: discord.abc.GuildChannel | None, role_id: int
) -> list[str]:
    """What stops the bot from gating posting in ``channel`` with the role ``role_id``."""
    where = (
        f"#{channel.name}" if channel is not None else Phrase("server {guild}", guild=guild.name)
    )
    role = guild.get_role(role_id)
    if role is None:
        return [
            Phrase(
                "the role {role} that lets members post in {where} does not exist in "
                "{guild}; copy the right role id into the policy's 'agreed_role'",
                role=role_id,
                where=where,
                guild=guild.name,
            )
        ]
    problems = role_problems(guild, role, where)
    if channel is not None and not problems:
        problems += channel_problems(channel, role)
    return problems


def role_problems(guild: discord.Guild, role: discord.Role, where: str) -> list[str]:
    """Can the bot give ``role`` at all: assignable, Manage Roles, and placed above it."""
    if role.is_default() or role.managed:
        return [
            Phrase(
                "the role '{role}' named for {where} belongs to Discord or an integration "
                "and cannot be given to members; create an ordinary role for posting",
                role=role.name,
                where=where,
            )
        ]
    me = guild.me
    problems: list[str] = []
    if not me.guild_permissions.manage_roles:
        problems.append(
            Phrase(
                "the bot needs the Manage Roles permission (Server Settings > Roles > its "
                "role) to give members the role '{role}' that lets them post in {where}; "
                "{consequence}",
                role=role.name,
                where=where,
                consequence=CONSEQUENCE,
            )
        )
    if guild.owner_id != me.id and me.top_role <= role:
        problems.append(
            Phrase(
                "the bot's highest role '{top}' must be above the role '{role}' that lets "
                "members post in {where} (Server Settings > Roles: drag '{top}' above "
                "'{role}'); {consequence}",
                top=me.top_role.name,
                role=role.name,
                where=where,
                consequence=CONSEQUENCE,
            )
        )
    return problems


def channel_problems(channel: discord.abc.GuildChannel, role: discord.Role) -> list[str]:
    """Does the role actually decide who posts here: @everyone may not, the role may."""
    everyone = channel.permissions_for(channel.guild.default_role)
    if everyone.send_messages:
        return [
            Phrase(
                "#{channel} still lets everyone post, so the role '{role}' holds nobody "
                "back; in the channel's permissions deny Send Messages to @everyone and allow "
                "it to '{role}'",
                channel=channel.name,
                role=role.name,
            )
        ]
    if not channel.permissions_for(role).send_messages:
        return [
            Phrase(
                "the role '{role}' may not post in #{channel}; allow it Send Messages in the "
                "channel's permissions",
                role=role.name,
                channel=channel.name,
            )
        ]
    return []
