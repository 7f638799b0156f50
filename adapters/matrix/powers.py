"""Power-level arithmetic for the agreement gate, on the plain ``m.room.power_levels`` content.

Members who have not agreed are set one level below what sending a message needs; agreeing
restores them. Negative levels are valid Matrix, so this works without changing the room's
defaults or anyone else's level. Kept pure so each rule is tested without a homeserver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.i18n import Phrase

_SEND_TYPES = ("m.room.message", "m.room.encrypted")


@dataclass(frozen=True, slots=True)
class RoomPowers:
    can_delete: bool
    can_restrict_posting: bool
    missing: tuple[str, ...]


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def user_level(content: Mapping[str, Any], user_id: str) -> int:
    users = content.get("users") or {}
    return _int(users.get(user_id), _int(content.get("users_default"), 0))


def send_levels(content: Mapping[str, Any]) -> tuple[int, int]:
    """(lowest, highest) level needed to post a plain or an encrypted message."""
    events = content.get("events") or {}
    default = _int(content.get("events_default"), 0)
    levels = [_int(events.get(kind), default) for kind in _SEND_TYPES]
    return min(levels), max(levels)


def powers_of(content: Mapping[str, Any], bot_user_id: str) -> RoomPowers:
    """What the bot may do in a room with these power levels, and what is missing."""
    mine = user_level(content, bot_user_id)
    events = content.get("events") or {}
    redact = _int(content.get("redact"), 50)
    change_levels = _int(events.get("m.room.power_levels"), _int(content.get("state_default"), 50))
    users_default = _int(content.get("users_default"), 0)
    can_delete = mine >= redact
    can_restrict = mine >= change_levels and mine > users_default
    missing: list[str] = []
    if not can_delete:
        missing.append(
            Phrase("power level {needed} to remove messages (I have {mine})", needed=redact,
                   mine=mine)
        )
    if not can_restrict:
        missing.append(
            Phrase(
                "power level {needed} to change members' power levels (I have {mine})",
                needed=max(change_levels, users_default + 1),
                mine=mine,
            )
        )
    return RoomPowers(can_delete, can_restrict, tuple(missing))


class CannotChangeLevel(Exception):
    """The member outranks the bot, or the bot may not edit power levels at all."""


def with_posting(
    content: Mapping[str, Any], bot_user_id: str, member_id: str, allowed: bool
) -> dict[str, Any] | None:
    """New power-levels content letting ``member_id`` post or not; None when unchanged."""
    mine = user_level(content, bot_user_id)
    theirs = user_level(content, member_id)
    lowest, highest = send_levels(content)
    if not powers_of(content, bot_user_id).can_restrict_posting:
        raise CannotChangeLevel("the bot may not change power levels here")
    if member_id == bot_user_id:
        return None
    users = dict(content.get("users") or {})
    if allowed:
        if theirs >= highest:
            return None
        if theirs >= mine:
            raise CannotChangeLevel("the member's power level is not below the bot's")
        # An explicit entry even when it equals users_default: some clients merge power
        # level updates, and would keep showing a removed restriction.
        users[member_id] = min(highest, mine)
    else:
        if theirs < lowest:
            return None
        if theirs >= mine:
            raise CannotChangeLevel("the member's power level is not below the bot's")
        users[member_id] = lowest - 1
    updated = dict(content)
    updated["users"] = users
    return updated
