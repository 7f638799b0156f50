"""Discord's rules for messages that other people's tools produce: bulk deletes, webhook
(proxy) messages, link previews and replies.

Kept apart from the REST routes and gateway helpers that use them, so that each rule is
written once, with its source, and the route (the bot asks) and the event helper (someone
else does it) cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from .permissions import MemberCannot, channel_permissions
from .snowflake import DISCORD_EPOCH_MS
from .state import FakeChannel, FakeMessage, FakeUser, World

MANAGE_MESSAGES = 1 << 13

# -- bulk delete ---------------------------------------------------------------------------
# https://discord.com/developers/docs/resources/message#bulk-delete-messages: guild channels
# only, MANAGE_MESSAGES, 2 to 100 ids ("Any message IDs given that do not exist or are
# invalid will count towards the minimum and maximum message count"), none older than 2 weeks
# and no duplicates (400), 204 on success, then a Message Delete Bulk gateway event.
BULK_MIN = 2
BULK_MAX = 100
BULK_MAX_AGE = dt.timedelta(days=14)
# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json
TOO_FEW_OR_MANY = 50016  # "Provided too few or too many messages to delete"
TOO_OLD = 50034  # "A message provided was too old to bulk delete"
INVALID_FORM_BODY = 50035
MISSING_PERMISSIONS = 50013
NOT_IN_DM = 50003  # "Cannot execute action on a DM channel"


@dataclass
class Refused(Exception):
    """Discord's answer to a request that breaks one of these rules (status, JSON code)."""

    status: int
    code: int
    message: str


def snowflake_time(snowflake: int) -> dt.datetime:
    """When an id was made: Discord reads a message's age from its id, which is why ids of
    messages that do not exist still count (https://discord.com/developers/docs/reference#snowflakes)."""
    millis = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def snowflake_at(moment: dt.datetime, increment: int = 0) -> int:
    """An id made at ``moment``: how a test gets a message older than the bulk-delete limit."""
    millis = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (millis << 22) | (1 << 17) | (increment & 0xFFF)


def bulk_delete_ids(raw: Any) -> list[int]:
    """The ``messages`` JSON param as ids; anything malformed is Invalid Form Body."""
    if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
        raise Refused(400, INVALID_FORM_BODY, "Invalid Form Body")
    try:
        return [int(value) for value in raw["messages"]]
    except (TypeError, ValueError):
        raise Refused(400, INVALID_FORM_BODY, "Invalid Form Body") from None


def check_bulk_delete(
    world: World,
    channel: FakeChannel,
    ids: list[int],
    *,
    by: FakeUser | None = None,
    now: dt.datetime | None = None,
) -> list[FakeMessage]:
    """The messages a bulk delete of ``ids`` in ``channel`` removes, or Refused.

    ``by`` is who asks (the bot when None); the permission is checked in the channel, with
    its overwrites, as Discord computes it.
    """
    if channel.guild_id is None:
        raise Refused(403, NOT_IN_DM, "Cannot execute action on a DM channel")
    user_id = (by or world.bot_user).id
    if not channel_permissions(world, channel, user_id) & MANAGE_MESSAGES:
        raise Refused(403, MISSING_PERMISSIONS, "Missing Permissions")
    if not BULK_MIN <= len(ids) <= BULK_MAX:
        raise Refused(
            400,
            TOO_FEW_OR_MANY,
            "Provided too few or too many messages to delete. Must provide at least 2 and "
            "fewer than 100 messages to delete",
        )
    if len(set(ids)) != len(ids):
        raise Refused(400, INVALID_FORM_BODY, "Invalid Form Body")
    oldest_allowed = (now or dt.datetime.now(dt.UTC)) - BULK_MAX_AGE
    if any(snowflake_time(i) < oldest_allowed for i in ids):
        raise Refused(400, TOO_OLD, "A message provided was too old to bulk delete")
    found = [world.messages.get(i) for i in ids]
    return [m for m in found if m is not None and m.channel_id == channel.id]


def bulk_delete_event(channel: FakeChannel, ids: list[int]) -> dict[str, Any]:
    """https://discord.com/developers/docs/events/gateway-events#message-delete-bulk:
    ``ids``, ``channel_id`` and ``guild_id``; every id asked for, found or not."""
    data: dict[str, Any] = {"ids": [str(i) for i in ids], "channel_id": str(channel.id)}
    if channel.guild_id is not None:
        data["guild_id"] = str(channel.guild_id)
    return data


# -- webhook messages (PluralKit-style proxies) ---------------------------------------------


def webhook_author(webhook_id: int, name: str) -> dict[str, Any]:
    """https://discord.com/developers/docs/resources/message#message-object, note [1]: a
    webhook message's author "corresponds to the webhook's id, username, and avatar", not
    a valid user; ``bot`` is true and webhook users carry the old "0000" discriminator
    (discord.py: ``Message._handle_author`` makes it a ``User``, never a ``Member``). A
    proxy bot sets the username per message, so one webhook speaks under many names."""
    return {
        "id": str(webhook_id),
        "username": name,
        "discriminator": "0000",
        "global_name": None,
        "avatar": None,
        "bot": True,
        "public_flags": 0,
        "flags": 0,
    }


# -- link previews ----------------------------------------------------------------------------
# Discord unfurls http(s) links after the message is created and sends MESSAGE_UPDATE with
# the embeds. Since 2024 every MESSAGE_UPDATE carries the full message object
# (https://discord.com/developers/docs/events/gateway-events#message-update: "The inner payload
# is a message object"; discord-api-docs PR #7017), which is why discord.py >= 2.5 builds
# ``RawMessageUpdateEvent.message`` from it (discord/state.py: parse_message_update). The
# system adds embeds without setting ``edited_timestamp`` ("when this message was edited (or
# null if never)", resources/message#message-object): an unfurl is not an edit.
_URL = re.compile(r"https?://[^\s<>]+")
_MESSAGE_LINK = re.compile(r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/")


def unfurl_embeds(content: str) -> list[dict[str, Any]]:
    """One link embed per web link in ``content``. Discord message links are rendered by
    the client, not unfurled into embeds, so they get none."""
    urls = [u for u in _URL.findall(content) if not _MESSAGE_LINK.match(u)]
    return [
        {"type": "link", "url": url, "title": url.split("/")[2], "description": "a page"}
        for url in dict.fromkeys(urls)
    ]


# -- replies ----------------------------------------------------------------------------------


def check_reply_target(channel: FakeChannel, replied: FakeMessage) -> None:
    """A reply always points into its own channel: Discord says a reply's reference
    "channel_id and guild_id will be the same as the reply", and a reply is created with only
    ``message_id``, looked up in the channel it is sent to
    (https://discord.com/developers/docs/resources/message#message-reference-content-attribution-replies).
    There is no way to make a reply across channels, so the fake refuses to invent one."""
    if replied.channel_id != channel.id:
        raise MemberCannot(
            f"Discord cannot reply across channels: message {replied.id} is in channel "
            f"{replied.channel_id}, not {channel.id} (forward or link it instead)"
        )
