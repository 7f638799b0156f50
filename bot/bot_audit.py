"""The audit log of the bot's own actions: deletions, posting holds, role changes, timeouts
and removals, each under the policy it acted for and with its reason (never a member's words).

Written at one place, when the runtime reports an action done (``Core.delivered``), so no
path that emits such an action can miss it, and nothing is logged that the platform refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.actions import (
    Action,
    DeleteMessage,
    GrantAccess,
    RemoveFromRoom,
    RevokeAccess,
    SetPostingAllowed,
    TimeoutMember,
)

if TYPE_CHECKING:
    from bot.core import Core

BOT_ACTOR = "confidant"  # the actor of the bot's own entries (moderators are platform ids)

Audited = (
    DeleteMessage | SetPostingAllowed | TimeoutMember | RemoveFromRoom | GrantAccess | RevokeAccess
)


def entry(action: Audited) -> tuple[str, str]:
    """(action, detail) as the log shows them: ids and room names, never text."""
    room = action.room.label
    match action:
        case DeleteMessage(message_id=message_id, author=author):
            by = f" by {author.id}" if author is not None else ""
            return "bot delete", f"message {message_id}{by} in {room}"
        case SetPostingAllowed(member=member, allowed=allowed, grant=grant) if grant:
            verb = "role given" if allowed else "role taken"
            return f"bot {verb}", f"role {grant} for {member.id} in {room}"
        case SetPostingAllowed(member=member, allowed=allowed):
            verb = "posting allowed" if allowed else "posting held"
            return f"bot {verb}", f"{member.id} in {room}"
        case TimeoutMember(member=member, until=None):
            return "bot timeout ended", f"{member.id} in {room}"
        case TimeoutMember(member=member, until=until):
            return "bot timeout", f"{member.id} in {room} until {until:%Y-%m-%d %H:%M} UTC"
        case RemoveFromRoom(member=member):
            return "bot removal", f"{member.id} from {room}"
        case GrantAccess(member=member):
            return "access granted", f"{member.id} to read {room}"
        case RevokeAccess(member=member):
            return "access revoked", f"{member.id} from reading {room}"
    raise TypeError(type(action).__name__)


async def record(core: Core, action: Action) -> None:
    """One audit row for an action of the bot's own that was carried out."""
    if not isinstance(
        action,
        DeleteMessage
        | SetPostingAllowed
        | TimeoutMember
        | RemoveFromRoom
        | GrantAccess
        | RevokeAccess,
    ):
        return
    policy = action.policy
    if policy is None:
        covering = core.policy_for(action.room)
        policy = covering.name if covering is not None else None
    kind, detail = entry(action)
    if action.reason:
        detail += f": {action.reason}"
    at = core.clock.now()
    await core.store.audit(action.room.platform, BOT_ACTOR, kind, detail, at, policy=policy)
