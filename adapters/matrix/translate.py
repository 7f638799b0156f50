"""Pure translation between Matrix event JSON and the core's events.

Everything here works on plain dicts (an event's ``source`` as the homeserver sent it), so
it is tested from recorded payloads without a homeserver, and the I/O module stays thin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from bot.events import (
    Member,
    MemberJoined,
    MemberLeft,
    MessageEdited,
    MessagePosted,
    MessageRef,
    Room,
)

PLATFORM = "matrix"

# A permalink, a matrix: URI, or an HTML href carrying either; captured loosely then parsed.
_FALLBACK_HEAD = re.compile(r"^> (\* )?<@[^>\s]+>")
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
# Punctuation a sentence puts after a link, smart quotes and CJK brackets included (phones
# type "”"): never the end of an id.
_TRAILING = ".,;:!?\u201d\u2019\u00bb\u203a\u300d\u300f\uff09\u3011\u3009\u300b"
_LINK = re.compile(r"(https?://matrix\.to/#/[^\s<>\"')\]]+|matrix:[^\s<>\"')\]]+)", re.IGNORECASE)


def event_time(source: Mapping[str, Any]) -> datetime:
    millis = source.get("origin_server_ts")
    if isinstance(millis, int):
        return datetime.fromtimestamp(millis / 1000, UTC)
    return datetime.now(UTC)


def membership_transition(previous: str | None, current: str | None) -> str | None:
    """'join' for a real join, 'leave' for losing membership, None for profile changes.

    A display-name or avatar change is a join -> join transition and must not re-remind;
    an invite that is rejected never was a membership, so it is not a leave either.
    """
    if current == "join" and previous != "join":
        return "join"
    if current in {"leave", "ban"} and previous == "join":
        return "leave"
    return None


def member_event(
    room: Room, source: Mapping[str, Any], bot_user_id: str
) -> MemberJoined | MemberLeft | None:
    if source.get("type") != "m.room.member":
        return None
    user_id = source.get("state_key")
    if not isinstance(user_id, str) or user_id == bot_user_id:
        return None
    content = source.get("content") or {}
    unsigned = source.get("unsigned") or {}
    previous = (unsigned.get("prev_content") or {}).get("membership")
    transition = membership_transition(previous, content.get("membership"))
    member = Member(PLATFORM, user_id, content.get("displayname"))
    at = event_time(source)
    if transition == "join":
        return MemberJoined(room, member, at)
    if transition == "leave":
        return MemberLeft(room, member, at)
    return None


def strip_reply_fallback(body: str) -> str:
    """Remove the quoted fallback of a reply ('> <@sender> ...' lines, then a blank line).

    Left in place, the fallback would make every reply look like a verbatim quote of the
    message it answers. Only a real fallback is removed: it starts with '> <@sender>' (or
    '> * <@sender>' for an emote). A member's own '> ' quote (clients since Matrix 1.13 send
    no fallback at all) is what they wrote and stays.
    """
    lines = body.split("\n")
    if not lines or not _FALLBACK_HEAD.match(lines[0]):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def parse_links(text: str) -> tuple[MessageRef, ...]:
    """Matrix permalinks and ``matrix:`` URIs in text, as refs (room id or alias, event)."""
    refs: list[MessageRef] = []
    seen: set[tuple[str, str | None]] = set()
    for match in _LINK.finditer(text):
        ref = parse_link(match.group(0))
        if ref is not None and (ref.room_id, ref.message_id) not in seen:
            seen.add((ref.room_id, ref.message_id))
            refs.append(ref)
    return tuple(refs)


def parse_link(link: str) -> MessageRef | None:
    link = link.rstrip(_TRAILING)
    if link.lower().startswith("matrix:"):
        return _parse_matrix_uri(link[len("matrix:") :])
    fragment = urlsplit(link).fragment  # "/!room:server/$event?via=..."
    path = fragment.split("?", 1)[0].lstrip("/")
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts or not _is_room_ref(parts[0]):
        return None
    event = parts[1] if len(parts) > 1 and parts[1].startswith("$") else None
    return MessageRef(PLATFORM, parts[0], event)


def _is_room_ref(value: str) -> bool:
    """A room id ('!opaque:server', or '!opaque' in room version 12) or an alias
    ('#name:server', which always has a server)."""
    if value.startswith("#"):
        return ":" in value and len(value) > 3
    return value.startswith("!") and len(value) > 1 and " " not in value


def _parse_matrix_uri(rest: str) -> MessageRef | None:
    """``roomid/room:server/e/event`` or ``r/alias:server/e/event`` (MSC2312 / spec 1.2)."""
    path = rest.split("?", 1)[0]
    parts = [unquote(p) for p in path.split("/")]
    if len(parts) < 2 or parts[0] not in {"roomid", "r"} or not parts[1]:
        return None
    room = ("!" if parts[0] == "roomid" else "#") + parts[1]
    if not _is_room_ref(room):
        return None
    event = None
    if len(parts) >= 4 and parts[2] == "e" and parts[3]:
        event = "$" + parts[3]
    return MessageRef(PLATFORM, room, event)


def _links_in_content(content: Mapping[str, Any], body: str) -> Iterable[MessageRef]:
    """Links the sender wrote: never those inside the quoted reply fallback."""
    yield from parse_links(body)
    html = content.get("formatted_body")
    if isinstance(html, str):
        yield from parse_links(_MX_REPLY.sub("", html))


def message_event(
    room: Room, source: Mapping[str, Any], bot_user_id: str, body: str | None = None
) -> MessagePosted | MessageEdited | None:
    """A room message; ``body`` overrides content.body (nio gives decrypted text there)."""
    sender = source.get("sender")
    if not isinstance(sender, str) or sender == bot_user_id:
        return None
    content = source.get("content") or {}
    relates = content.get("m.relates_to") or {}
    author = Member(PLATFORM, sender)
    at = event_time(source)
    if relates.get("rel_type") == "m.replace":
        new = content.get("m.new_content") or {}
        text = new.get("body") if isinstance(new.get("body"), str) else ""
        target = relates.get("event_id")
        if not isinstance(target, str):
            return None
        return MessageEdited(room, author, target, strip_reply_fallback(text), at)
    text = body if body is not None else content.get("body")
    if not isinstance(text, str):
        return None
    reply_to = None
    in_reply = (relates.get("m.in_reply_to") or {}).get("event_id")
    in_thread = relates.get("rel_type") == "m.thread" and isinstance(relates.get("event_id"), str)
    if in_thread and (relates.get("is_falling_back") or not isinstance(in_reply, str)):
        # a thread message: it answers the thread's root; the in_reply_to is only there
        # for clients without threads, and comes with no quoted fallback
        reply_to = MessageRef(PLATFORM, room.id, relates["event_id"])
    elif isinstance(in_reply, str):
        reply_to = MessageRef(PLATFORM, room.id, in_reply)
        text = strip_reply_fallback(text)
    links = tuple(dict.fromkeys(_links_in_content(content, text)))
    return MessagePosted(
        room, author, str(source.get("event_id", "")), text, at, reply_to=reply_to, links=links
    )


def permalink(room_id: str, event_id: str | None = None, via: str | None = None) -> str:
    """A matrix.to link for alerts: moderators follow it, the alert never quotes the text.

    ``via`` names a server in the room, which a room id (unlike an alias) needs for a
    client on another server to find it.
    """
    link = f"https://matrix.to/#/{_link_part(room_id)}"
    link = f"{link}/{_link_part(event_id)}" if event_id else link
    return f"{link}?via={via}" if via and room_id.startswith("!") else link


def _link_part(identifier: str) -> str:
    """Percent-encode what would end the part early: room version 3 event ids are standard
    base64 and may hold '/', which would otherwise split the event id in two."""
    return quote(identifier, safe="!#$:@=+,;")


def alert_link(ref: MessageRef, via: str | None = None) -> str | None:
    """The permalink of a Matrix reference in an alert; None for another platform's, which
    the alert then shows as ids."""
    if ref.platform != PLATFORM:
        return None
    return permalink(ref.room_id, ref.message_id, via)
