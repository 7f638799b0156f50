"""Events about the bot's own place in rooms: invites, its permissions, adapter problems,
button presses routed to the feature that owns them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot import abilities, i18n, read_gate, reminding, rules_messages, texts
from bot.actions import (
    Action,
    AlertModerators,
    CheckGrant,
    CheckReadGate,
    JoinRoom,
    LeaveRoom,
    PostToRoom,
    ReplyToInvoker,
    SetPostingAllowed,
)
from bot.events import (
    AdapterStatus,
    BotPermissions,
    ChoiceMade,
    InvitedToRoom,
    ModeratorGranted,
)
from bot.i18n import N_
from bot.i18n_choice import deployment_language
from bot.logs import fields

if TYPE_CHECKING:
    from bot.core import Core
    from bot.policy import Policy, RoomRef

log = logging.getLogger("confidant.core")


async def on_choice(core: Core, event: ChoiceMade) -> list[Action]:
    if event.member.is_bot:
        return []
    handlers = core._choice_handlers.items()
    handler = next((h for p, h in handlers if event.choice_id.startswith(p)), None)
    if handler is None:
        log.info("a choice nobody handles was made on %s", event.room.platform)
        actions: list[Action] = [
            ReplyToInvoker(event.room, event.member, texts.choice_gone(), event.reply_handle)
        ]
    else:
        actions = await handler(event)
    return await reminding.with_owed(core, event.member, actions)


async def on_moderator_granted(core: Core, event: ModeratorGranted) -> list[Action]:
    core._console_moderators.add((event.member.platform, event.member.id))
    return []


async def on_adapter_status(core: Core, event: AdapterStatus) -> list[Action]:
    if not event.problems:
        return []
    for problem in event.problems:
        log.warning("%s adapter: %s", event.platform, problem)

    def worded(policies: list[Policy]) -> str:
        """In the language of the communities whose moderators' room it is."""
        with i18n.speaking(deployment_language(policies)):
            return texts.adapter_problems(event.platform, event.problems)

    return core.alerts_per_room(worded)


async def on_invite(core: Core, event: InvitedToRoom) -> list[Action]:
    """Join rooms a policy covers or watches, rooms its alerts or check-in contact requests go
    to, and private chats; decline the rest."""
    room = event.room
    wanted = (
        room.is_private_chat
        or core.policy_for(room) is not None
        or bool(core.policies.current.watching(room.platform, room.id, room.name, room.aliases))
        or any(
            ref.matches(room.platform, room.id, room.name, room.aliases)
            for policy in core.policies.current.policies
            for ref in (*policy.alerts, *_supporters_rooms(policy))
        )
    )
    log.info("invite to a %s room: %s", room.platform, "accepting" if wanted else "declining")
    return [JoinRoom(room)] if wanted else [LeaveRoom(room)]


def _supporters_rooms(policy: Policy) -> tuple[RoomRef, ...]:
    room = policy.checkins.supporters_room if policy.checkins else None
    return () if room is None else (room,)


async def on_permissions(core: Core, event: BotPermissions) -> list[Action]:
    """Sent for each room at start (and on joining one): the moment to check the room's
    rules message as well as what the bot may do there. What the room's policy needs and
    the bot lacks is logged and told to that policy's moderators (an alert room the bot
    cannot post in is told to the policy's other alert rooms and the log)."""
    actions = await _alert_room_lacks(core, event)
    policy = core.policy_for(event.room)
    if policy is None:
        return actions
    if policy.reminder.delivery == "rules_message":
        actions += await rules_messages.rules_message(core, event.room, policy)
    actions += read_gate.check_rooms(core, event.room, policy)
    problems = _lacks(event, abilities.needed_in_covered_room(policy))
    if abilities.needs_gate_powers(policy):
        grant = core.grant_for(event.room, policy)
        if grant is not None and core.caps(event.room.platform).posting_permission:
            actions.append(CheckGrant(event.room, grant))
        if not (event.can_restrict_posting or event.can_delete):
            problems = [
                texts.cannot_enforce(event.room.label),
                # what a lacking ability below names already is not named twice
                *(m for m in event.missing if m not in {lack.fix for lack in event.lacking}),
                *problems,
            ]
    return actions + _report(core, event.room.platform, [policy], problems)


