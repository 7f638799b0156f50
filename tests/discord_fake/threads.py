"""Discord's rules for channel kinds and threads, as pure functions of the fake's model.

REST handlers (``rest``), event helpers (``events``) and GUILD_CREATE (``payloads``) ask
these, so a thread, a forum post or a voice channel's text chat behaves the same whichever
way a test reaches it. Every rule names its source in Discord's API documentation:

- Threads topic: https://discord.com/developers/docs/topics/threads
- Channel object: https://discord.com/developers/docs/resources/channel
- Permissions: https://discord.com/developers/docs/topics/permissions
- Error codes: https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
"""

from __future__ import annotations

from typing import Any

from .permissions import MANAGE_THREADS, can_view, channel_permissions
from .state import (
    GUILD_TEXT,
    PRIVATE_THREAD,
    THREAD_ONLY_TYPES,
    VOICE_TYPES,
    FakeChannel,
    World,
)

# (HTTP status, Discord code, message) of a refusal; rest.py turns it into its error shape.
Refusal = tuple[int, int, str]

# Threads topic, Forums: "Messages cannot be sent directly in forum channels" (media: "only
# threads can be created in them"); the code is JSON error 50008.
NOT_TEXT: Refusal = (400, 50008, "Cannot send messages in a non-text channel")
# JSON error 50083: "Tried to perform an operation on an archived thread, such as editing a
# message or adding a user to the thread".
ARCHIVED: Refusal = (400, 50083, "Thread is archived")
# JSON error 50024; Threads topic: private threads "can only be created in GUILD_TEXT
# channels", and forum/media posts are always public threads.
WRONG_KIND: Refusal = (400, 50024, "Cannot execute action on this channel type")
# Channel resource, Start Thread in Forum or Media Channel: the post's first message is
# required (``message``), with at least one of content, embeds, components, files.
NO_MESSAGE: Refusal = (400, 50035, "Invalid Form Body")


def kind_fields(channel: FakeChannel) -> dict[str, Any]:
    """Fields only some channel kinds carry (Channel object); discord.py reads ``bitrate``
    and ``user_limit`` of voice and stage channels unconditionally."""
    if channel.type in VOICE_TYPES:
        return {"bitrate": 64000, "user_limit": 0, "rtc_region": None, "video_quality_mode": 1}
    if channel.type in THREAD_ONLY_TYPES:
        return {
            "available_tags": [],
            "default_reaction_emoji": None,
            "default_sort_order": None,
            "default_forum_layout": 0,
            "default_thread_rate_limit_per_user": 0,
            "default_auto_archive_duration": 4320,
        }
    return {}


def synced_thread(world: World, channel: FakeChannel) -> bool:
    """GUILD_CREATE's ``threads``: "all active threads in the guild that the current user is
    able to view" (Threads topic, Gateway Events); archived ones are not synced up front."""
    return channel.is_thread and not channel.archived and can_view(
        world, channel, world.bot_user.id
    )


def refuse_message(world: World, channel: FakeChannel, author_id: int) -> Refusal | None:
    """Why a message cannot be sent into ``channel`` by ``author_id``, if it cannot.

    Threads topic, Active & Archived Threads: "Sending a message will automatically unarchive
    the thread, unless the thread has been locked by a moderator"; Locked Threads: those with
    Manage Threads "will still be able to make changes to the thread and messages"."""
    if channel.type in THREAD_ONLY_TYPES:
        return NOT_TEXT
    if channel.is_thread and channel.archived and channel.locked and not (
        channel_permissions(world, channel, author_id) & MANAGE_THREADS
    ):
        return ARCHIVED
    return None


def unarchives(channel: FakeChannel) -> bool:
    """True if a message about to be sent wakes an archived thread (see refuse_message);
    Discord then sends THREAD_UPDATE before the message (Threads topic, Unarchiving a Thread)."""
    if channel.is_thread and channel.archived:
        channel.archived = False
        return True
    return False


def refuse_in_archived(channel: FakeChannel) -> Refusal | None:
    """Editing a message or adding a member in an archived thread: 50083 (error codes;
    Channel resource, Add Thread Member: "Also requires the thread is not archived")."""
    return ARCHIVED if channel.is_thread and channel.archived else None


def refuse_thread(parent: FakeChannel, body: dict[str, Any]) -> Refusal | None:
    """Starting a thread in ``parent`` with this JSON body (Channel resource, Start Thread
    without Message / in Forum or Media Channel)."""
    if parent.type in THREAD_ONLY_TYPES:
        message = body.get("message") or {}
        if not (message.get("content") or message.get("embeds") or message.get("components")):
            return NO_MESSAGE
        return None
    if parent.type in VOICE_TYPES or parent.guild_id is None:
        return WRONG_KIND
    kind = int(body.get("type", PRIVATE_THREAD))
    if kind == PRIVATE_THREAD and parent.type != GUILD_TEXT:
        return WRONG_KIND
    return None
