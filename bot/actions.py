"""What the core asks an adapter to do.

Actions are frozen intents. A private message carries its own fallback so that the decision
"what if the member's DMs are closed" is made by the core (from the policy), while only the
adapter can find out that the platform refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.events import Member, Room


@dataclass(frozen=True, slots=True)
class PostToRoom:
    room: Room
    text: str
    mention: Member | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class SendPrivate:
    """Write to a member privately; if the platform refuses, perform ``fallback`` instead."""

    member: Member
    text: str
    fallback: tuple[Action, ...] = ()
    idempotency_key: str | None = None
    # Where a private conversation must first be accepted (Matrix invites), how long to
    # wait before reporting PrivateMessageUnread so the core can fall back.
    unread_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class ReplyToInvoker:
    """Answer the person who ran a command so that only they see it, as far as the platform can:
    an ephemeral reply, else a private message, else the room with a mention."""

    room: Room
    member: Member
    text: str
    reply_handle: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    room: Room
    message_id: str
    author: Member | None = None


@dataclass(frozen=True, slots=True)
class SetPostingAllowed:
    room: Room
    member: Member
    allowed: bool


@dataclass(frozen=True, slots=True)
class AlertModerators:
    """A note to a moderators' room. It must never quote a member's message."""

    platform: str
    room_selector: str  # the policy's alert room: id, alias or name, resolved by the adapter
    text: str


@dataclass(frozen=True, slots=True)
class JoinRoom:
    room: Room


@dataclass(frozen=True, slots=True)
class LeaveRoom:
    """Also declines an invite."""

    room: Room


Action = (
    PostToRoom
    | SendPrivate
    | ReplyToInvoker
    | DeleteMessage
    | SetPostingAllowed
    | AlertModerators
    | JoinRoom
    | LeaveRoom
)


class PrivateMessageRefused(Exception):
    """Raised by an adapter when the platform will not deliver a private message."""


class ActionNotSupported(Exception):
    """Raised by an adapter for an action its platform cannot carry out."""
