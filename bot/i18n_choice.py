"""Which language the core speaks for an event: the policy's, decided here, not by adapters.

A room speaks its policy's ``language``. A room watched for another policy's leaks speaks
that policy's language, and so does its moderators' room. Where no policy says (a private
chat, a room no policy covers) the bot speaks the deployment's language: the one every
policy shares, else English. A deployment of several communities in different languages
still answers a member's private command in English; its reminders, alerts and leak notes
are produced while handling the room's own event, so they are in the room's language.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.events import Room
from bot.policy import Policy
from bot.policy.model import PolicySet


def deployment_language(policies: Iterable[Policy]) -> str | None:
    """The language every policy shares, or None (English) when they differ or none runs."""
    languages = {policy.language for policy in policies}
    return languages.pop() if len(languages) == 1 else None


def room_language(current: PolicySet, room: Room) -> str | None:
    """The language of the policy that covers, watches or takes the alerts of ``room``."""
    for room_id, name, aliases in (
        (room.id, room.name, room.aliases),
        (room.parent_id, room.parent_name, ()),  # a thread speaks as its channel
    ):
        if room_id is None:
            continue
        policy = current.for_room(room.platform, room_id, name, aliases)
        if policy is not None:
            return policy.language
        watching = current.watching(room.platform, room_id, name, aliases)
        if watching:
            return watching[0].language
        for policy in current.policies:
            if any(ref.matches(room.platform, room_id, name, aliases) for ref in policy.alerts):
                return policy.language
    return None


def event_language(current: PolicySet, event: object) -> str | None:
    """The language for everything said while handling ``event``, None for the default."""
    room = getattr(event, "room", None)
    return room_language(current, room) if isinstance(room, Room) else None
