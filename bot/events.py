"""What happened on a platform, as the core sees it.

Events are frozen facts: adapters build them from platform payloads and never attach the
raw payload or a client handle, so the core cannot grow a hidden dependency on a platform
and a handler cannot mutate what another handler sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType

PlatformName = NewType("PlatformName", str)
RoomId = NewType("RoomId", str)
UserId = NewType("UserId", str)
MessageId = NewType("MessageId", str)


@dataclass(frozen=True, slots=True)
class Member:
    """A person (or bot) on one platform; ids are only unique within that platform."""

    platform: str
    id: str
    display_name: str | None = None
    is_bot: bool = False

    @property
    def label(self) -> str:
        return self.display_name or self.id


@dataclass(frozen=True, slots=True)
class Room:
    """A room, channel or thread. Name and aliases let policies select rooms readably."""

    platform: str
    id: str
    name: str | None = None
    aliases: tuple[str, ...] = ()
    is_private_chat: bool = False
    parent_id: str | None = None  # a thread's parent channel, which it inherits policy from
    parent_name: str | None = None  # so a parent selected by name covers its threads too

    @property
    def label(self) -> str:
        return self.name or (self.aliases[0] if self.aliases else self.id)


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Points at one message; used for replies, forwards and links."""

    platform: str
    room_id: str
    message_id: str | None = None
    # The channel a thread belongs to, when ``room_id`` is a thread: a link or forward out
    # of a thread of a confidential channel points into that channel's confidential space.
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class MemberJoined:
    """A member gained access to a room (a real join, not a profile change)."""

    room: Room
    member: Member
    at: datetime
    # From the adapter: private messages waiting to go out on this platform as the join is
    # handed over, and whether the platform is rate-limiting the bot (see bot/bursts.py).
    private_backlog: int = 0
    rate_limited: bool = False


@dataclass(frozen=True, slots=True)
class MemberLeft:
    """A member lost access to a room: left, kicked or banned."""

    room: Room
    member: Member
    at: datetime


@dataclass(frozen=True, slots=True)
class RoomMembers:
    """Everyone who can see a room, counted completely (never a partial cache).

    For platforms whose member list is not always at hand (Discord sends it in chunks,
    and only some time after a restart or a new gateway session): the core compares it
    with the last complete count it stored and treats the difference, and only that, as
    joins and leaves. The first count of a room is taken as it is: nobody is news."""

    room: Room
    members: tuple[Member, ...]
    at: datetime


@dataclass(frozen=True, slots=True)
class MessagePosted:
    """A message in a room. ``text`` lives only in memory while handlers run.

    ``relayed``: the author is a relay posting for a person (a Discord webhook such as a
    PluralKit proxy, a bridge): the words are a member's and count for leak detection, but
    the author is no one to gate, remind or write to (``author.is_bot`` stays true).
    """

    room: Room
    author: Member
    message_id: str
    text: str
    at: datetime
    reply_to: MessageRef | None = None
    forward_of: MessageRef | None = None
    links: tuple[MessageRef, ...] = ()
    relayed: bool = False


@dataclass(frozen=True, slots=True)
class MessageEdited:
    """A member changed what a message says (not a platform adding a link preview). The
    links in the new text are checked as in a new post; ``relayed`` as for MessagePosted."""

    room: Room
    author: Member
    message_id: str
    text: str
    at: datetime
    links: tuple[MessageRef, ...] = ()
    relayed: bool = False


@dataclass(frozen=True, slots=True)
class MessageDeleted:
    room: Room
    message_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CommandInvoked:
    """A member ran one of the registry's commands.

    Text platforms give positional ``argv``; Discord gives named ``options``. The core binds
    both against the command's spec, so argument checking is written once. ``reply_handle``
    is an opaque token the adapter needs to answer privately (e.g. an interaction).
    """

    room: Room
    invoker: Member
    name: str
    at: datetime
    argv: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    reply_handle: str | None = None
    # Message links in the command's arguments, parsed by the adapter as in a post: only
    # the adapter knows its platform's links (a /report pointing at a message).
    links: tuple[MessageRef, ...] = ()
    # The member's own language where the platform tells it (Discord's interaction locale,
    # BCP 47); the core answers in it where the policy says member_language: platform.
    locale: str | None = None


