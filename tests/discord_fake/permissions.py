"""Discord's permission maths, as the fake enforces it on the bot and on members.

The algorithm is the documented one (https://discord.com/developers/docs/topics/permissions,
"Permission Hierarchy" and "Permission Overwrites"): the server owner and Administrator have
everything; otherwise @everyone's and every role's permissions are OR-ed, then the channel's
@everyone overwrite, then all role overwrites together, then the member's own overwrite are
applied as ``(perms & ~deny) | allow``. Its "Implicit Permissions" follow: without View
Channel nothing else in the channel counts, and without Send Messages the permissions that
only qualify a message (mention @everyone, TTS, files, embeds) are gone too. Threads follow
their parent channel ("Permissions for threads" on the same page), with Send Messages in
Threads in place of Send Messages, and a private thread is seen only by its members and by
those with Manage Threads (https://discord.com/developers/docs/topics/threads).

discord.py runs the same algorithm on its cache (``discord/abc.py: GuildChannel.permissions_for``
and ``discord/threads.py: Thread.permissions_for``), so a test can compare the two.
"""

from __future__ import annotations

from . import moderation
from .state import DM, PRIVATE_THREAD, FakeChannel, FakeGuild, World

# https://discord.com/developers/docs/topics/permissions#permissions-bitwise-permission-flags
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL = (1 << 53) - 1  # every flag Discord defines today, and room for the next ones

class MemberCannot(PermissionError):
    """A scene asked a member to do what Discord's client would not let them do: a test must
    never assert the bot's answer to something no member can send."""


# "Implicit Permissions": denied Send Messages takes these with it in text channels.
_NEEDS_SEND = MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS


def base_permissions(guild: FakeGuild, user_id: int) -> int:
    """compute_base_permissions: server-wide, before any channel's overwrites."""
    if user_id == guild.owner_id:
        return ALL
    member = guild.members.get(user_id)
    if member is None:
        return 0
    value = guild.roles[guild.everyone_role_id].permissions
    for role_id in member.role_ids:
        role = guild.roles.get(role_id)
        if role is not None:
            value |= role.permissions
    return ALL if value & ADMINISTRATOR else value


def overwritten(guild: FakeGuild, channel: FakeChannel, user_id: int, base: int) -> int:
    """compute_overwrites: @everyone's, then all of the member's roles' together, then theirs."""
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    value = base
    everyone = channel.overwrites.get(guild.everyone_role_id)
    if everyone is not None:
        value = (value & ~everyone.deny) | everyone.allow
    member = guild.members.get(user_id)
    allow = deny = 0
    for role_id in member.role_ids if member else []:
        role_overwrite = channel.overwrites.get(role_id)
        if role_overwrite is not None and role_overwrite.type == 0:
            allow |= role_overwrite.allow
            deny |= role_overwrite.deny
    value = (value & ~deny) | allow
    own = channel.overwrites.get(user_id)
    if own is not None and own.type == 1:
        value = (value & ~own.deny) | own.allow
    return value


def channel_permissions(world: World, channel: FakeChannel, user_id: int) -> int:
    """What ``user_id`` may do in ``channel`` (a thread: in its parent, as a thread allows)."""
    if channel.type == DM:
        return ALL if user_id in (*channel.recipient_ids, world.bot_user.id) else 0
    if channel.guild_id is None:
        return 0
    guild = world.guilds[channel.guild_id]
    if user_id not in guild.members:
        return 0
    if channel.is_thread:
        parent = world.channels.get(channel.parent_id or 0)
        if parent is None:
            return 0
        value = channel_permissions(world, parent, user_id)
        if value == ALL:
            return ALL
        if channel.type == PRIVATE_THREAD and not (
            user_id in channel.thread_member_ids or value & MANAGE_THREADS
        ):
            return 0
        # In a thread, posting is Send Messages in Threads; Send Messages does not apply.
        value &= ~SEND_MESSAGES
        if value & SEND_MESSAGES_IN_THREADS:
            value |= SEND_MESSAGES
        return value
    base = base_permissions(guild, user_id)
    value = overwritten(guild, channel, user_id, base)
    if value == ALL:
        return ALL
    if not value & VIEW_CHANNEL:
        return 0
    if not value & SEND_MESSAGES:
        value &= ~_NEEDS_SEND
    if moderation.timed_out(guild.members.get(user_id)):  # only View and Read History left
        value = moderation.in_timeout(value)
    return value


def can(world: World, channel: FakeChannel, user_id: int, needed: int) -> bool:
    return channel_permissions(world, channel, user_id) & needed == needed


def can_view(world: World, channel: FakeChannel, user_id: int) -> bool:
    return can(world, channel, user_id, VIEW_CHANNEL)


def can_post(world: World, channel: FakeChannel, user_id: int) -> bool:
    """View and Send Messages (in a thread: Send Messages in Threads)."""
    return can(world, channel, user_id, VIEW_CHANNEL | SEND_MESSAGES)
