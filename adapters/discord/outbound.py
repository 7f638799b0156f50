"""The core's actions carried out on Discord.

Each action maps to one or a few REST calls; discord.py queues them per rate-limit bucket and
retries 429s after ``retry_after`` by itself. What only Discord can tell us (closed DMs,
missing permissions) comes back as the exceptions the runtime understands, so the *decision*
what to do instead stays with the core.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

import discord

from bot.actions import (
    Action,
    ActionNotSupported,
    AlertModerators,
    DeleteMessage,
    PostToRoom,
    PrivateMessageRefused,
    ReplyToInvoker,
    SendPrivate,
    SetPostingAllowed,
)
from bot.events import Member, Room

from .replies import InteractionReplies
from .translate import (
    REFUSED_PRIVATE_CODES,
    is_thread,
    nonce_for,
    posting_overwrite,
    snowflake,
    split_text,
    with_mention,
)

log = logging.getLogger("confidant.discord")

AUDIT_REASON = "Confidant: members post after agreeing to the room's confidentiality reminder"
_REMEMBERED_KEYS = 4096


class Outbound:
    def __init__(
        self,
        client: discord.Client,
        replies: InteractionReplies,
        serves: Callable[[int], bool],
    ) -> None:
        self.client = client
        self.replies = replies
        self._serves = serves
        # Keys performed by this process: the core's outbox may hand a key over again (its
        # periodic resend), and this makes that free even where Discord's nonce window ended.
        self._done: OrderedDict[str, None] = OrderedDict()

    async def perform(self, action: Action) -> None:
        key = getattr(action, "idempotency_key", None)
        if key is not None and key in self._done:
            log.info("%s %s already performed; skipped", type(action).__name__, key)
            return
        match action:
            case SendPrivate(member=member, text=text, idempotency_key=key):
                await self.send_private(member, text, key)
            case PostToRoom(room=room, text=text, mention=mention, idempotency_key=key):
                await self.post(room, text, mention, key)
            case ReplyToInvoker():
                await self.reply(action)
            case DeleteMessage(room=room, message_id=message_id):
                await self.delete(room, message_id)
            case SetPostingAllowed(room=room, member=member, allowed=allowed):
                await self.set_posting(room, member, allowed)
            case AlertModerators(room_selector=selector, text=text):
                await self.alert(selector, text)
            case _:
                raise ActionNotSupported(f"Discord has no {type(action).__name__}")
        if key is not None:
            self._done[key] = None
            while len(self._done) > _REMEMBERED_KEYS:
                self._done.popitem(last=False)

    # -- messages ---------------------------------------------------------------------------

    async def send_private(self, member: Member, text: str, key: str | None = None) -> None:
        user_id = _snowflake(member.id, "user")
        user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
        channel = user.dm_channel or await user.create_dm()
        try:
            await self._send(channel, text, key)
        except discord.Forbidden as error:
            if error.code in REFUSED_PRIVATE_CODES:
                log.info("user %s does not accept private messages", user_id)
                raise PrivateMessageRefused(member.id) from None
            raise

    async def post(
        self, room: Room, text: str, mention: Member | None = None, key: str | None = None
    ) -> None:
        channel = await self._messageable(room.id)
        await self._send(channel, text, key, mention)

    async def reply(self, action: ReplyToInvoker) -> None:
        """Ephemeral if the command is still running, else privately, else in the room."""
        if action.reply_handle is not None and await self.replies.answer(
            action.reply_handle, action.text
        ):
            return
        if action.room.is_private_chat:
            await self.post(action.room, action.text)
            return
        try:
            await self.send_private(action.member, action.text)
        except PrivateMessageRefused:
            await self.post(action.room, action.text, mention=action.member)

    async def alert(self, selector: str, text: str) -> None:
        channel = self._alert_channel(selector)
        if channel is None:
            raise ActionNotSupported(f"no Discord channel {selector!r} for moderator alerts")
        await self._send(channel, text)

    async def _send(
        self,
        channel: discord.abc.Messageable,
        text: str,
        key: str | None = None,
        mention: Member | None = None,
    ) -> None:
        """Long texts go out in parts; only the first mentions, and only the member named."""
        for index, chunk in enumerate(split_text(text)):
            if index == 0 and mention is not None:
                content = with_mention(chunk, mention)
                allowed = discord.AllowedMentions(
                    everyone=False,
                    roles=False,
                    users=[discord.Object(int(mention.id))],
                    replied_user=False,
                )
            else:
                content, allowed = chunk, discord.AllowedMentions.none()
            await channel.send(content, nonce=nonce_for(key, index), allowed_mentions=allowed)

    # -- moderation -------------------------------------------------------------------------

    async def delete(self, room: Room, message_id: str) -> None:
        channel = self.client.get_partial_messageable(_snowflake(room.id, "channel"))
        try:
            await channel.get_partial_message(_snowflake(message_id, "message")).delete()
        except discord.NotFound:
            log.info("message %s in %s was already gone", message_id, room.id)
        except discord.Forbidden:
            raise ActionNotSupported(f"no Manage Messages permission in {room.id}") from None

    async def set_posting(self, room: Room, member: Member, allowed: bool) -> None:
        """A per-member channel overwrite: members who have not agreed cannot post at all."""
        channel = self.client.get_channel(_snowflake(room.id, "channel"))
        if is_thread(channel) or not isinstance(channel, discord.TextChannel):
            raise ActionNotSupported("posting permissions are set on text channels only")
        if not channel.permissions_for(channel.guild.me).manage_roles:
            raise ActionNotSupported(f"no Manage Permissions permission in {room.id}")
        target = await self._member(channel.guild, member)
        if target is None:
            return  # no longer in the server: nothing to allow or block
        changed, overwrite = posting_overwrite(channel.overwrites_for(target), allowed)
        if not changed:
            return
        try:
            await channel.set_permissions(target, overwrite=overwrite, reason=AUDIT_REASON)
        except discord.Forbidden:
            raise ActionNotSupported(f"Discord refused a permission change in {room.id}") from None
        log.info("posting %s for %s in %s", "allowed" if allowed else "held", member.id, room.id)

    # -- lookups ----------------------------------------------------------------------------

    async def _messageable(self, room_id: str) -> discord.abc.Messageable:
        channel_id = _snowflake(room_id, "channel")
        channel = self.client.get_channel(channel_id)
        if channel is None:
            channel = await self.client.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise ActionNotSupported(f"channel {room_id} does not take messages")
        return channel

    def _alert_channel(self, selector: str) -> discord.abc.Messageable | None:
        name = selector.lstrip("#")
        channel_id = snowflake(name)
        for guild in self.client.guilds:
            if not self._serves(guild.id):
                continue
            for channel in guild.text_channels:
                if channel.id == channel_id or (channel_id is None and channel.name == name):
                    return channel
        return None

    async def _member(self, guild: discord.Guild, member: Member) -> discord.Member | None:
        member_id = _snowflake(member.id, "user")
        found = guild.get_member(member_id)
        if found is not None:
            return found
        try:
            return await guild.fetch_member(member_id)
        except discord.NotFound:
            return None


def _snowflake(value: str, what: str) -> int:
    number = snowflake(value)
    if number is None:
        raise ActionNotSupported(f"{value!r} is not a Discord {what} id")
    return number
