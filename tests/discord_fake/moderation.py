"""Member moderation in the fake: timeouts (Modify Guild Member's communication_disabled_until).

Discord's rules, from https://discord.com/developers/docs/resources/guild#modify-guild-member:
- ``communication_disabled_until`` is "when the user's timeout will expire and the user will
  be able to communicate in the guild again (up to 28 days in the future), set to null to
  remove timeout"; setting it needs MODERATE_MEMBERS, else 403 50013 Missing Permissions.
- "Will throw a 403 error if the user has the ADMINISTRATOR permission or is the owner of
  the guild."
- The route answers 200 with the guild member and fires a Guild Member Update.
And from https://discord.com/developers/docs/topics/permissions (MODERATE_MEMBERS, 1 << 40,
"Allows for timing out users to prevent them from sending or reacting to messages in chat
and threads"): a member in timeout keeps only View Channel and Read Message History.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .state import FakeGuild, FakeMember, utcnow

if TYPE_CHECKING:
    from .rest import Call, RestApi

MODERATE_MEMBERS = 1 << 40
_VIEW_CHANNEL = 1 << 10
_READ_MESSAGE_HISTORY = 1 << 16
MAX_TIMEOUT = dt.timedelta(days=28)  # Modify Guild Member: "up to 28 days in the future"


def timed_out(member: FakeMember | None, now: dt.datetime | None = None) -> bool:
    until = member.communication_disabled_until if member is not None else None
    return until is not None and until > (now or utcnow())


def in_timeout(value: int) -> int:
    """What a timed-out member keeps of ``value`` (owners and admins are never timed out)."""
    return value & (_VIEW_CHANNEL | _READ_MESSAGE_HISTORY)


async def modify_member(rest: RestApi, call: Call) -> web.Response:
    """PATCH /guilds/{guild.id}/members/{user.id}: the fake takes communication_disabled_until
    (what a moderation bot sends); other fields are refused as unknown to the fake."""
    from . import payloads
    from . import permissions as perm
    from .faults import json_response
    from .rest import ApiError, unknown

    guild: FakeGuild = rest._guild(call)
    member = guild.members.get(call.id("user_id"))
    if member is None:
        raise unknown("Member", 10007)
    body: dict[str, Any] = call.json or {}
    if set(body) - {"communication_disabled_until"}:
        raise ApiError(400, 50035, "Invalid Form Body (the fake edits timeouts only)")
    if "communication_disabled_until" in body:
        bot_perms = perm.base_permissions(guild, rest.world.bot_user.id)
        if not bot_perms & MODERATE_MEMBERS:
            raise ApiError(403, 50013, "Missing Permissions")
        if member.user_id == guild.owner_id or (
            perm.base_permissions(guild, member.user_id) & perm.ADMINISTRATOR
        ):
            raise ApiError(403, 50013, "Missing Permissions")
        raw = body["communication_disabled_until"]
        until = dt.datetime.fromisoformat(raw) if raw else None
        if until is not None and until - utcnow() > MAX_TIMEOUT:
            raise ApiError(400, 50035, "Invalid Form Body (timeout over 28 days)")
        member.communication_disabled_until = until
        data = {**payloads.member(rest.world, member), "guild_id": str(guild.id)}
        await rest._notify("GUILD_MEMBER_UPDATE", data)
    return json_response(payloads.member(rest.world, member))
