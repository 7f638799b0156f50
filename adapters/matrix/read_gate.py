"""The read gate on Matrix (``reminder.gate: read``): knock, agree, be invited, then read.

Matrix lets a room keep its history from people who are not in it, and lets someone ask to
come in without being able to read anything: a room whose join rule is ``knock`` (room
versions 7 and later) or ``invite`` cannot be joined without an invite, and its history
visibility ``joined`` (or ``invited``) shows a member only what was said after they came in.
The bot ties the invite to the agreement: a knock (or ``!join #room`` in a private chat
with the bot) is reported to the core as AccessRequested, the core sends the reminder to
the member's encrypted private chat, and once they agreed it asks for GrantAccess, which is
an invite here. Nothing is said to have been done before the homeserver did it.

Spec references (Matrix Client-Server API, spec.matrix.org):
- "Room membership > Joining rooms > Knocking on rooms" (``POST /knock/{roomIdOrAlias}``):
  a knock is an ``m.room.member`` event with ``membership: knock`` that the room's members
  see; an invite from someone with the invite power level admits the knocker, a kick
  (``POST /rooms/{roomId}/kick``) rejects the knock. Room version 7 is the first to have
  it ("Room Version 7": users cannot knock on rooms that are not based on v7).
- "m.room.join_rules": ``public`` (anyone may join), ``invite``, ``knock``, ``restricted``
  and ``knock_restricted`` (members of named rooms or spaces join without asking),
  ``private`` (reserved). Only ``knock`` and ``invite`` keep every newcomer out until asked in.
- "Room history visibility" (``m.room.history_visibility``, ``shared`` when absent):
  ``world_readable`` and ``shared`` show a newly joined member the whole history; ``invited``
  shows it from their invite on, ``joined`` from their join on.
- "m.room.power_levels": ``invite`` (default 0) and ``kick`` (default 50) are the levels
  needed to invite and to remove a member.

While a room's join rule is not ``knock`` or ``invite`` anyone can join it without asking,
so the gate cannot hold reading back: a member who joins is reminded and held back from
posting until they agree, exactly as with ``gate: post``, and the moderators are told so at
every start with the fix (see ``check_settings``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nio import (
    AsyncClient,
    ErrorResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
)

from adapters.matrix import translate
from adapters.matrix.powers import user_level
from bot.actions import Action, ActionRefused, CheckReadGate, GrantAccess, RevokeAccess
from bot.events import AccessRequested, Member, MessagePosted, Room
from bot.i18n import Phrase, PhraseList

log = logging.getLogger("confidant.matrix")

PLATFORM = translate.PLATFORM
CLOSED_JOIN_RULES = frozenset({"knock", "invite"})
OPEN_JOIN_RULES = frozenset({"public", "restricted", "knock_restricted"})
SINCE_JOIN_VISIBILITY = frozenset({"joined", "invited"})
NO_KNOCK_VERSIONS = frozenset({"1", "2", "3", "4", "5", "6"})  # "Room Version 7" adds it
KICK_REASON = "the room's confidentiality reminder changed; agree to the new one to read it again"
# The fixes name Element's own menus and labels ("room settings > Security & Privacy", "Ask to
# join", "Members only (since they joined)"), each inside a whole sentence, so that a
# catalog can say them as Element says them in its language (Element's translations of
# room_settings.security / room_settings.permissions, element-hq/element-web
# src/i18n/strings/<lang>.json).


@dataclass(frozen=True, slots=True)
class GateProblem:
    """One thing the policy asks and the room does not give, and how to fix it: each a
    :class:`Phrase`, so the doctor (English) reads them as text and the core says them in
    the moderators' language."""

    what: str
    fix: str

    @property
    def phrase(self) -> Phrase:
        """The problem and its fix as one sentence."""
        return Phrase("{what}. Fix: {fix}", what=self.what, fix=self.fix)

    def __str__(self) -> str:
        return str(self.phrase)


@dataclass(frozen=True, slots=True)
class GateCheck:
    """What a read-gated room's settings allow. ``closed``: nobody joins without an invite."""

    closed: bool
    problems: tuple[GateProblem, ...]

    @property
    def reason(self) -> PhraseList:
        """Every problem, for ActionRefused: English as a str, said per reader by the core."""
        return PhraseList(problem.phrase for problem in self.problems)


def _content(events: Iterable[Mapping[str, Any]], kind: str) -> Mapping[str, Any]:
    for event in events:
        if event.get("type") == kind and event.get("state_key", "") == "":
            content = event.get("content")
            return content if isinstance(content, Mapping) else {}
    return {}


def _level(content: Mapping[str, Any], key: str, default: int) -> int:
    value = content.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _close_the_room(version: str) -> Phrase:
    """The fix for a join rule that lets people in (or nobody): knocking where the room
    version has it ("Room Version 7"), else invite only."""
    if version in NO_KNOCK_VERSIONS:
        return Phrase("in room settings > Security & Privacy > Access choose 'Private'")
    return Phrase("in room settings > Security & Privacy > Access choose 'Ask to join' (knock)")


