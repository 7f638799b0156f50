"""What a member (not the bot) gets to read: the messages their client is sent, and history.

The fake drives only the bot's gateway session, but a read gate is about what *members*
read, so the fake keeps, per user, the messages Discord would have put in front of them.
Each rule is on by default (``FakeDiscord`` registers it on the world):

- A guild channel's MESSAGE_CREATE goes only to members who can view the channel at that
  moment: "VIEW_CHANNEL: allows guild members to view a channel, which includes reading
  messages in text channels" (https://discord.com/developers/docs/topics/permissions,
  "Permissions" table), and guild events reach a session only for channels it may view
  (https://discord.com/developers/docs/events/gateway#receiving-events). Gaining View
  Channel later does not deliver what was sent before: that is history.
- A DM's messages go to its recipients; an ephemeral message (flag 1 << 6) only to the
  member whose interaction it answers
  (https://discord.com/developers/docs/resources/message#message-object-message-flags).
- Get Channel Messages: "If operating on a guild channel, this endpoint requires the
  VIEW_CHANNEL permission to be present on the current user. If the current user is missing
  the READ_MESSAGE_HISTORY permission in the channel, then no messages will be returned"
  (https://discord.com/developers/docs/resources/message#get-channel-messages); without View
  Channel Discord answers 403 with code 50001 Missing Access.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import permissions as perm
from .state import DM, FakeChannel, FakeMessage, FakeUser, World

EPHEMERAL = 1 << 6
MISSING_ACCESS = 50001


class MemberMissingAccess(PermissionError):
    """A member asked for what Discord answers with 403 / 50001 (Missing Access)."""

    status = 403
    code = MISSING_ACCESS


@dataclass(frozen=True)
class Arrival:
    """One message in front of a member, and when (``time.monotonic()``) it got there."""

    message_id: int
    channel_id: int
    at: float


@dataclass
class MemberViews:
    world: World
    inbox: dict[int, list[Arrival]] = field(default_factory=dict)

    def message_created(self, message: FakeMessage) -> None:
        """Called by the world for every new message: fan it out to who may read it."""
        channel = self.world.channels.get(message.channel_id)
        if channel is None:
            return
        now = time.monotonic()  # the clock the fake's request records use
        for user_id in self._readers(channel, message):
            self.inbox.setdefault(user_id, []).append(Arrival(message.id, channel.id, now))

    def _readers(self, channel: FakeChannel, message: FakeMessage) -> list[int]:
        bot_id = self.world.bot_user.id
        if message.flags & EPHEMERAL:
            who = message.interaction_user_id
            return [who] if who is not None else []
        if channel.type == DM:
            return [u for u in channel.recipient_ids if u != message.author_id]
        if channel.guild_id is None:
            return []
        guild = self.world.guilds[channel.guild_id]
        return [
            user_id
            for user_id in guild.members
            if user_id not in (bot_id, message.author_id)
            and perm.can_view(self.world, channel, user_id)
        ]

    # -- what a test asks ------------------------------------------------------------------

    def received(self, user: FakeUser, channel: FakeChannel | None = None) -> list[FakeMessage]:
        """The messages ``user``'s client was sent (in ``channel`` only, if given), still
        existing, oldest first."""
        messages = self.world.messages
        return [
            messages[a.message_id]
            for a in self.inbox.get(user.id, [])
            if (channel is None or a.channel_id == channel.id) and a.message_id in messages
        ]

    def arrivals(self, user: FakeUser, channel: FakeChannel) -> list[Arrival]:
        return [a for a in self.inbox.get(user.id, []) if a.channel_id == channel.id]

    def can_view(self, user: FakeUser, channel: FakeChannel) -> bool:
        return perm.can_view(self.world, channel, user.id)

    def history(self, user: FakeUser, channel: FakeChannel, limit: int = 50) -> list[FakeMessage]:
        """Get Channel Messages as ``user``: newest first, at most ``limit`` (1..100)."""
        if channel.guild_id is None:
            if user.id not in channel.recipient_ids:
                raise MemberMissingAccess(f"{user.username} is not in this DM")
        elif not perm.can_view(self.world, channel, user.id):
            raise MemberMissingAccess(f"{user.username} cannot view #{channel.name} (50001)")
        elif not perm.can(self.world, channel, user.id, perm.READ_MESSAGE_HISTORY):
            return []
        messages = [
            m
            for m in self.world.messages.values()
            if m.channel_id == channel.id
            and (not m.flags & EPHEMERAL or m.interaction_user_id == user.id)
        ]
        messages.sort(key=lambda m: m.id, reverse=True)
        return messages[: max(1, min(limit, 100))]
