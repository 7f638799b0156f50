"""Pure translation between discord.py's objects and the core's events and actions.

Nothing here talks to Discord or keeps state, so every rule about what a Discord message
*means* (a forward, a reply, a link to a confidential channel, a DM command) is testable with
plain stand-in objects, and the I/O module stays about connections and calls only.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import discord

from bot.commands import Registry
from bot.events import (
    PRIVATE_THREADS,
    READ_HISTORY,
    SEND,
    VIEW,
    CommandInvoked,
    Lack,
    Member,
    MessageEdited,
    MessagePosted,
    MessageRef,
    PrivateReply,
    Room,
)
from bot.i18n import Phrase

PLATFORM = "discord"
PREFIX = "/"
MAX_MESSAGE = 2000  # Discord's limit on a message's content
MAX_NONCE = 25  # Discord's limit on a nonce's length
MAX_DESCRIPTION = 100  # Discord's limit on command and option descriptions
# What a refused DM means (docs: topics/opcodes-and-status-codes, JSON error codes).
# 50007 "Cannot send messages to this user": the member's DMs are closed; fall back now.
REFUSED_PRIVATE_CODES = frozenset({50007})
# 50278 "... no mutual guilds" and 10013 "Unknown user": nobody the bot can reach any more.
GONE_PRIVATE_CODES = frozenset({50278, 10013})

_LINK_RE = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/"
    r"(?P<guild>\d+|@me)/(?P<channel>\d+)/(?P<message>\d+)(?!\d)"
)
_THREAD_TYPES = frozenset(
    {
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
        discord.ChannelType.news_thread,
    }
)
_CONVERSATION_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def private_error_kind(status: int, code: int) -> str:
    """A Discord error on a DM, classified: "refused" (closed DMs: the fallback now),
    "gone" (no shared server: nothing, no fallback), "not_now" (40003 opening DMs too fast,
    any other 4xx: try again later, a bounded number of times), or "server" (5xx)."""
    if code in REFUSED_PRIVATE_CODES:
        return "refused"
    if code in GONE_PRIVATE_CODES:
        return "gone"
    return "not_now" if status < 500 else "server"


# -- who and where -------------------------------------------------------------------------


def member_of(user: Any) -> Member:
    """A discord.User or discord.Member; the display name is only a label, never an id."""
    return Member(PLATFORM, str(user.id), user.display_name, bool(getattr(user, "bot", False)))


def is_thread(channel: Any) -> bool:
    return getattr(channel, "type", None) in _THREAD_TYPES


def room_of(channel: Any) -> Room:
    """Threads name their parent so they inherit its policy; channel names let policies
    select Discord channels by name."""
    if is_thread(channel):
        parent = getattr(channel, "parent_id", None)
        parent_channel = getattr(channel, "parent", None)
        return Room(
            PLATFORM,
            str(channel.id),
            channel.name,
            parent_id=_opt_str(parent),
            parent_name=getattr(parent_channel, "name", None),
        )
    return Room(PLATFORM, str(channel.id), getattr(channel, "name", None))


def private_room(channel_id: int, user: Any) -> Room:
    return Room(
        PLATFORM,
        str(channel_id),
        f"private chat with {user.display_name}",
        is_private_chat=True,
    )


def room_for_id(channel: Any | None, channel_id: int) -> Room:
    """A room even when the channel is not cached (a delete in a channel seen only by id)."""
    return room_of(channel) if channel is not None else Room(PLATFORM, str(channel_id))


# -- messages ---------------------------------------------------------------------------------


def parse_message_links(text: str) -> tuple[MessageRef, ...]:
    """Discord message links in ``text``, once each, in order of appearance."""
    seen: dict[tuple[str, str], MessageRef] = {}
    for match in _LINK_RE.finditer(text):
        key = (match["channel"], match["message"])
        if key not in seen:
            seen[key] = MessageRef(PLATFORM, match["channel"], match["message"])
    return tuple(seen.values())


def linked_guilds(text: str) -> dict[str, int]:
    """channel id -> server id of the message links in ``text`` (a DM link names none)."""
    return {
        match["channel"]: int(match["guild"])
        for match in _LINK_RE.finditer(text)
        if match["guild"].isdigit()
    }


def is_conversation(message: Any) -> bool:
    """Plain posts and replies; system notices (joins, pins, boosts) are Discord's words,
    not a member's, and must never be gated or deleted as if they were."""
    return getattr(message, "type", discord.MessageType.default) in _CONVERSATION_TYPES


def forward_of(message: Any) -> MessageRef | None:
    ref = getattr(message, "reference", None)
    if ref is None or ref.type is not discord.MessageReferenceType.forward:
        return None
    return MessageRef(PLATFORM, str(ref.channel_id), _opt_str(ref.message_id))