def check_settings(
    state: Iterable[Mapping[str, Any]],
    bot_user_id: str,
    label: str,
    *,
    history: str = "since_join",
    reask: str = "keep_access",
) -> GateCheck:
    """The room's join rule, history visibility and the bot's invite and kick powers, against
    what a read gate needs; pure, on the room's state events as the homeserver returns them."""
    events = list(state)
    join_rule = _content(events, "m.room.join_rules").get("join_rule", "invite")
    version = str(_content(events, "m.room.create").get("room_version", "1"))
    visibility = _content(events, "m.room.history_visibility").get("history_visibility", "shared")
    levels = _content(events, "m.room.power_levels")
    mine = user_level(levels, bot_user_id)
    problems: list[GateProblem] = []
    closed = join_rule in CLOSED_JOIN_RULES
    if join_rule in OPEN_JOIN_RULES:
        problems.append(
            GateProblem(
                Phrase(
                    "its join rule is '{rule}', so people join and read it without agreeing; "
                    "until it is 'knock' or 'invite' the bot only holds back the posting of "
                    "members who have not agreed (as with gate: post)",
                    rule=join_rule,
                ),
                _close_the_room(version),
            )
        )
    elif not closed:  # 'private' (reserved) or unknown: nobody can join, invited or not
        problems.append(
            GateProblem(
                Phrase(
                    "its join rule is '{rule}', which the bot cannot let members in through",
                    rule=join_rule,
                ),
                _close_the_room(version),
            )
        )
    invite = _level(levels, "invite", 0)
    if mine < invite:
        problems.append(
            GateProblem(
                Phrase(
                    "the bot cannot invite (it has power level {mine}, inviting needs "
                    "{needed}), so members who agreed cannot be let in",
                    mine=mine,
                    needed=invite,
                ),
                Phrase(
                    "in room settings > Roles & Permissions raise the bot to {needed} or more",
                    needed=invite,
                ),
            )
        )
    kick = _level(levels, "kick", 50)
    if reask == "suspend" and mine < kick:
        problems.append(
            GateProblem(
                Phrase(
                    "the bot cannot remove members (it has power level {mine}, removing needs "
                    "{needed}), so a changed reminder cannot take access away (reask: suspend)",
                    mine=mine,
                    needed=kick,
                ),
                Phrase(
                    "in room settings > Roles & Permissions raise the bot to {needed} or more",
                    needed=kick,
                ),
            )
        )
    if history == "since_join" and visibility not in SINCE_JOIN_VISIBILITY:
        problems.append(
            GateProblem(
                Phrase(
                    "its history visibility is '{visibility}', so a newly admitted member "
                    "would read what was said before they joined",
                    visibility=visibility,
                ),
                Phrase(
                    "in room settings > Security & Privacy > 'Who can read history?' choose "
                    "'Members only (since they joined)' (or set 'history: any' in the policy "
                    "if that is acceptable)"
                ),
            )
        )
    if closed and join_rule == "invite" and version in NO_KNOCK_VERSIONS:
        log.info(
            "matrix: %s is room version %s, without knocking: members ask with !join in a "
            "private chat with the bot",
            label,
            version,
        )
    return GateCheck(closed, tuple(problems))


SETTINGS_TYPES = frozenset({"m.room.join_rules", "m.room.history_visibility"})


def settings_changed(room: Room, source: Mapping[str, Any], bot_user_id: str) -> bool:
    """Someone changed who may join or what newcomers read: the room is checked again, so
    a read-gated room opened while the bot runs is told to its moderators at once."""
    return (
        source.get("type") in SETTINGS_TYPES
        and source.get("state_key") == ""
        and source.get("sender") != bot_user_id
        and not room.is_private_chat
    )


def knock(room: Room, source: Mapping[str, Any], bot_user_id: str) -> AccessRequested | None:
    """A member's knock on a room the bot is in (``membership: knock``); None otherwise.

    nio parses the event (its RoomMemberEvent accepts the membership) but its room model
    keeps no knockers, so the knock is read from the event itself."""
    if source.get("type") != "m.room.member" or room.is_private_chat:
        return None
    user_id = source.get("state_key")
    content = source.get("content") or {}
    if not isinstance(user_id, str) or user_id == bot_user_id:
        return None
    if content.get("membership") != "knock":
        return None
    member = Member(PLATFORM, user_id, content.get("displayname"))
    return AccessRequested(room, member, translate.event_time(source), via="knock")


def pending_knocks(
    room: Room, events: Iterable[Mapping[str, Any]], bot_user_id: str
) -> list[Mapping[str, Any]]:
    """The knock events still waiting in a room: each member's last membership event (state
    first, then the timeline, in order) when it is a knock. Knocks made while the bot was
    down are found here at start, whether or not they are still in the timeline."""
    last: dict[str, Mapping[str, Any]] = {}
    for source in events:
        if source.get("type") == "m.room.member" and isinstance(source.get("state_key"), str):
            last[source["state_key"]] = source
    return [s for s in last.values() if knock(room, s, bot_user_id) is not None]


