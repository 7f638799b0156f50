"""The fake's own truth about guilds, channels, roles, members and messages.

REST answers and gateway events are both rendered from this one model, so they stay consistent
with each other the way Discord's do: a role added over REST shows up in the next
GUILD_MEMBER_UPDATE and in a later GET of the member.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .limits import Limits
from .snowflake import SnowflakeFactory

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2  # has a text chat ("Text in Voice"): messages like a text channel's
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_STAGE_VOICE = 13  # also has a text chat
GUILD_FORUM = 15  # holds only threads (posts); no messages of its own
GUILD_MEDIA = 16  # like a forum
THREAD_TYPES = frozenset({ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
THREAD_ONLY_TYPES = frozenset({GUILD_FORUM, GUILD_MEDIA})
VOICE_TYPES = frozenset({GUILD_VOICE, GUILD_STAGE_VOICE})

# Permission bits a plain member usually has; enough for discord.py's permission maths.
DEFAULT_EVERYONE_PERMISSIONS = (
    (1 << 6)  # ADD_REACTIONS
    | (1 << 10)  # VIEW_CHANNEL
    | (1 << 11)  # SEND_MESSAGES
    | (1 << 14)  # EMBED_LINKS
    | (1 << 15)  # ATTACH_FILES
    | (1 << 16)  # READ_MESSAGE_HISTORY
    | (1 << 31)  # USE_APPLICATION_COMMANDS
    | (1 << 38)  # SEND_MESSAGES_IN_THREADS
)
ADMINISTRATOR = 1 << 3
# What the README's invite link grants the bot's own (managed) role: View Channels, Send
# Messages, Manage Messages, Read Message History, Manage Roles, Manage Threads, Send Messages
# in Threads. Discord gives a bot exactly the permissions of its invite's ``permissions``
# integer (https://discord.com/developers/docs/topics/oauth2#bot-authorization-flow), never
# Administrator unless asked; a test that needs more grants it with ``World.grant_bot``.
INVITE_PERMISSIONS = 292326288384
CREATE_PRIVATE_THREADS = 1 << 36


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    accepts_dms: bool = True  # False → POST to their DM channel answers 403/50007, like Discord
    # The language their Discord client is set to, sent as an interaction's "locale"
    # (https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object)
    locale: str = "en-US"


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False


@dataclass
class FakeOverwrite:
    id: int
    type: int  # 0 = role, 1 = member
    allow: int = 0
    deny: int = 0


@dataclass
class FakeChannel:
    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: dict[int, FakeOverwrite] = field(default_factory=dict)
    owner_id: int | None = None
    recipient_ids: list[int] = field(default_factory=list)
    archived: bool = False
    locked: bool = False
    invitable: bool = False
    auto_archive_duration: int = 10080
    thread_member_ids: set[int] = field(default_factory=set)
    last_message_id: int | None = None
    created_at: dt.datetime = field(default_factory=utcnow)

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class FakeMember:
    user_id: int
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    flags: int = 0
    pending: bool = False
    joined_at: dt.datetime = field(default_factory=utcnow)
    communication_disabled_until: dt.datetime | None = None  # a timeout (see moderation.py)


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)
    # At most this many of the members GUILD_CREATE would carry (see members.py for which
    # those are); None = no further cap.
    guild_create_member_limit: int | None = None

    @property
    def everyone_role_id(self) -> int:
        return self.id


@dataclass
class FakeMessage:
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    guild_id: int | None = None
    type: int = 0
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    reference: dict[str, Any] | None = None
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    mention_ids: list[int] = field(default_factory=list)
    webhook_id: int | None = None
    # A webhook message's author as Discord renders it (the name the poster chose for this
    # message, see message_rules.webhook_author); None for messages by users and bots.
    webhook_author: dict[str, Any] | None = None
    created_at: dt.datetime = field(default_factory=utcnow)
    edited_at: dt.datetime | None = None
    interaction_user_id: int | None = None  # an interaction's answer: only they see it if ephemeral


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    user_id: int
    channel_id: int | None
    guild_id: int | None
    message_id: int | None = None  # the message a component click came from
    responded: bool = False
    original_message_id: int | None = None


@dataclass
class FakeApplication:
    id: int
    name: str
    owner_id: int
    flags: int = 0


# Privileged intents and the application flags that say they are enabled (limited = unverified
# bot under 100 guilds, which is what a self-hosted bot is).
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
_INTENT_TO_APP_FLAG = {
    INTENT_GUILD_PRESENCES: 1 << 13,  # GATEWAY_PRESENCE_LIMITED
    INTENT_GUILD_MEMBERS: 1 << 15,  # GATEWAY_GUILD_MEMBERS_LIMITED
    INTENT_MESSAGE_CONTENT: 1 << 19,  # GATEWAY_MESSAGE_CONTENT_LIMITED
}


def application_flags_for(enabled_privileged_intents: int) -> int:
    flags = 0
    for intent, flag in _INTENT_TO_APP_FLAG.items():
        if enabled_privileged_intents & intent:
            flags |= flag
    return flags


class World:
    """Everything the fake Discord knows, plus builders a test uses to set the scene."""

    def __init__(
        self,
        *,
        token: str,
        enabled_privileged_intents: int = INTENT_GUILD_MEMBERS | INTENT_MESSAGE_CONTENT,
    ) -> None:
        self.snowflakes = SnowflakeFactory()
        self.token = token
        self.enabled_privileged_intents = enabled_privileged_intents
        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        # Application commands by guild id (None = global), each a full Discord payload.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        # Guilds whose admin opened every command to everyone (Server Settings > Integrations).
        self.commands_opened: set[int] = set()
        # Discord's counters and deadlines (invalid requests, IDENTIFYs, interaction
        # deadlines, DM opens, overwrite caps): see limits.py.
        self.limits = Limits()
        # Told of every new message (member_view.MemberViews: what each member is sent).
        self.message_listeners: list[Callable[[FakeMessage], None]] = []
        owner = self.add_user("owner")
        self.bot_user = self.add_user("confidant-bot", bot=True)
        self.application = FakeApplication(
            id=self.bot_user.id, name="Confidant", owner_id=owner.id
        )

    @property
    def application_flags(self) -> int:
        return self.application.flags | application_flags_for(self.enabled_privileged_intents)

    # -- scene builders -------------------------------------------------------------------

    def add_user(self, username: str, *, bot: bool = False, accepts_dms: bool = True) -> FakeUser:
        user = FakeUser(
            id=self.snowflakes.next(),
            username=username,
            global_name=None if bot else username.title(),
            bot=bot,
            accepts_dms=accepts_dms,
        )
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, *, owner: FakeUser | None = None) -> FakeGuild:
        guild_id = self.snowflakes.next()
        owner_id = owner.id if owner else self.application.owner_id
        guild = FakeGuild(id=guild_id, name=name, owner_id=owner_id)
        guild.roles[guild_id] = FakeRole(
            id=guild_id, name="@everyone", permissions=DEFAULT_EVERYONE_PERMISSIONS
        )
        self.guilds[guild_id] = guild
        self.add_member(guild, self.users[owner_id])
        bot_role = self.add_role(guild, "Confidant", permissions=INVITE_PERMISSIONS, managed=True)
        self.add_member(guild, self.bot_user, roles=[bot_role])
        return guild

    def open_commands(self, guild: FakeGuild) -> None:
        """An admin lets everyone use the bot's moderator commands (Server Settings >
        Integrations > the bot > command permissions), overriding default_member_permissions."""
        self.commands_opened.add(guild.id)

    def bot_role(self, guild: FakeGuild) -> FakeRole:
        """The role Discord made for the bot when it was invited (managed, named after it)."""
        return next(r for r in guild.roles.values() if r.managed and r.name == "Confidant")

    def grant_bot(self, guild: FakeGuild, permissions: int) -> None:
        """Give the bot's role more than the invite link did (an admin editing the role)."""
        self.bot_role(guild).permissions |= permissions

    def add_role(
        self,
        guild: FakeGuild,
        name: str,
        *,
        permissions: int = 0,
        managed: bool = False,
        mentionable: bool = False,
    ) -> FakeRole:
        role = FakeRole(
            id=self.snowflakes.next(),
            name=name,
            permissions=permissions,
            position=len(guild.roles),
            managed=managed,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild: FakeGuild,
        user: FakeUser,
        *,
        roles: list[FakeRole] | None = None,
        nick: str | None = None,
        flags: int = 0,
    ) -> FakeMember:
        member = FakeMember(
            user_id=user.id,
            guild_id=guild.id,
            role_ids=[r.id for r in roles or []],
            nick=nick,
            flags=flags,
        )
        guild.members[user.id] = member
        return member

    def add_text_channel(
        self, guild: FakeGuild, name: str, *, topic: str | None = None
    ) -> FakeChannel:
        return self.add_channel(guild, name, type=GUILD_TEXT, topic=topic)

    def add_channel(
        self, guild: FakeGuild, name: str, *, type: int, topic: str | None = None
    ) -> FakeChannel:
        """A guild channel of any kind: voice (2), announcement (5), stage (13), forum (15),
        media (16); ``tests.discord_fake.threads`` holds the rules that differ per kind."""
        channel = FakeChannel(
            id=self.snowflakes.next(),
            type=type,
            name=name,
            guild_id=guild.id,
            position=len(guild.channel_ids),
            topic=topic,
        )
        return self._register_guild_channel(guild, channel)

    def add_thread(
        self,
        parent: FakeChannel,
        name: str,
        *,
        owner: FakeUser | None = None,
        private: bool = True,
        invitable: bool = False,
        thread_id: int | None = None,
    ) -> FakeChannel:
        """``thread_id``: a thread started from a message (or a forum post) shares the
        message's id (https://discord.com/developers/docs/topics/threads#public--private-threads)."""
        if parent.guild_id is None:
            raise ValueError("threads live in guild channels")
        owner_id = owner.id if owner else self.bot_user.id
        public = ANNOUNCEMENT_THREAD if parent.type == GUILD_ANNOUNCEMENT else PUBLIC_THREAD
        thread = FakeChannel(
            id=thread_id if thread_id is not None else self.snowflakes.next(),
            type=PRIVATE_THREAD if private else public,
            name=name,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
            invitable=invitable,
            thread_member_ids={owner_id},
        )
        return self._register_guild_channel(self.guilds[parent.guild_id], thread)

    def _register_guild_channel(self, guild: FakeGuild, channel: FakeChannel) -> FakeChannel:
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        return channel

    def open_dm(self, user: FakeUser) -> FakeChannel:
        """Return the bot's DM channel with ``user``; Discord hands back the same one each time."""
        for channel in self.channels.values():
            if channel.type == DM and channel.recipient_ids == [user.id]:
                return channel
        channel = FakeChannel(id=self.snowflakes.next(), type=DM, recipient_ids=[user.id])
        self.channels[channel.id] = channel
        return channel

    def add_message(self, channel: FakeChannel, author: FakeUser, **fields: Any) -> FakeMessage:
        message = FakeMessage(
            id=self.snowflakes.next(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author.id,
            **fields,
        )
        self.messages[message.id] = message
        channel.last_message_id = message.id
        for listener in self.message_listeners:
            listener(message)
        return message

    def new_interaction(
        self,
        *,
        type: int,
        user: FakeUser,
        channel: FakeChannel | None,
        message_id: int | None = None,
    ) -> FakeInteraction:
        interaction = FakeInteraction(
            id=self.snowflakes.next(),
            token="aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            type=type,
            user_id=user.id,
            channel_id=channel.id if channel else None,
            guild_id=channel.guild_id if channel else None,
            message_id=message_id,
        )
        self.interactions[interaction.id] = interaction
        return interaction

    def move_role(self, guild: FakeGuild, role: FakeRole, position: int) -> None:
        """Put ``role`` at ``position`` (1 = just above @everyone), shifting the others the
        way dragging a role in Server Settings does; GUILD_CREATE shows the new order."""
        ordered = sorted(
            (r for r in guild.roles.values() if r.id != guild.everyone_role_id and r is not role),
            key=lambda r: (r.position, r.id),
        )
        ordered.insert(max(0, min(position - 1, len(ordered))), role)
        for index, each in enumerate(ordered, start=1):
            each.position = index

    # -- lookups --------------------------------------------------------------------------

    def top_role_position(self, guild: FakeGuild, user_id: int) -> int:
        member = guild.members.get(user_id)
        return max((guild.roles[r].position for r in member.role_ids if member), default=0)

    def interaction_by_token(self, token: str) -> FakeInteraction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def find_command(self, name: str, guild_id: int | None, type: int = 1) -> dict[str, Any]:
        """Find a synced command the way Discord resolves one: guild commands, then global."""
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == type:
                    return command
        raise LookupError(f"command {name!r} (type {type}) was never synced to the fake")