def reply_to(message: Any) -> MessageRef | None:
    ref = getattr(message, "reference", None)
    if ref is None or ref.type is not discord.MessageReferenceType.reply:
        return None
    return MessageRef(PLATFORM, str(ref.channel_id), _opt_str(ref.message_id))


def text_of(message: Any) -> str:
    """A forward has empty content; what it carries lives in its snapshots."""
    if forward_of(message) is not None and not message.content:
        snapshots = getattr(message, "message_snapshots", None) or ()
        return "\n\n".join(s.content for s in snapshots if s.content)
    return message.content or ""


def is_relayed(message: Any) -> bool:
    """A webhook's message (a PluralKit-style proxy reposting a member's words under the
    member's chosen name): Discord makes its author the webhook (id, name), a User with
    ``bot`` set, never a Member (https://discord.com/developers/docs/resources/message,
    message object note 1; discord.py: ``Message._handle_author``)."""
    return getattr(message, "webhook_id", None) is not None


def guild_message_event(message: Any, at: datetime) -> MessagePosted:
    text = text_of(message)
    return MessagePosted(
        room=room_of(message.channel),
        author=member_of(message.author),
        message_id=str(message.id),
        text=text,
        at=at,
        reply_to=reply_to(message),
        forward_of=forward_of(message),
        links=parse_message_links(text),
        relayed=is_relayed(message),
    )


def private_message_event(
    message: Any, registry: Registry, at: datetime
) -> CommandInvoked | PrivateReply:
    """Slash commands exist only in servers, so in a DM ``/agree`` arrives as text."""
    room = private_room(message.channel.id, message.author)
    member = member_of(message.author)
    text = message.content or ""
    parsed = registry.parse_text(text, PREFIX)
    if parsed is not None:
        links = parse_message_links(text)
        return CommandInvoked(room, member, parsed.spec.name, at, argv=parsed.argv, links=links)
    unknown = registry.unknown_command(text, PREFIX)
    if unknown is not None:
        argv = registry.words_after(text, PREFIX, unknown)
        return CommandInvoked(room, member, unknown, at, argv=argv)
    return PrivateReply(room, member, text, at, message_id=str(message.id))


def is_edit(data: Mapping[str, Any], message: Any, cached: Any | None) -> bool:
    """Whether a MESSAGE_UPDATE is someone changing what the message says.

    Every update carries the whole message (gateway-events#message-update, since 2024), so
    the payload cannot tell by its fields; ``edited_timestamp`` can: Discord sets it when the
    author edits, and leaves it when it adds link previews, pins or flags (an unfurl of a
    never-edited message has none; one after an edit keeps the edit's time, which the cached
    copy shows; without a cached copy it is taken as the edit it may be)."""
    if data.get("edited_timestamp") is None:
        return False
    return cached is None or getattr(cached, "edited_at", None) != message.edited_at


def edit_event(message: Any, at: datetime) -> MessageEdited:
    text = text_of(message)
    return MessageEdited(
        room=room_of(message.channel),
        author=member_of(message.author),
        message_id=str(message.id),
        text=text,
        at=at,
        links=parse_message_links(text),
        relayed=is_relayed(message),
    )


# -- commands -------------------------------------------------------------------------------


