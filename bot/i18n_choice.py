"""Which language the core speaks for an event: the policy's, decided here, not by adapters.

A room speaks its policy's ``language``. A room watched for another policy's leaks speaks
that policy's language, and so does its moderators' room. A private chat speaks the
member's language: that of the communities whose reminders they were sent, where those
agree. Where nothing says (a room no policy covers, a member no policy knows) the bot
speaks the deployment's language: the one every policy shares, else English.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot import i18n
from bot.events import Member, Room
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
    """The language for everything said while handling ``event``, None for the default:
    the member's own (``locale``) where the policy of the room lets members choose (in a
    private chat: where every policy does), else the room's."""
    room = getattr(event, "room", None)
    locale = getattr(event, "locale", None)
    if locale and isinstance(room, Room):
        policy = current.for_room(room.platform, room.id, room.name, room.aliases)
        if policy is None and room.parent_id is not None:
            policy = current.for_room(room.platform, room.parent_id, room.parent_name)
        policies = (policy,) if policy is not None else current.policies
        allowed = policies and all(p.member_language == "platform" for p in policies)
        if allowed and (i18n.negotiate(locale) != i18n.SOURCE or locale.startswith("en")):
            return str(locale)  # a language without a catalog hears the room's instead
    return room_language(current, room) if isinstance(room, Room) else None


def member_of(event: object) -> Member | None:
    for name in ("invoker", "member", "author"):
        found = getattr(event, name, None)
        if isinstance(found, Member):
            return found
    return None


def member_language(current: PolicySet, reminded: list[str]) -> str | None:
    """The language of the communities a member was reminded of, if they share one."""
    languages = {p.language for p in current.policies if p.name in reminded}
    return languages.pop() if len(languages) == 1 else None
