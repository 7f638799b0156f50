"""The core's actions carried out on Discord.

Each action maps to one or a few REST calls; discord.py queues them per rate-limit bucket and
retries 429s after ``retry_after`` by itself. What only Discord can tell us (closed DMs,
missing permissions) comes back as the exceptions the runtime understands, so the *decision*
what to do instead stays with the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import discord

from bot.actions import (
    Action,
    ActionNotSupported,
    ActionRefused,
    AlertModerators,
    Attachment,
    CheckGrant,
    CheckMessage,
    CheckReadGate,
    DeleteMessage,
    GrantAccess,
    MemberUnreachable,
    PostToRoom,
    PrivateMessageNotNow,
    PrivateMessageRefused,
    RemoveFromRoom,
    ReplyToInvoker,
    RevokeAccess,
    SendPrivate,
    SetPostingAllowed,
    TimeoutMember,
)
from bot.clock import Clock, SystemClock
from bot.events import AdapterStatus, BotPosted, Event, Member, MessageDeleted, MessageRef, Room
from bot.i18n import N_, Phrase, t, translate
from bot.mentions import render

from . import member_actions
from .channels import (
    ForumPost,
    covered_channels,
    holds_private_threads,
    is_covered_kind,
    is_thread_only,
    post_message,
)
from .command_mentions import CommandNames
from .components import build_view
from .elsewhere import OtherShards, member_overwrite
from .grants import CONSEQUENCE, grant_problems
from .read_gate import ReadGate
from .replies import InteractionReplies
from .translate import (
    PLATFORM,
    jump_link,
    nonce_for,
    posting_overwrite,
    private_error_kind,
    snowflake,
    split_text,
    with_mention,
)

log = logging.getLogger("confidant.discord")

# Audit log reasons, read by moderators in the server's audit log: said (t) where used.
AUDIT_REASON = N_("Confidant: members post after agreeing to the room's confidentiality reminder")
ROLE_REASON = N_("Confidant: the role members hold once they agree to the room's reminder")
THREAD_REASON = N_(
    "Confidant: a member's DMs are closed; their reminder goes to a private thread"
)
# The private thread's name shows in the member's channel list: said in the reminder's language.
THREAD_NAME = N_("confidentiality reminder")
THREAD_ARCHIVE_MINUTES = 1440
UNKNOWN_MESSAGE = 10008  # https://discord.com/developers/docs/topics/opcodes-and-status-codes
POST_TITLE = "Confidentiality"  # the title of a post the bot opens in a forum channel
DM_TOO_FAST = 40003  # "You are opening direct messages too fast"
DM_OPEN_PAUSE = timedelta(seconds=30)
_REMEMBERED_KEYS = 4096


class Outbound:
    def __init__(
        self,
        client: discord.Client,
        replies: InteractionReplies,
        serves: Callable[[int], bool],
        *,
        clock: Clock | None = None,
        report: Callable[[Event], Awaitable[None]] | None = None,
        reminder_threads: set[int] | None = None,
        remember_thread: Callable[[int], Awaitable[None]] | None = None,
        elsewhere: OtherShards | None = None,
        command_names: CommandNames | None = None,
    ) -> None:
        self.client = client
        # The bot's slash commands, named in its texts as the reader's Discord shows them.
        self.names = command_names or CommandNames()
        # Sharded: a server on another shard is not in the cache (elsewhere.py).
        self.elsewhere = elsewhere
        self.replies = replies
        self._serves = serves
        self.clock = clock or SystemClock()
        self._report = report
        self._reminder_threads = reminder_threads if reminder_threads is not None else set()
        self._remember_thread = remember_thread
        # Deletions waiting for their time (the core's clock, so tests need not sleep). They
        # live in this process: a restart before their time leaves those posts standing.
        self._timers: set[asyncio.Task[None]] = set()
        # Keys performed by this process: the core's outbox may hand a key over again (its
        # periodic resend), and this makes that free even where Discord's nonce window ended.
        self._done: OrderedDict[str, None] = OrderedDict()
        # Roles Discord refused to give or take in this run: reported once, not per member.
        self._refused_roles: set[int] = set()
        # No new DM channel before this time (Discord said 40003, opening them too fast).
        self._dm_pause_until = datetime.min.replace(tzinfo=UTC)
        self.read_gate = ReadGate(self)  # channels only members who agreed can view

    async def perform(self, action: Action) -> None:
        key = getattr(action, "idempotency_key", None)
        if key is not None and key in self._done:
            log.info("%s %s already performed; skipped", type(action).__name__, key)
            return
        match action:
            case SendPrivate(member=member, text=text, idempotency_key=key):
                await self.send_private(
                    member,
                    self.names.for_language(text, action.language),
                    key,
                    _view(action),
                    private_file(action.attachment),
                )
            case PostToRoom(idempotency_key=key):
                await self.post_action(action)
            case ReplyToInvoker():
                await self.reply(action)
            case DeleteMessage(room=room, message_id=message_id):
                await self.delete(room, message_id)
            case SetPostingAllowed(room=room, member=member, allowed=allowed, grant=None):
                await self.set_posting(room, member, allowed)
            case SetPostingAllowed(room=room, member=member, allowed=allowed, grant=grant):
                await self.set_role(room, member, allowed, _snowflake(grant, "role"))
            case TimeoutMember(room=room, member=member, until=until):
                await member_actions.timeout(self, room, member, until)
            case RemoveFromRoom(room=room, member=member):
                await member_actions.remove(self, room, member)
            case CheckGrant(room=room, grant=grant):
                await self.check_grant(room, _snowflake(grant, "role"))
            case CheckMessage(room=room, message_id=message_id):
                await self.check_message(room, message_id)
            case AlertModerators(room_selector=selector, language=language):
                text = action.with_links(self._jump_link)
                await self.alert(selector, text, key, language)
            case CheckReadGate(room=room, grant=grant):
                await self.read_gate.check(room, grant)
            case GrantAccess(room=room, member=member, grant=grant):
                await self.read_gate.grant(room, member, grant)
            case RevokeAccess(room=room, member=member, grant=grant):
                await self.read_gate.revoke(room, member, grant)
            case _:
                raise ActionNotSupported(f"Discord has no {type(action).__name__}")
        if key is not None:
            self._done[key] = None
            while len(self._done) > _REMEMBERED_KEYS:
                self._done.popitem(last=False)

    # -- messages ---------------------------------------------------------------------------

    async def send_private(
        self,
        member: Member,
        text: str,
        key: str | None = None,
        view: discord.ui.View | None = None,
        file: discord.File | None = None,
    ) -> None:
        """A DM; what Discord's refusal means decides what the core does instead (see
        ``translate.private_error_kind``): every refused call counts toward Discord's
        invalid request limit, so none is repeated here."""
        user_id = _snowflake(member.id, "user")
        try:
            user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
            channel = user.dm_channel
            if channel is None:
                self._may_open_dm(user_id)
                channel = await user.create_dm()
            await self._send(channel, text, key, view=view, file=file)
        except discord.HTTPException as error:
            kind = private_error_kind(error.status, error.code)
            if error.code == DM_TOO_FAST:
                self._dm_pause_until = self.clock.now() + DM_OPEN_PAUSE
            if kind == "refused":
                log.info("user %s does not accept private messages", user_id)
                raise PrivateMessageRefused(member.id) from None
            if kind == "gone":
                log.info("user %s shares no server with the bot any more", user_id)
                raise MemberUnreachable(member.id) from None
            if kind == "not_now":
                log.info("DM to %s not taken now: %s %s", user_id, error.status, error.code)
                raise PrivateMessageNotNow(f"{error.status} {error.code}") from None
            raise

    def _may_open_dm(self, user_id: int) -> None:
        """After a 40003 no new DM channel is opened for a while: each try would be refused
        and counted against the bot."""
        if self.clock.now() < self._dm_pause_until:
            log.info("not opening a DM with %s yet: Discord asked to slow down", user_id)
            raise PrivateMessageNotNow("opening DMs paused after 40003")

    async def post(
        self, room: Room, text: str, mention: Member | None = None, key: str | None = None
    ) -> None:
        channel = await self._messageable(room.id)
        await self._send(channel, text, key, mention)

    async def post_action(self, action: PostToRoom) -> None:
        """A post with everything it may ask for: a private thread, components, an edit of
        an earlier post, a later deletion, and its id reported back to the core."""
        action = replace(action, text=self.names.for_language(action.text, action.language))
        if action.private_thread and action.mention is not None:
            channel: discord.abc.Messageable = await self._private_thread(
                action.room, action.mention, action.language
            )
        else:
            channel = await self._messageable(action.room.id)
        view = _view(action)
        key = action.idempotency_key
        message = None
        stale: str | None = None
        if action.replaces is not None:
            message = await self._edit(channel, action.replaces, action.text, view)
            stale = action.replaces if message is None else None
        sent = [message] if message is not None else []
        if not sent:
            # members the text names to notify (a burst's room reminder): Discord mentions,
            # each allowed to ping only that member
            text = render(action.text, lambda member_id: f"<@{member_id}>")
            sent = await self._send(
                channel, text, key, action.mention, view, notify=action.mentions
            )
        if action.delete_after_s is not None:
            for part in sent:
                self._delete_later(part, action.delete_after_s)
        if action.report_id and self._report is not None:
            posted = BotPosted(action.room, str(sent[-1].id), key, self.clock.now())
            await self._report(posted)
        if stale is not None:  # too long to edit into one message: the new post replaced it
            await self.delete(action.room, stale)

    async def close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        for task in list(self._timers):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _delete_later(self, message: discord.Message, seconds: float) -> None:
        task = asyncio.create_task(self._delete_after(message, seconds), name="delete-after")
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _delete_after(self, message: discord.Message, seconds: float) -> None:
        await self.clock.sleep(seconds)
        try:
            await message.delete()
        except discord.NotFound:
            pass  # someone removed it already
        except discord.HTTPException as error:
            log.warning("could not delete a fallback post in %s: %s", message.channel.id, error)

    async def _edit(
        self,
        channel: discord.abc.Messageable,
        message_id: str,
        text: str,
        view: discord.ui.View | None,
    ) -> discord.Message | None:
        """Edit in place when the text still fits one message; None means post anew."""
        chunks = split_text(text)
        target = getattr(channel, "get_partial_message", None)
        if len(chunks) > 1 or target is None:
            return None
        try:
            partial = target(_snowflake(message_id, "message"))
            return await partial.edit(
                content=chunks[0], view=view, allowed_mentions=discord.AllowedMentions.none()
            )
        except discord.NotFound:
            log.info("message %s to edit is gone; posting anew", message_id)
            return None

    async def _private_thread(
        self, room: Room, member: Member, language: str | None
    ) -> discord.Thread:
        """A thread only the member (and moderators who manage threads) can see, named (and
        its audit log reason worded) in the reminder's language."""
        parent_id = _snowflake(room.parent_id or room.id, "channel")
        parent = self.client.get_channel(parent_id) or await self.client.fetch_channel(parent_id)
        if not holds_private_threads(parent):
            kind = getattr(getattr(parent, "type", None), "name", "this kind of")
            raise ActionNotSupported(
                f"channel {parent_id} is a {kind} channel; Discord has private threads only "
                "in text channels"
            )
        try:
            thread = await parent.create_thread(
                name=translate(language, THREAD_NAME),
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                reason=translate(language, THREAD_REASON),
            )
            # known before the member is added (the gateway may report that at once), and
            # stored, so that after a restart adding someone here is still no join
            self._reminder_threads.add(thread.id)
            if self._remember_thread is not None:
                await self._remember_thread(thread.id)
            await thread.add_user(discord.Object(_snowflake(member.id, "user")))
        except discord.Forbidden as error:
            raise ActionRefused(
                Phrase(
                    "Discord answered {code}: no Create Private Threads permission in {channel}",
                    code=error.code,
                    channel=parent_id,
                )
            ) from None
        return thread

    async def reply(self, action: ReplyToInvoker) -> None:
        """Ephemeral if the command is still running, else privately, else in the room.
        Members named in it show as mentions, which ping nobody: ephemeral replies and the
        bot's messages are sent with mentions disabled."""
        action = replace(action, text=render(action.text, lambda member_id: f"<@{member_id}>"))
        if action.reply_handle is not None and await self.replies.answer(
            action.reply_handle, action.text
        ):
            return  # named there as the member's client shows commands (its locale)
        action = replace(action, text=self.names.for_language(action.text, action.language))
        if action.room.is_private_chat:
            await self.post(action.room, action.text)
            return
        try:
            await self.send_private(action.member, action.text)
        except PrivateMessageRefused:
            if action.private_only:
                raise  # never in the room: the words are for the member alone
            await self.post(action.room, action.text, mention=action.member)

    async def alert(
        self, selector: str, text: str, key: str | None = None, language: str | None = None
    ) -> None:
        """``key``: the alert outbox's, sent as the message nonce (Discord drops a repeat
        within its nonce window, and this process remembers what it sent)."""
        channel: discord.abc.Messageable | None = self._alert_channel(selector)
        if channel is None and self.elsewhere is not None:
            channel = await self.elsewhere.alert_channel(selector)
        if channel is None:
            raise ActionNotSupported(f"no Discord channel {selector!r} for moderator alerts")
        await self._send(channel, self.names.for_language(text, language), key)

    def _jump_link(self, ref: MessageRef) -> str | None:
        """A jump link needs the server, which only the channel knows; a channel this
        client does not see (or another platform's room) gets no link, only ids."""
        channel_id = snowflake(ref.room_id) if ref.platform == PLATFORM else None
        channel = self.client.get_channel(channel_id) if channel_id is not None else None
        if channel is None:
            return None
        guild = getattr(channel, "guild", None)
        return jump_link(guild.id if guild is not None else None, channel.id, ref.message_id)

    async def _send(
        self,
        channel: discord.abc.Messageable,
        text: str,
        key: str | None = None,
        mention: Member | None = None,
        view: discord.ui.View | None = None,
        file: discord.File | None = None,
        notify: Sequence[Member] = (),
    ) -> list[discord.Message]:
        """Long texts go out in parts; only the first mentions the member it is for, and a
        part pings only the ``notify`` members it names; buttons and a file go on the last
        part, under the whole text."""
        sent: list[discord.Message] = []
        chunks = split_text(text)
        for index, chunk in enumerate(chunks):
            content = with_mention(chunk, mention) if index == 0 else chunk
            pinged = [m for m in notify if f"<@{m.id}>" in chunk]
            if index == 0 and mention is not None:
                pinged.append(mention)
            ids = sorted({int(m.id) for m in pinged if m.id.isdigit()})
            allowed = (
                discord.AllowedMentions(
                    everyone=False,
                    roles=False,
                    users=[discord.Object(i) for i in ids],
                    replied_user=False,
                )
                if ids
                else discord.AllowedMentions.none()
            )
            last = index == len(chunks) - 1
            extra: dict[str, Any] = {"view": view} if view is not None and last else {}
            if file is not None and last:
                extra["file"] = file
            sent.append(
                await channel.send(
                    content, nonce=nonce_for(key, index), allowed_mentions=allowed, **extra
                )
            )
        return sent

    # -- moderation -------------------------------------------------------------------------

    async def delete(self, room: Room, message_id: str) -> None:
        target = self.client.get_partial_messageable(
            _snowflake(room.id, "channel")
        ).get_partial_message(_snowflake(message_id, "message"))
        forum = self.client.get_channel(_snowflake(room.id, "channel"))
        if is_thread_only(forum):  # what the bot posted "in" a forum is a post's first message
            target = post_message(self.client, forum.guild.id, target.id)  # type: ignore[union-attr]
        try:
            await target.delete()
        except discord.NotFound:
            log.info("message %s in %s was already gone", message_id, room.id)
        except discord.Forbidden as error:
            raise ActionRefused(
                Phrase(
                    "Discord answered {code}: no Manage Messages permission in {channel}",
                    code=error.code,
                    channel=room.id,
                )
            ) from None

    async def check_message(self, room: Room, message_id: str) -> None:
        """Is a post the core keeps still there? Only Discord's "Unknown Message" (10008)
        means gone, reported as the MessageDeleted the bot missed while offline; anything
        else (no access, a channel that is gone) says nothing about the message."""
        channel = self.client.get_partial_messageable(_snowflake(room.id, "channel"))
        try:
            await channel.fetch_message(_snowflake(message_id, "message"))
        except discord.NotFound as error:
            if error.code != UNKNOWN_MESSAGE:
                log.warning("could not check message %s in %s: %s", message_id, room.id,
                            error.code)
                return
            log.info("message %s in %s was removed while the bot was away", message_id, room.id)
            if self._report is not None:
                await self._report(MessageDeleted(room, message_id, self.clock.now()))
        except discord.HTTPException as error:
            log.warning("could not check message %s in %s: %s", message_id, room.id,
                        error.status)

    async def set_posting(self, room: Room, member: Member, allowed: bool) -> None:
        """A per-member channel overwrite: members who have not agreed cannot post at all."""
        # a thread follows its channel's overwrites (Send Messages in Threads among them)
        channel = self._guild_channel(room)
        if channel is None and self.elsewhere is not None:
            await self.elsewhere.set_posting(room, member, allowed)
            return
        if channel is None or not is_covered_kind(channel):
            raise ActionNotSupported(f"no channel {room.id} to set posting permissions in")
        if not channel.permissions_for(channel.guild.me).manage_roles:
            raise ActionNotSupported(f"no Manage Permissions permission in {room.id}")
        target = await self._member(channel.guild, member)
        if target is None:
            return  # no longer in the server: nothing to allow or block
        changed, overwrite = posting_overwrite(channel.overwrites_for(target), allowed)
        if not changed:
            # The cache may not show the bot's own last change yet: its CHANNEL_UPDATE can
            # still be on the way when the member agrees right after joining, and skipping
            # the allow then would leave them held for good. Discord's own copy decides.
            changed, overwrite = posting_overwrite(
                await self._fresh_overwrite(channel, target), allowed
            )
            if not changed:
                return
        try:
            await channel.set_permissions(target, overwrite=overwrite, reason=t(AUDIT_REASON))
        except discord.Forbidden as error:
            raise ActionRefused(
                Phrase(
                    "Discord answered {code} to a permission change in {channel}",
                    code=error.code,
                    channel=room.id,
                )
            ) from None
        log.info("posting %s for %s in %s", "allowed" if allowed else "held", member.id, room.id)

    async def _fresh_overwrite(
        self, channel: discord.abc.GuildChannel, target: discord.Member
    ) -> discord.PermissionOverwrite:
        """The member's overwrite as Discord holds it now (Get Channel), not as cached."""
        try:
            data = await self.client.http.get_channel(channel.id)
        except discord.HTTPException:
            return channel.overwrites_for(target)
        return member_overwrite(dict(data), target.id)

    async def set_role(self, room: Room, member: Member, allowed: bool, role_id: int) -> None:
        """Give or take the role that lets members post in the room: one role serves any
        number of members, where channel overwrites stop at 1000 per channel."""
        channel = self._guild_channel(room)
        if channel is None and self.elsewhere is not None:
            await self.elsewhere.set_role(room, member, allowed, role_id)
            return
        if channel is None:
            raise ActionNotSupported(f"no Discord channel {room.id} in a served server")
        target = await self._member(channel.guild, member)
        if target is None:
            return  # no longer in the server: nothing to give or take
        if any(r.id == role_id for r in target.roles) == allowed:
            return
        role = discord.Object(role_id)
        try:
            if allowed:
                await target.add_roles(role, reason=t(ROLE_REASON))
            else:
                await target.remove_roles(role, reason=t(ROLE_REASON))
        except (discord.Forbidden, discord.NotFound) as error:
            await self._role_refused(channel, role_id, error)
            raise ActionNotSupported(
                f"Discord refused to change role {role_id} in {channel.guild.id}"
            ) from None
        verb = "given" if allowed else "taken"
        log.info("posting role %s %s for %s in %s", role_id, verb, member.id, room.id)

    async def check_grant(self, room: Room, role_id: int) -> None:
        """The core names the role a room uses; say now, not at the first agreement, if the
        bot cannot give it or it gates nothing."""
        channel = self._guild_channel(room)
        if channel is None:
            log.info("no served channel %s to check role %s in", room.id, role_id)
            return
        problems = grant_problems(channel.guild, channel, role_id)
        if problems:
            self._refused_roles.add(role_id)
            await self._report_problems(problems)

    async def _role_refused(
        self, channel: discord.abc.GuildChannel, role_id: int, error: discord.HTTPException
    ) -> None:
        log.warning("role %s refused in guild %s: %s", role_id, channel.guild.id, error.status)
        if role_id in self._refused_roles:
            return
        self._refused_roles.add(role_id)
        problems = grant_problems(channel.guild, channel, role_id) or [
            Phrase(
                "Discord refused to give or take the role {role} that lets members post in "
                "#{channel} ({status}); check the bot's Manage Roles permission and that its "
                "highest role is above that role; {consequence}",
                role=role_id,
                channel=channel.name,
                status=error.status,
                consequence=CONSEQUENCE,
            )
        ]
        await self._report_problems(problems)

    async def _report_problems(self, problems: list[str]) -> None:
        if self._report is not None:
            await self._report(AdapterStatus(PLATFORM, tuple(problems), self.clock.now()))

    # -- lookups ----------------------------------------------------------------------------

    def _guild_channel(self, room: Room) -> discord.abc.GuildChannel | None:
        """The room's channel in a served server; for a thread its parent, whose
        permissions the thread follows."""
        for raw in (room.id, room.parent_id):
            channel_id = snowflake(raw) if raw is not None else None
            channel = self.client.get_channel(channel_id) if channel_id is not None else None
            if isinstance(channel, discord.Thread):
                channel = channel.parent
            if isinstance(channel, discord.abc.GuildChannel) and self._serves(channel.guild.id):
                return channel
        return None

    async def _messageable(self, room_id: str) -> discord.abc.Messageable:
        if snowflake(room_id) is None:  # a channel a policy names by name (a welcome room)
            named = self._alert_channel(room_id)
            if named is not None:
                return named
        channel_id = _snowflake(room_id, "channel")
        channel = self.client.get_channel(channel_id)
        if channel is None:
            channel = await self.client.fetch_channel(channel_id)
        if isinstance(channel, discord.ForumChannel):
            return ForumPost(self.client, channel, POST_TITLE)  # type: ignore[return-value]
        if not isinstance(channel, discord.abc.Messageable):
            raise ActionNotSupported(f"channel {room_id} does not take messages")
        return channel

    def _alert_channel(self, selector: str) -> discord.abc.Messageable | None:
        name = selector.lstrip("#")
        channel_id = snowflake(name)
        for guild in self.client.guilds:
            if not self._serves(guild.id):
                continue
            for channel in covered_channels(guild):
                if is_thread_only(channel) or not isinstance(channel, discord.abc.Messageable):
                    continue  # a forum takes posts, not alerts
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


def _view(action: PostToRoom | SendPrivate) -> discord.ui.View | None:
    """The action's buttons and select as components, or None when it offers none."""
    if not action.has_choices:
        return None
    try:
        return build_view(action.buttons, action.select)
    except ValueError as error:  # an id Discord components cannot carry
        raise ActionNotSupported(str(error)) from None


def private_file(attachment: Attachment | None) -> discord.File | None:
    """A file for a DM, read from memory: the export never touches the bot's disk."""
    if attachment is None:
        return None
    return discord.File(io.BytesIO(attachment.data), filename=attachment.name)


def _snowflake(value: str, what: str) -> int:
    number = snowflake(value)
    if number is None:
        raise ActionNotSupported(f"{value!r} is not a Discord {what} id")
    return number
