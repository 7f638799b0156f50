"""Which Discord channels a policy can cover, and which channel a thread belongs to.

A policy names channels; on Discord members talk in more than text channels: announcement
channels, the text chat of voice and stage channels, and the posts (threads) of forum and
media channels. Every place the adapter looks for "the channels of a server" asks
``covered_channels`` so none of those kinds is forgotten at one call site and not another.

Threads belong to their channel (a thread's ``parent_id``): their messages, joins and links
are the channel's. A thread the cache does not hold (archived threads are not synced at
connect, https://discord.com/developers/docs/topics/threads#active--archived-threads) is
looked up once over REST and remembered, so a link into an old thread still counts as a
link into its confidential channel.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import discord

from bot.events import MessagePosted, MessageRef, Room
from bot.i18n import Phrase

from .translate import PLATFORM, room_of, snowflake

log = logging.getLogger("confidant.discord")

# Text (and announcement) channels, voice and stage channels (their text chat), forum and
# media channels (their posts): everything a member can write in, other than threads.
COVERED_KINDS: tuple[type, ...] = (
    discord.TextChannel,
    discord.VoiceChannel,
    discord.StageChannel,
    discord.ForumChannel,
)
_REMEMBERED = 1024
MAX_LOOKUPS_PER_MESSAGE = 3  # REST lookups one message may cost; the rest stay unresolved


def covered_channels(guild: discord.Guild) -> list[discord.abc.GuildChannel]:
    """Every channel of ``guild`` a policy may name, in the server's order."""
    found = [c for c in guild.channels if isinstance(c, COVERED_KINDS)]
    found.sort(key=lambda c: (c.position, c.id))
    return found


def is_covered_kind(channel: Any) -> bool:
    return isinstance(channel, COVERED_KINDS)


def is_thread_only(channel: Any) -> bool:
    """Forum and media channels hold posts (threads) only: "Messages cannot be sent directly
    in forum channels" (https://discord.com/developers/docs/topics/threads#forums)."""
    return isinstance(channel, discord.ForumChannel)


def holds_private_threads(channel: Any) -> bool:
    """Private threads "can only be created in GUILD_TEXT channels"
    (https://discord.com/developers/docs/topics/threads#public--private-threads)."""
    return isinstance(channel, discord.TextChannel) and channel.type is discord.ChannelType.text


def kind_problems(channel: Any, me: discord.Member) -> tuple[str, ...]:
    """What a channel's kind asks of the bot beyond a text channel's, in an admin's words.

    A voice or stage channel's permissions can be changed only by someone who may connect to
    it: without Connect, Manage Roles and Manage Channels count as denied there
    (``discord/channel.py: VocalGuildChannel.permissions_for``), so the bot could not hold a
    member's posting in its text chat."""
    vocal = isinstance(channel, discord.VoiceChannel | discord.StageChannel)
    if vocal and not channel.permissions_for(me).connect:
        return (
            Phrase(
                "Connect in #{channel} (Discord lets only who can connect to a voice or "
                "stage channel change its permissions, which holding posting needs)",
                channel=channel.name,
            ),
        )
    return ()


