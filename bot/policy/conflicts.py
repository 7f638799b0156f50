"""Checks that need more than one room entry or more than one policy to see.

A room claimed by two policies would get whichever policy happens to load first, and alerts
sent into a support room would show members what moderators were told about them. Both are
refused outright rather than resolved by a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.policy.model import Policy, RoomRef
    from bot.policy.yamlpos import Loc

Where = Callable[[int, "Loc"], str]
"""Describes where a policy's value is, e.g. ``policies/a.yaml:4:5``, for cross-references."""


@dataclass(frozen=True)
class Conflict:
    """A clash, located at the later of the two values (``loc`` within ``policy_index``)."""

    policy_index: int
    loc: Loc
    message: str


def _room_key(room: RoomRef) -> tuple[str, str, str]:
    """Names and Matrix aliases' local parts are compared regardless of letter case: two
    entries that differ only in case are one room written twice, or a typo that leaves one
    of them matching nothing; either way the moderator has to look."""
    kind, value = room.selector
    if kind == "name":
        value = value.casefold()
    elif kind == "alias":
        local, _, server = value.partition(":")
        value = f"{local.casefold()}:{server}"
    return room.platform, kind, value


def find_conflicts(policies: Sequence[Policy], where: Where | None = None) -> list[Conflict]:
    """Duplicate policy names, rooms claimed twice, and alerts aimed at support rooms."""

    def at(index: int, loc: Loc) -> str:
        return where(index, loc) if where is not None else policies[index].source

    conflicts: list[Conflict] = []
    names: dict[str, int] = {}
    rooms: dict[tuple[str, str, str], tuple[int, Loc]] = {}
    for index, policy in enumerate(policies):
        if policy.name in names:
            first = names[policy.name]
            conflicts.append(
                Conflict(
                    index,
                    ("name",),
                    f"the policy name '{policy.name}' is already used by "
                    f"{at(first, ('name',))}; policy names must be unique",
                )
            )
        else:
            names[policy.name] = index
        for position, room in enumerate(policy.rooms):
            key = _room_key(room)
            loc: Loc = ("rooms", position)
            if key in rooms:
                owner, owner_loc = rooms[key]
                if owner == index:
                    message = f"{room.describe()} is listed twice (first at {at(owner, owner_loc)})"
                else:
                    message = (
                        f"{room.describe()} is already covered by policy "
                        f"'{policies[owner].name}' ({at(owner, owner_loc)}); "
                        "a room can belong to only one policy"
                    )
                conflicts.append(Conflict(index, loc, message))
            else:
                rooms[key] = (index, loc)
    conflicts += _watched_and_covered(policies, rooms, at)
    conflicts += _supporters_rooms_open_to_members(policies, rooms)
    for index, policy in enumerate(policies):
        for position, alert in enumerate(policy.alerts):
            owner_entry = rooms.get(_room_key(alert))
            if owner_entry is None:
                continue
            owner = owner_entry[0]
            whose = "this policy" if owner == index else f"policy '{policies[owner].name}'"
            conflicts.append(
                Conflict(
                    index,
                    ("alerts", position),
                    f"alerts would go to {alert.describe()}, a support room of {whose}; "
                    "members would see moderator alerts",
                )
            )
    return conflicts


def _watched_and_covered(
    policies: Sequence[Policy], rooms: dict[tuple[str, str, str], tuple[int, Loc]], at: Where
) -> list[Conflict]:
    """A room under 'watch' gets no reminder and no gate; one also under 'rooms' gets both.
    Which one the moderator meant cannot be guessed, so the file is refused. An alert room
    is never scanned, so watching one would promise what is not done."""
    conflicts: list[Conflict] = []
    alert_rooms = {_room_key(ref) for policy in policies for ref in policy.alerts}
    for index, policy in enumerate(policies):
        for position, room in enumerate(policy.watch):
            owner_entry = rooms.get(_room_key(room))
            if owner_entry is None:
                if _room_key(room) in alert_rooms:
                    conflicts.append(
                        Conflict(
                            index,
                            ("watch", position),
                            f"{room.describe()} is an alert room, where moderators discuss "
                            "what they read; alert rooms are never watched for leaks, and "
                            "members reading it would see what moderators are told",
                        )
                    )
                continue
            owner, owner_loc = owner_entry
            whose = "this policy" if owner == index else f"policy '{policies[owner].name}'"
            conflicts.append(
                Conflict(
                    index,
                    ("watch", position),
                    f"{room.describe()} is watched here but is a confidential room of {whose} "
                    f"({at(owner, owner_loc)}); a room is either covered or only watched",
                )
            )
    return conflicts


def _supporters_rooms_open_to_members(
    policies: Sequence[Policy], rooms: dict[tuple[str, str, str], tuple[int, Loc]]
) -> list[Conflict]:
    """A contact request names the member and, if they chose to share them, carries their
    check-in answers: posted into a confidential room or a watched (members') room it would
    tell the circle who asked for help and why."""
    watched = {
        _room_key(ref): index for index, policy in enumerate(policies) for ref in policy.watch
    }
    conflicts: list[Conflict] = []
    for index, policy in enumerate(policies):
        room = policy.checkins.supporters_room if policy.checkins is not None else None
        if room is None:
            continue
        key = _room_key(room)
        if key in rooms:
            owner = rooms[key][0]
            what = "a confidential room of " + _whose(policies, owner, index)
        elif key in watched:
            what = "a room open to members (watched by " + _whose(policies, watched[key], index)
            what += ")"
        else:
            continue
        conflicts.append(
            Conflict(
                index,
                ("checkins", "supporters_room"),
                f"the supporters' room is {room.describe()}, {what}; a member's contact "
                "request and answers would be posted into the circle. Use a room only "
                "supporters can read",
            )
        )
    return conflicts


def _whose(policies: Sequence[Policy], owner: int, index: int) -> str:
    return "this policy" if owner == index else f"policy '{policies[owner].name}'"