@dataclass(frozen=True, slots=True)
class JoinAsked:
    """``!join #room`` typed in a private chat with the bot: resolved to a room (an alias
    needs a homeserver call) before the core hears AccessRequested."""

    member: Member
    target: str
    at: Any
    room: Room  # the private chat it was typed in


_JOIN_WORD = re.compile(r"^join\s+(\S+)\s*$", re.IGNORECASE)


def join_request(posted: MessagePosted, prefix: str) -> JoinAsked | None:
    """``{prefix}join <room>`` in a private chat: a room id, an alias or a matrix.to link."""
    if not posted.room.is_private_chat:
        return None
    text = posted.text.strip()
    if not text.startswith(prefix):
        return None
    found = _JOIN_WORD.match(text[len(prefix) :])
    if found is None:
        return None
    target = found.group(1)
    if not target.startswith(("!", "#")):
        ref = translate.parse_link(target)
        if ref is None:
            return None
        target = ref.room_id
    return JoinAsked(posted.author, target, posted.at, posted.room)


class MatrixReadGate:
    """CheckReadGate, GrantAccess (an invite) and RevokeAccess (a kick) as homeserver calls."""

    def __init__(
        self,
        client: AsyncClient,
        user_id: str,
        resolve: Callable[[str], Awaitable[str]],
        describe: Callable[[str], Room | None],
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.resolve = resolve
        self.describe = describe

    @staticmethod
    def handles(action: Action) -> bool:
        return isinstance(action, CheckReadGate | GrantAccess | RevokeAccess)

    async def perform(self, action: Action) -> None:
        if isinstance(action, CheckReadGate):
            await self._check(action)
        elif isinstance(action, GrantAccess):
            await self._invite(action)
        elif isinstance(action, RevokeAccess):
            await self._kick(action)

    async def _check(self, action: CheckReadGate) -> None:
        """Refused (so the room's moderators hear it, once per run) while the room's settings
        do not give what the policy asks; logged with each fix either way."""
        room_id = await self.resolve(action.room.id)
        response = await self.client.room_get_state(room_id)
        if not isinstance(response, RoomGetStateResponse):
            raise ActionRefused(
                Phrase("cannot read the room's settings: {code}", code=response.status_code)
            )
        label = action.room.label
        check = check_settings(
            response.events, self.user_id, label, history=action.history, reask=action.reask
        )
        for problem in check.problems:
            log.warning("matrix: read gate of %s: %s", label, problem)
        if check.problems:
            raise ActionRefused(check.reason)
        log.info("matrix: read gate of %s: closed to members who have not agreed", label)

    async def membership(self, room_id: str, user_id: str) -> str | None:
        response = await self.client.room_get_state_event(room_id, "m.room.member", user_id)
        if isinstance(response, RoomGetStateEventResponse):
            value = (response.content or {}).get("membership")
            return value if isinstance(value, str) else None
        return None

    async def _invite(self, action: GrantAccess) -> None:
        """Done when the homeserver took the invite (or the member is in or invited already);
        a refusal (the bot's power level, a ban) is ActionRefused: nobody is told they can
        read a room they cannot."""
        room_id = await self.resolve(action.room.id)
        member_id = action.member.id
        if await self.membership(room_id, member_id) in {"join", "invite"}:
            return
        response = await self.client.room_invite(room_id, member_id)
        if isinstance(response, ErrorResponse):
            raise ActionRefused(Phrase("invite refused: {code}", code=response.status_code))
        log.info("matrix: invited %s to %s after agreeing", member_id, room_id)

    async def _kick(self, action: RevokeAccess) -> None:
        """A kick, with a reason that says why and carries nothing said in the room; a member
        already out (or never in) is out: done."""
        room_id = await self.resolve(action.room.id)
        member_id = action.member.id
        if await self.membership(room_id, member_id) not in {"join", "invite", "knock"}:
            return
        reason = action.notice or KICK_REASON  # the core's words, in the policy's language
        response = await self.client.room_kick(room_id, member_id, reason=reason)
        if isinstance(response, ErrorResponse):
            raise ActionRefused(Phrase("kick refused: {code}", code=response.status_code))
        log.info("matrix: removed %s from %s until they agree again", member_id, room_id)

    async def requested(self, asked: JoinAsked) -> AccessRequested:
        """``!join`` as AccessRequested for the room it names; a name that leads nowhere still
        reaches the core, which answers that it is not a room the bot lets people into."""
        target = asked.target
        try:
            room_id = await self.resolve(target)
        except Exception:  # an unknown alias: the core answers the member
            room_id = target
        known = self.describe(room_id)
        aliases = (target,) if target.startswith("#") else ()
        if known is not None:
            room = Room(
                PLATFORM, room_id, known.name, tuple(dict.fromkeys((*aliases, *known.aliases)))
            )
        else:
            room = Room(PLATFORM, room_id, None, aliases)
        return AccessRequested(room, asked.member, asked.at, via="request")