class ThreadParents:
    """thread id -> parent channel id, from discord.py's cache or else one GET /channels/{id}
    (remembered, found or not, so a busy channel's links cost one lookup each)."""

    def __init__(self, client: discord.Client, size: int = _REMEMBERED) -> None:
        self.client = client
        self.size = size
        self._known: OrderedDict[int, tuple[int, str | None] | None] = OrderedDict()

    async def parent_of(self, channel_id: int) -> tuple[int, str | None] | None:
        """(parent id, parent name) if ``channel_id`` is a thread, else None."""
        channel = self.client.get_channel(channel_id)
        if channel is not None:
            return _parent(channel)
        if channel_id in self._known:
            self._known.move_to_end(channel_id)
            return self._known[channel_id]
        try:
            fetched = await self.client.fetch_channel(channel_id)
        except (discord.HTTPException, discord.InvalidData) as error:
            # 403/404: a channel the bot cannot see or that is gone; not a thread it knows
            log.info("channel %s could not be looked up: %s", channel_id, type(error).__name__)
            found = None
        else:
            found = _parent(fetched)
        self._known[channel_id] = found
        while len(self._known) > self.size:
            self._known.popitem(last=False)
        return found

    async def room(self, channel: Any) -> Room:
        """The room of a message's channel; a thread discord.py did not cache (it shows as
        a PartialMessageable) still names its parent, so its policy applies."""
        room = room_of(channel)
        if room.parent_id is not None or not isinstance(channel, discord.PartialMessageable):
            return room
        parent = await self.parent_of(channel.id)
        if parent is None:
            return room
        return dataclasses.replace(room, parent_id=str(parent[0]), parent_name=parent[1])

    async def room_by_id(self, channel_id: int) -> Room:
        """The room of a channel known only by id (a raw delete)."""
        channel = self.client.get_channel(channel_id)
        if channel is not None:
            return room_of(channel)
        room = Room(PLATFORM, str(channel_id))
        parent = await self.parent_of(channel_id)
        if parent is None:
            return room
        return dataclasses.replace(room, parent_id=str(parent[0]), parent_name=parent[1])

    async def message_event(
        self, event: MessagePosted, channel: Any, guilds: Mapping[str, int | None]
    ) -> MessagePosted:
        """``event`` with its room and every forward, reply and link that names a thread
        resolved to the thread's channel (the ids stay the thread's: links need them).
        ``guilds``: the server of each referenced channel id, where known; a channel is looked
        up only in a server the bot is in (elsewhere Discord would answer 403)."""
        budget = [MAX_LOOKUPS_PER_MESSAGE]
        room = await self.room(channel)
        forward = await self._resolve(event.forward_of, budget, guilds)
        reply = await self._resolve(event.reply_to, budget, guilds)
        links = tuple([await self._resolve(ref, budget, guilds) for ref in event.links])
        return dataclasses.replace(
            event,
            room=room,
            forward_of=forward,
            reply_to=reply,
            links=tuple(r for r in links if r is not None),
        )

    async def _resolve(
        self, ref: MessageRef | None, budget: list[int], guilds: Mapping[str, int | None]
    ) -> MessageRef | None:
        if ref is None or ref.platform != PLATFORM or ref.parent_id is not None:
            return ref
        channel_id = snowflake(ref.room_id)
        if channel_id is None:
            return ref
        cached = self.client.get_channel(channel_id) is not None or channel_id in self._known
        guild_id = guilds.get(ref.room_id)
        reachable = guild_id is not None and self.client.get_guild(guild_id) is not None
        if not cached and (budget[0] <= 0 or not reachable):
            return ref
        if not cached:
            budget[0] -= 1
        parent = await self.parent_of(channel_id)
        return ref if parent is None else dataclasses.replace(ref, parent_id=str(parent[0]))


def _parent(channel: Any) -> tuple[int, str | None] | None:
    if not isinstance(channel, discord.Thread):
        return None
    parent = channel.parent
    return channel.parent_id, getattr(parent, "name", None)


class ForumPost:
    """Posting "in" a forum or media channel: Discord takes no message there, only posts (a
    public thread opened with its first message, which shares the thread's id; Channel
    resource, Start Thread in Forum or Media Channel). The first part of a text opens a post,
    later parts go into it, so a rules message or a reminder reads there as in a channel."""

    def __init__(self, client: discord.Client, forum: discord.ForumChannel, title: str) -> None:
        self.client = client
        self.forum = forum
        self.title = title
        self.thread: discord.Thread | None = None

    async def send(
        self,
        content: str,
        *,
        nonce: str | None = None,
        allowed_mentions: discord.AllowedMentions | None = None,
        **extra: Any,
    ) -> discord.Message:
        if self.thread is not None:
            return await self.thread.send(
                content, nonce=nonce, allowed_mentions=allowed_mentions, **extra
            )
        # no nonce on a new post (Discord takes none there): a resend opens a second post
        made = await self.forum.create_thread(
            name=self.title,
            content=content,
            allowed_mentions=allowed_mentions or discord.AllowedMentions.none(),
            **extra,
        )
        self.thread = made.thread
        return made.message

    def get_partial_message(self, message_id: int) -> discord.PartialMessage:
        """A post's first message lives in the post, whose id it shares."""
        return post_message(self.client, self.forum.guild.id, message_id)


def post_message(client: discord.Client, guild_id: int, message_id: int) -> discord.PartialMessage:
    """The first message of a forum post, by its id (which is the post's id too)."""
    return client.get_partial_messageable(message_id, guild_id=guild_id).get_partial_message(
        message_id
    )