@dataclass(frozen=True, slots=True)
class ChoiceMade:
    """A member pressed a button or picked from a select menu that the core posted.

    ``choice_id`` is the id the core gave the button or select; ``values`` are the picked
    options of a select (empty for a button). ``reply_handle`` works as for commands, so the
    answer can be ephemeral.
    """

    room: Room
    member: Member
    choice_id: str
    at: datetime
    values: tuple[str, ...] = ()
    reply_handle: str | None = None
    locale: str | None = None  # as for CommandInvoked


@dataclass(frozen=True, slots=True)
class BotPosted:
    """A post the core asked to keep (``PostToRoom.report_id``) is out, under this id; the
    core needs it to edit that post later or to recognise it after a restart."""

    room: Room
    message_id: str
    idempotency_key: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class PrivateReply:
    """A member wrote to the bot in a private conversation (not a command). ``message_id``
    lets the core take a message replayed after a crash only once."""

    room: Room
    member: Member
    text: str
    at: datetime
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class ModeratorGranted:
    """Only the console emits this (``:mod USER``) so a policy can be tried without accounts."""

    member: Member
    at: datetime


@dataclass(frozen=True, slots=True)
class InvitedToRoom:
    """Someone invited the bot; the core decides whether a policy wants it there."""

    room: Room
    inviter: Member
    at: datetime


@dataclass(frozen=True, slots=True)
class Lack:
    """One thing the bot may not do in a room: which ability (``ABILITIES``), and how the
    platform's admin grants it, in that platform's words."""

    ability: str
    fix: str


# The abilities a policy can need in a room; adapters report which ones are lacking.
VIEW, SEND, READ_HISTORY, PRIVATE_THREADS = "view", "send", "read_history", "private_threads"
ABILITIES = frozenset({VIEW, SEND, READ_HISTORY, PRIVATE_THREADS})


@dataclass(frozen=True, slots=True)
class BotPermissions:
    """What the bot may do in a room, as checked by the adapter (at start or on joining)."""

    room: Room
    can_delete: bool
    can_restrict_posting: bool
    at: datetime
    missing: tuple[str, ...] = ()  # plain words, e.g. "power level 50 to redact"
    # Abilities beyond the agreement gate that the room lacks; the core reports those its
    # policy needs (an adapter cannot know the policy).
    lacking: tuple[Lack, ...] = ()


@dataclass(frozen=True, slots=True)
class PrivateMessageUnread:
    """A private message went to a conversation the member never joined in time."""

    member: Member
    idempotency_key: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AccessRequested:
    """A member asks to read a read-gated room they cannot see yet (``reminder.gate:
    read``). ``via`` says how: "knock" (a Matrix knock), "request" (asked the bot, e.g.
    ``!join``), "server_join" (joined a Discord server whose gated channel they cannot
    see), "role_gained" (a Discord role showed them the gated channel's category),
    "console". The core answers with the reminder, or with GrantAccess once agreed."""

    room: Room
    member: Member
    at: datetime
    via: str = "console"


@dataclass(frozen=True, slots=True)
class AdapterStatus:
    """An adapter reports what it cannot do (missing permissions), for moderators to fix."""

    platform: str
    problems: tuple[str, ...] = field(default_factory=tuple)
    at: datetime | None = None


Event = (
    MemberJoined
    | MemberLeft
    | RoomMembers
    | MessagePosted
    | MessageEdited
    | MessageDeleted
    | CommandInvoked
    | ChoiceMade
    | BotPosted
    | PrivateReply
    | ModeratorGranted
    | InvitedToRoom
    | BotPermissions
    | PrivateMessageUnread
    | AdapterStatus
    | AccessRequested
)