def command_options(values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """Slash-command values as the core's named options; unset optional ones are left out so
    the core's binder applies its own defaults."""
    return tuple((name, str(value)) for name, value in values.items() if value is not None)


def short_description(text: str) -> str:
    text = " ".join(text.split()) or "-"
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def canonical_commands(commands: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The parts of command JSON that Confidant decides, in one shape for what it would send
    and what Discord reports back (which adds ids and versions, and writes permissions as
    strings), so that an unchanged registry compares equal and is not synced again."""
    return sorted((_canonical(c, top=True) for c in commands), key=lambda c: c["name"])


def _canonical(command: Mapping[str, Any], *, top: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": command["name"],
        "type": int(command.get("type") or 1),
        "description": command.get("description") or "",
        "description_localizations": dict(command.get("description_localizations") or {}),
        "options": [_canonical(o) for o in command.get("options") or ()],
    }
    if top:
        perms = command.get("default_member_permissions")
        result["default_member_permissions"] = None if perms is None else str(perms)
        result["nsfw"] = bool(command.get("nsfw", False))
    else:
        result["required"] = bool(command.get("required", False))
        result["choices"] = [
            (c["name"], c["value"], sorted((c.get("name_localizations") or {}).items()))
            for c in command.get("choices") or ()
        ]
    return result


# -- outgoing messages --------------------------------------------------------------------------


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split at paragraph, then line, then word boundaries: a 4000-character reminder must
    arrive whole, in order, and readable."""
    text = text.strip() or "-"
    parts: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return [p for p in parts if p]


def _cut_point(text: str, limit: int) -> int:
    for separator in ("\n\n", "\n", " "):
        index = text.rfind(separator, 0, limit)
        if index > limit // 2:
            return index
    return limit


def with_mention(text: str, member: Member | None) -> str:
    return f"<@{member.id}> {text}" if member is not None else text


def nonce_for(key: str | None, part: int = 0) -> str | None:
    """Discord dedupes a send by nonce (``enforce_nonce``), but allows only 25 characters;
    the core's keys are longer, so a stable digest of the key stands in for it."""
    if key is None:
        return None
    digest = hashlib.sha256(f"{key}\x1f{part}".encode()).hexdigest()
    return digest[:MAX_NONCE]


def jump_link(guild_id: int | None, channel_id: int, message_id: str | None = None) -> str:
    """What Discord's "Copy Message Link" gives (``@me`` for a private chat): moderators
    follow it to the message, so an alert never needs to quote it."""
    link = f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}"
    return f"{link}/{message_id}" if message_id else link


def snowflake(value: str) -> int | None:
    return int(value) if value.isdigit() else None


# -- permissions -------------------------------------------------------------------------------


def posting_overwrite(
    current: discord.PermissionOverwrite, allowed: bool
) -> tuple[bool, discord.PermissionOverwrite | None]:
    """What the member's overwrite should become: (changed, new overwrite or None to delete).

    Only the posting bits are touched, so an overwrite a moderator set for other reasons
    survives, and allowing someone who was never blocked costs no call at all.
    """
    pairs = dict(iter(current))
    if allowed:
        if (
            pairs.get("send_messages") is not False
            and pairs.get("send_messages_in_threads") is not False
        ):
            return False, current
        pairs.update(send_messages=None, send_messages_in_threads=None)
    else:
        if pairs.get("send_messages") is False and pairs.get("send_messages_in_threads") is False:
            return False, current
        pairs.update(send_messages=False, send_messages_in_threads=False)
    updated = discord.PermissionOverwrite(**pairs)
    return True, None if updated.is_empty() else updated


def permission_report(
    channel_label: str, perms: discord.Permissions
) -> tuple[bool, bool, tuple[str, ...]]:
    """(can_delete, can_restrict_posting, missing) for the bot in one channel, in words a
    server admin can act on."""
    missing: list[str] = []
    if not perms.view_channel:
        missing.append(Phrase("View Channel in #{channel}", channel=channel_label))
    if not perms.manage_messages:
        missing.append(
            Phrase(
                "Manage Messages in #{channel} (to remove posts from members who have not "
                "agreed yet)",
                channel=channel_label,
            )
        )
    if not perms.manage_roles:
        missing.append(
            Phrase(
                "Manage Permissions (Manage Roles) in #{channel} (to let members post only "
                "after they agree)",
                channel=channel_label,
            )
        )
    can_delete = perms.view_channel and perms.manage_messages
    can_restrict = perms.view_channel and perms.manage_roles
    return can_delete, can_restrict, tuple(missing)


def lacking_abilities(channel_label: str, perms: discord.Permissions) -> tuple[Lack, ...]:
    """The abilities a policy may need that the bot lacks in one channel, each with the
    Discord permission that grants it (the README's invite link grants all but Create
    Private Threads)."""
    at = {"channel": channel_label}
    lacking: list[Lack] = []
    if not perms.view_channel:
        lacking.append(Lack(VIEW, Phrase("View Channel in #{channel}", **at)))
    if not perms.send_messages:
        lacking.append(Lack(SEND, Phrase("Send Messages in #{channel}", **at)))
    if not perms.read_message_history:
        lacking.append(Lack(READ_HISTORY, Phrase("Read Message History in #{channel}", **at)))
    if not (perms.create_private_threads and perms.send_messages_in_threads):
        lacking.append(
            Lack(
                PRIVATE_THREADS,
                Phrase("Create Private Threads and Send Messages in Threads in #{channel}", **at),
            )
        )
    return tuple(lacking)


def changed_overwrite_targets(
    before: Mapping[Any, discord.PermissionOverwrite],
    after: Mapping[Any, discord.PermissionOverwrite],
) -> set[int]:
    """Ids of roles or members whose overwrite in a channel changed."""
    old = {target.id: overwrite.pair() for target, overwrite in before.items()}
    new = {target.id: overwrite.pair() for target, overwrite in after.items()}
    return {t for t in old.keys() | new.keys() if old.get(t) != new.get(t)}


def affected_by(
    targets: set[int], everyone_id: int, member_id: int, role_ids: Sequence[int]
) -> bool:
    return everyone_id in targets or member_id in targets or any(r in targets for r in role_ids)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
