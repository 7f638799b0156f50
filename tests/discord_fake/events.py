"""Things that happen on Discord without the bot asking: members join, people post, click.

Each helper updates the fake's model first and then dispatches the event rendered from it, so a
later REST read agrees with what the gateway said, as on the real service.
"""

from __future__ import annotations

from typing import Any

from . import payloads
from . import permissions as perm
from .gateway import Gateway
from .state import (
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


class MemberCannot(PermissionError):
    """A scene asked a member to do what Discord's client would not let them do: a test must
    never assert the bot's answer to something no member can send."""


def _member_may(world: World, channel: FakeChannel, user: FakeUser, needed: int, what: str) -> None:
    if channel.guild_id is None:
        return  # a DM: its recipient can always write there (closed DMs are the bot's side)
    if not perm.can(world, channel, user.id, perm.VIEW_CHANNEL | needed):
        raise MemberCannot(f"{user.username} cannot {what} in #{channel.name}")


class GatewayEvents:
    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway

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
            # A reply is "a reference to a message in the same channel"; Discord refuses a
            # reply to a message elsewhere and needs Read Message History for it
            # (https://discord.com/developers/docs/resources/message#message-reference-types).
            if reply_to.channel_id != channel.id:
                raise MemberCannot("a reply can only reference a message in its own channel")
            _member_may(self.world, channel, author, perm.READ_MESSAGE_HISTORY, "reply")
            reference = {
                "type": 0,
                "message_id": str(reply_to.id),
                "channel_id": str(reply_to.channel_id),
                "fail_if_not_exists": False,
            }
            if reply_to.guild_id is not None:
                reference["guild_id"] = str(reply_to.guild_id)
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

    async def message_delete(self, message: FakeMessage) -> None:
        self.world.messages.pop(message.id, None)
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        await self.raw("MESSAGE_DELETE", data)

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
        command = self.world.find_command(name, channel.guild_id)
        self._may_use(command, user, channel)
        interaction = self.world.new_interaction(
            type=APPLICATION_COMMAND, user=user, channel=channel
        )
        values = [
            {"name": k, "type": OPTION_TYPES[type(v)], "value": v}
            for k, v in (options or {}).items()
        ]
        if subcommand is not None:
            if not any(
                o.get("type") == SUB_COMMAND and o["name"] == subcommand
                for o in command.get("options", [])
            ):
                raise LookupError(f"subcommand {name} {subcommand!r} was never synced")
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
