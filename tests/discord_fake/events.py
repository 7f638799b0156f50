"""Things that happen on Discord without the bot asking: members join, people post, click.

Each helper updates the fake's model first and then dispatches the event rendered from it, so a
later REST read agrees with what the gateway said, as on the real service.
"""

from __future__ import annotations

import contextlib
from typing import Any

from . import command_names, message_rules, payloads, threads
from . import permissions as perm
from .gateway import Gateway, GatewayError
from .permissions import MemberCannot
from .state import (
    THREAD_ONLY_TYPES,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    World,
    utcnow,
)

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
HAS_SNAPSHOT = 1 << 14
EPHEMERAL = 1 << 6
SUB_COMMAND = 1  # an option that is a group's subcommand
OPTION_TYPES = {str: 3, bool: 5, int: 4, float: 10}


def _member_may(world: World, channel: FakeChannel, user: FakeUser, needed: int, what: str) -> None:
    if channel.guild_id is None:
        return  # a DM: its recipient can always write there (closed DMs are the bot's side)
    if not perm.can(world, channel, user.id, perm.VIEW_CHANNEL | needed):
        raise MemberCannot(f"{user.username} cannot {what} in #{channel.name}")


class GatewayEvents:
    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway
        # The webhook a proxy bot made in each channel (channel id -> webhook id): PluralKit
        # and the like create one per channel and post every proxied member through it.
        self.webhooks: dict[int, int] = {}

    async def raw(self, event: str, data: dict[str, Any]) -> int | None:
        """Escape hatch for events without a helper; returns the sequence number."""
        return await self.gateway.dispatch(event, data)

    # -- members ----------------------------------------------------------------------------

    async def member_add(
        self, guild: FakeGuild, user: FakeUser, *, roles: list[FakeRole] | None = None,
        flags: int = 0, pending: bool = False,
    ) -> FakeMember:
        member = self.world.add_member(guild, user, roles=roles, flags=flags)
        member.pending = pending
        await self.raw("GUILD_MEMBER_ADD", self._member_event(member))
        return member

    async def member_update(
        self, guild: FakeGuild, user: FakeUser, *, roles: list[FakeRole] | None = None,
        nick: str | None = None, pending: bool | None = None,
    ) -> FakeMember:
        member = guild.members[user.id]
        if roles is not None:
            member.role_ids = [r.id for r in roles]
        if nick is not None:
            member.nick = nick
        if pending is not None:
            member.pending = pending
        await self.raw("GUILD_MEMBER_UPDATE", self._member_event(member))
        return member

    async def member_remove(self, guild: FakeGuild, user: FakeUser) -> None:
        guild.members.pop(user.id, None)
        await self.raw(
            "GUILD_MEMBER_REMOVE", {"guild_id": str(guild.id), "user": payloads.user(user)}
        )

    def _member_event(self, member: FakeMember) -> dict[str, Any]:
        return {**payloads.member(self.world, member), "guild_id": str(member.guild_id)}

    # -- messages ---------------------------------------------------------------------------

    async def message_create(
        self,
        channel: FakeChannel,
        author: FakeUser,
        content: str,
        *,
        reply_to: FakeMessage | None = None,
        mentions: list[FakeUser] | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> FakeMessage:
        _member_may(self.world, channel, author, perm.SEND_MESSAGES, "post")
        reference = None
        if reply_to is not None:
            message_rules.check_reply_target(channel, reply_to)
            # replying needs Read Message History
            # (https://discord.com/developers/docs/resources/message#create-message)
            _member_may(self.world, channel, author, perm.READ_MESSAGE_HISTORY, "reply")
            reference = {
                "type": 0,
                "message_id": str(reply_to.id),
                "channel_id": str(reply_to.channel_id),
                "fail_if_not_exists": False,
            }
            if reply_to.guild_id is not None:
                reference["guild_id"] = str(reply_to.guild_id)
        await self._before_send(channel, author)
        message = self.world.add_message(
            channel,
            author,
            content=content,
            type=19 if reply_to else 0,
            reference=reference,
            mention_ids=[u.id for u in mentions or []],
            attachments=attachments or [],
        )
        await self.raw("MESSAGE_CREATE", payloads.message(self.world, message))
        return message

    async def forward(
        self, original: FakeMessage, into: FakeChannel, author: FakeUser
    ) -> FakeMessage:
        """A forward: empty content, a type-1 reference to the origin, the text in a snapshot.

        The member must be able to read the original and post where it goes."""
        origin = self.world.channels[original.channel_id]
        _member_may(self.world, origin, author, perm.READ_MESSAGE_HISTORY, "read to forward")
        _member_may(self.world, into, author, perm.SEND_MESSAGES, "forward")
        reference = {
            "type": 1,
            "message_id": str(original.id),
            "channel_id": str(original.channel_id),
        }
        if original.guild_id is not None:
            reference["guild_id"] = str(original.guild_id)
        await self._before_send(into, author)
        message = self.world.add_message(
            into,
            author,
            content="",
            reference=reference,
            snapshots=[payloads.snapshot_of(self.world, original)],
            flags=HAS_SNAPSHOT,
        )
        await self.raw("MESSAGE_CREATE", payloads.message(self.world, message))
        return message

    async def message_update(self, message: FakeMessage, content: str) -> FakeMessage:
        message.content = content
        message.edited_at = utcnow()
        await self.raw("MESSAGE_UPDATE", payloads.message(self.world, message))
        return message

    async def link_preview(
        self, message: FakeMessage, embeds: list[dict[str, Any]] | None = None
    ) -> FakeMessage:
        """Discord unfurls the links in ``message``: the full message again with the embeds
        added and ``edited_timestamp`` as it was (see message_rules, link previews). Refuses
        a message without a web link, which Discord would never unfurl."""
        embeds = message_rules.unfurl_embeds(message.content) if embeds is None else embeds
        if not embeds:
            raise ValueError("Discord only unfurls web links in the content; there are none")
        message.embeds = [*message.embeds, *embeds]
        await self.raw("MESSAGE_UPDATE", payloads.message(self.world, message))
        return message

    async def webhook_message(
        self, channel: FakeChannel, name: str, content: str, *, webhook_id: int | None = None
    ) -> FakeMessage:
        """A message a webhook posts under ``name`` (see message_rules.webhook_author):
        ``webhook_id`` set, the author is the webhook, and there is no ``member`` field."""
        if channel.guild_id is None:
            raise ValueError("webhooks live in guild channels")
        hook = webhook_id or self.webhooks.setdefault(channel.id, self.world.snowflakes.next())
        message = self.world.add_message(
            channel,
            self.world.bot_user,  # replaced below: the author is the webhook, not a user
            content=content,
            webhook_id=hook,
            webhook_author=message_rules.webhook_author(hook, name),
        )
        message.author_id = hook
        await self.raw("MESSAGE_CREATE", payloads.message(self.world, message))
        return message

    async def proxy(
        self, original: FakeMessage, name: str, *, content: str | None = None
    ) -> FakeMessage:
        """What a PluralKit-style proxy bot does with a member's message: post it again
        through the channel's webhook under the proxied ``name`` (``content``: the text
        without the proxy tags), then delete the original (MESSAGE_DELETE): "proxies work by
        deleting and reposting messages through webhooks" (https://pluralkit.me/staff/moderation),
        one webhook per channel, the member's name as the webhook's name per message."""
        channel = self.world.channels[original.channel_id]
        text = original.content if content is None else content
        proxied = await self.webhook_message(channel, name, text)
        await self.message_delete(original)
        return proxied

    async def purge(
        self, channel: FakeChannel, messages: list[FakeMessage], *, by: FakeUser
    ) -> list[int]:
        """A moderation bot (``by``, which needs Manage Messages there) bulk-deletes
        ``messages``: Discord's bulk-delete rules (message_rules), then MESSAGE_DELETE_BULK.
        Returns the ids. Delivered to a session whose socket is gone, it is lost with it, as
        on Discord: that is what a purge while the bot is offline looks like."""
        ids = [m.id for m in messages]
        for message in message_rules.check_bulk_delete(self.world, channel, ids, by=by):
            self.world.messages.pop(message.id, None)
        with contextlib.suppress(GatewayError):
            await self.raw("MESSAGE_DELETE_BULK", message_rules.bulk_delete_event(channel, ids))
        return ids

    async def message_delete(self, message: FakeMessage) -> None:
        self.world.messages.pop(message.id, None)
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        await self.raw("MESSAGE_DELETE", data)

    async def _before_send(self, channel: FakeChannel, author: FakeUser) -> None:
        """A member cannot post where Discord would not let them (``threads.refuse_message``:
        a forum itself, a locked archived thread); posting into an archived thread wakes it,
        with THREAD_UPDATE first (Threads topic, "Unarchiving a Thread")."""
        refusal = threads.refuse_message(self.world, channel, author.id)
        if refusal is not None:
            raise ValueError(f"Discord would refuse this message: {refusal[2]} ({refusal[1]})")
        if threads.unarchives(channel):
            await self.raw("THREAD_UPDATE", payloads.channel(self.world, channel))

    # -- interactions -----------------------------------------------------------------------

    async def slash_command(
        self,
        name: str,
        *,
        user: FakeUser,
        channel: FakeChannel,
        options: dict[str, str | int | bool | float] | None = None,
        subcommand: str | None = None,
    ) -> FakeInteraction:
        """A user runs a synced slash command; fails loudly if the bot never synced it.

        ``subcommand`` runs one command of a group (``/policy show`` is name="policy",
        subcommand="show"); it too must have been synced.
        """
        command = self._command_as_seen(name, user, channel)
        self._may_use(command, user, channel)
        interaction = self.world.new_interaction(
            type=APPLICATION_COMMAND, user=user, channel=channel
        )
        under = command.get("options") or []
        if subcommand is not None:
            sub = command_names.declared(
                [o for o in under if o.get("type") == SUB_COMMAND], subcommand, user.locale
            )
            if sub is None:
                raise LookupError(f"subcommand {name} {subcommand!r} was never synced")
            subcommand, under = sub["name"], sub.get("options") or []
        values = [
            {"name": self._option_as_sent(under, k, user), "type": OPTION_TYPES[type(v)],
             "value": v}
            for k, v in (options or {}).items()
        ]
        if subcommand is not None:
            values = [{"name": subcommand, "type": SUB_COMMAND, "options": values}]
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command.get("type", 1),
            "options": values,
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        await self.raw("INTERACTION_CREATE", payloads.interaction(self.world, interaction, data))
        return interaction

    def _command_as_seen(
        self, typed: str, user: FakeUser, channel: FakeChannel
    ) -> dict[str, Any]:
        """The synced command a member picks by the name their client's locale shows
        (command_names.py); Discord sends it with its declared name."""
        for scope in (channel.guild_id, None):
            chat = [c for c in self.world.commands.get(scope, []) if c.get("type", 1) == 1]
            found = command_names.declared(chat, typed, user.locale)
            if found is not None:
                return found
        raise LookupError(
            f"no synced command reads {typed!r} in {user.username}'s client ({user.locale})"
        )

    @staticmethod
    def _option_as_sent(options: list[dict[str, Any]], typed: str, user: FakeUser) -> str:
        """An option the member fills in by the name they see, sent by its declared name
        (an option the command does not declare is sent as typed, for tests of refusals)."""
        found = command_names.declared(options, typed, user.locale)
        return str(found["name"]) if found is not None else typed

    async def component_click(
        self,
        message: FakeMessage,
        custom_id: str,
        *,
        user: FakeUser,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """A user clicks a button (type 2) or picks from a select (type 3) on ``message``."""
        channel = self.world.channels[message.channel_id]
        _member_may(self.world, channel, user, 0, "see the message to click")
        if message.flags & EPHEMERAL and message.interaction_user_id not in (None, user.id):
            raise MemberCannot(f"{user.username} cannot see another member's ephemeral message")
        interaction = self.world.new_interaction(
            type=MESSAGE_COMPONENT, user=user, channel=channel, message_id=message.id
        )
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        await self.raw("INTERACTION_CREATE", payloads.interaction(self.world, interaction, data))
        return interaction

    def _may_use(self, command: dict[str, Any], user: FakeUser, channel: FakeChannel) -> None:
        """The chat bar, and so the command picker, is there only with Send Messages (Send
        Messages in Threads in a thread) and Use Application Commands; a command whose
        ``default_member_permissions`` the member lacks is not offered to them unless an admin
        opened it under Server Settings > Integrations
        (https://discord.com/developers/docs/interactions/application-commands#permissions)."""
        if channel.guild_id is None:
            return
        _member_may(
            self.world, channel, user,
            perm.SEND_MESSAGES | perm.USE_APPLICATION_COMMANDS, "use slash commands",
        )
        required = int(command.get("default_member_permissions") or 0)
        if not required or channel.guild_id in self.world.commands_opened:
            return
        if not perm.can(self.world, channel, user.id, required):
            raise MemberCannot(f"/{command['name']} is not offered to {user.username}")

    # -- channels and threads ---------------------------------------------------------------

    async def thread_create(
        self, parent: FakeChannel, name: str, *, owner: FakeUser, private: bool = True
    ) -> FakeChannel:
        thread = self.world.add_thread(parent, name, owner=owner, private=private)
        await self.raw(
            "THREAD_CREATE", {**payloads.channel(self.world, thread), "newly_created": True}
        )
        return thread

    async def thread_members_update(
        self,
        thread: FakeChannel,
        *,
        added: list[FakeUser] | None = None,
        removed: list[FakeUser] | None = None,
    ) -> None:
        added, removed = added or [], removed or []
        thread.thread_member_ids |= {u.id for u in added}
        thread.thread_member_ids -= {u.id for u in removed}
        data: dict[str, Any] = {
            "id": str(thread.id),
            "guild_id": str(thread.guild_id),
            "member_count": len(thread.thread_member_ids),
        }
        if added:
            guild = self.world.guilds[thread.guild_id or 0]
            data["added_members"] = [
                {
                    **payloads.thread_member(thread, u.id),
                    "member": payloads.member(self.world, guild.members[u.id]),
                    "presence": None,
                }
                for u in added
            ]
        if removed:
            data["removed_member_ids"] = [str(u.id) for u in removed]
        await self.raw("THREAD_MEMBERS_UPDATE", data)

    async def channel_update(self, channel: FakeChannel, **changes: Any) -> FakeChannel:
        for key, value in changes.items():
            if not hasattr(channel, key):
                raise AttributeError(f"FakeChannel has no field {key!r}")
            setattr(channel, key, value)
        await self.raw("CHANNEL_UPDATE", payloads.channel(self.world, channel))
        return channel

    async def forum_post(
        self, forum: FakeChannel, author: FakeUser, title: str, content: str
    ) -> tuple[FakeChannel, FakeMessage]:
        """A member starts a post in a forum (or media) channel: a public thread whose first
        message shares its id; THREAD_CREATE, then MESSAGE_CREATE with the thread as its
        channel (Threads topic, "Creating Threads in Forum and Media Channels")."""
        if forum.type not in THREAD_ONLY_TYPES:
            raise ValueError("posts are made in forum and media channels")
        post_id = self.world.snowflakes.next()
        thread = self.world.add_thread(
            forum, title, owner=author, private=False, thread_id=post_id
        )
        message = FakeMessage(
            id=post_id,
            channel_id=thread.id,
            guild_id=thread.guild_id,
            author_id=author.id,
            content=content,
        )
        self.world.messages[message.id] = message
        thread.last_message_id = forum.last_message_id = message.id
        await self.raw(
            "THREAD_CREATE", {**payloads.channel(self.world, thread), "newly_created": True}
        )
        await self.raw("MESSAGE_CREATE", payloads.message(self.world, message))
        return thread, message

    async def thread_update(
        self, thread: FakeChannel, *, archived: bool | None = None, locked: bool | None = None
    ) -> FakeChannel:
        """A thread archives (by inactivity or a moderator) or is locked: THREAD_UPDATE with
        the whole thread (Gateway Events, Thread Update). discord.py drops an archived thread
        from its cache (``discord/state.py: parse_thread_update``)."""
        if archived is not None:
            thread.archived = archived
        if locked is not None:
            thread.locked = locked
        await self.raw("THREAD_UPDATE", payloads.channel(self.world, thread))
        return thread

    async def thread_list_sync(self, guild: FakeGuild, channels: list[FakeChannel]) -> None:
        """The bot gained access to ``channels``: their active threads it can see, and its
        own thread memberships (Threads topic, "Gaining Access to Channels")."""
        wanted = {c.id for c in channels}
        found = [
            self.world.channels[c]
            for c in guild.channel_ids
            if self.world.channels[c].parent_id in wanted
            and threads.synced_thread(self.world, self.world.channels[c])
        ]
        bot_id = self.world.bot_user.id
        await self.raw("THREAD_LIST_SYNC", {
            "guild_id": str(guild.id),
            "channel_ids": [str(c) for c in sorted(wanted)],
            "threads": [payloads.channel(self.world, t) for t in found],
            "members": [
                payloads.thread_member(t, bot_id) for t in found if bot_id in t.thread_member_ids
            ],
        })