def refused(core: Core, action: Action, reason: str) -> list[Action]:
    """The platform refused something the policy needs (a post, a private thread, a
    permission change): told to the room's moderators once per run, room and kind, never
    as if it were done. Role changes are left to the adapter, which words them with their
    fix; a refused alert goes to the policy's other alert rooms."""
    if isinstance(action, AlertModerators):
        return _alert_refused(core, action, reason)
    room = getattr(action, "room", None)
    if room is None or (isinstance(action, SetPostingAllowed) and action.grant is not None):
        return []
    what = _REFUSED_WHAT.get(type(action).__name__, N_("an action"))
    if isinstance(action, PostToRoom) and action.private_thread:
        what = N_("a private thread for a member whose private messages are closed")
    told = (room.platform, what, room.id)
    policy = core.policy_for(room)
    if policy is None or told in core.refusals_told:
        return []
    core.refusals_told.add(told)
    problem = texts.refused_in_room(room.label, what, reason)
    if isinstance(action, CheckReadGate):  # a room setting to fix, not a refused request
        problem = texts.read_gate_unsafe(room.label, reason)
    log.warning("%s adapter: %s", room.platform, problem, extra=fields("action_refused"))
    return core.alerts_to([policy], texts.adapter_problems(room.platform, (problem,)))


def _alert_refused(core: Core, action: AlertModerators, reason: str) -> list[Action]:
    told = (action.platform, "alerts", action.room_selector)
    if told in core.refusals_told:
        return []
    core.refusals_told.add(told)
    where = action.room_selector
    problem = texts.refused_in_room(where, N_("posting moderator alerts"), reason)
    log.warning("%s adapter: %s", action.platform, problem, extra=fields("action_refused"))
    policies = [
        policy
        for policy in core.policies.current.policies
        if any(_names(ref, action.platform, where) for ref in policy.alerts)
    ]
    text = texts.adapter_problems(action.platform, (problem,))
    return [
        alert
        for alert in core.alerts_to(policies, text)
        if isinstance(alert, AlertModerators)
        and (alert.platform, alert.room_selector) != (action.platform, where)
    ]


def _names(ref: RoomRef, platform: str, selector: str) -> bool:
    """The alert room an AlertModerators action names (see Core.alerts_to)."""
    return (ref.platform, ref.selector[1]) == (platform, selector)


_REFUSED_WHAT = {  # said in the language of the moderators told (texts.refused_in_room)
    "PostToRoom": N_("a post"),
    "SetPostingAllowed": N_("a change to who may post"),
    "DeleteMessage": N_("removing a post"),
    "TimeoutMember": N_("a timeout of a repeat leaker"),
    "RemoveFromRoom": N_("removing a repeat leaker from the room"),
    "GrantAccess": N_("letting a member who agreed read the room"),
    "RevokeAccess": N_("taking away a member's access after the reminder changed"),
    "CheckReadGate": N_("keeping the room closed to members who have not agreed"),
}


async def _alert_room_lacks(core: Core, event: BotPermissions) -> list[Action]:
    room = event.room
    policies = [
        policy
        for policy in core.policies.current.policies
        if any(
            ref.matches(room.platform, room.id, room.name, room.aliases) for ref in policy.alerts
        )
    ]
    if not policies:
        return []
    return _report(core, room.platform, policies, _lacks(event, abilities.needed_in_alert_room()))


def _lacks(event: BotPermissions, needs: dict[str, str]) -> list[str]:
    """Each lacking ability the room needs, once, with its fix and what it is needed for."""
    seen: set[str] = set()
    problems: list[str] = []
    for lack in event.lacking:
        if lack.ability in needs and lack.fix not in seen:
            seen.add(lack.fix)
            problems.append(texts.lacking_in_room(event.room.label, lack.fix, needs[lack.ability]))
    return problems


def _report(core: Core, platform: str, policies: list[Policy], problems: list[str]) -> list[Action]:
    if not problems:
        return []
    for problem in problems:
        log.warning("%s adapter: %s", platform, problem, extra=fields("permission_missing"))
    return core.alerts_to(policies, texts.adapter_problems(platform, tuple(problems)))
