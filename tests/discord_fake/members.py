"""Member lists are not free: what GUILD_CREATE carries, and REQUEST_GUILD_MEMBERS (op 8).

Discord's rules, each on by default:

- Without the GUILD_PRESENCES intent, GUILD_CREATE carries only the bot's own member plus
  members in voice (the fake has no voice, so: only the bot). With it, a guild over the
  identify's ``large_threshold`` (50..250, default 50) carries only members who are online,
  have a role or a nickname (the fake has no presences: role or nickname). ``member_count``
  is always the real count, and ``large`` says whether the guild is over the threshold.
  (https://discord.com/developers/docs/events/gateway-events#guild-create, the warning under
  "Guild Create Extra Fields"; #identify, ``large_threshold``;
  #request-guild-members, first paragraph.)
- The rest comes from op 8 as GUILD_MEMBERS_CHUNK events of at most 1000 members, each
  with ``chunk_index`` / ``chunk_count`` and the request's ``nonce``; a ``query`` prefix or
  ``user_ids`` return at most 100 (#request-guild-members, #guild-members-chunk).
- A request for the whole list (``query`` "" and ``limit`` 0) is limited to one per guild
  per bot every 30 s; another inside the window is answered by a RATE_LIMITED dispatch
  ``{"opcode": 8, "retry_after": s, "meta": {"guild_id", "nonce"}}`` and no chunks
  (https://discord.com/developers/docs/change-log, "Introducing Rate Limit When Requesting
  All Guild Members", in force for every server since 2025-10-01; #rate-limited).
  discord.py 2.7 has no parser for RATE_LIMITED (``discord/gateway.py: received_message``
  logs "Unknown event" at DEBUG), so its ``chunk_guild`` waits for chunks that never come.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from . import payloads
from .state import INTENT_GUILD_PRESENCES, FakeGuild, FakeMember, World

CHUNK_SIZE = 1000
QUERY_LIMIT = 100
FULL_LIST_WINDOW_S = 30.0
LARGE_THRESHOLD_DEFAULT = 50
LARGE_THRESHOLD_RANGE = (50, 250)

Dispatch = tuple[str, dict[str, Any]]


def large_threshold(identify: dict[str, Any]) -> int:
    """The identify's ``large_threshold``, kept to Discord's 50..250 (default 50)."""
    value = identify.get("large_threshold", LARGE_THRESHOLD_DEFAULT)
    if not isinstance(value, int):
        return LARGE_THRESHOLD_DEFAULT
    low, high = LARGE_THRESHOLD_RANGE
    return max(low, min(high, value))


def guild_create_members(
    world: World, guild: FakeGuild, *, intents: int, threshold: int
) -> list[FakeMember]:
    """The members one session's GUILD_CREATE carries (see the module doc)."""
    bot = guild.members.get(world.bot_user.id)
    mine = [bot] if bot is not None else []
    if not intents & INTENT_GUILD_PRESENCES:
        return mine
    if len(guild.members) <= threshold:
        return list(guild.members.values())
    return mine + [
        m for m in guild.members.values()
        if m is not bot and (m.role_ids or m.nick is not None)
    ]


@dataclass
class MemberRequests:
    """Answers op 8 and counts what it saw; ``window_s`` is the whole-list limit's window
    (a test may shorten it, never needs to switch it off)."""

    window_s: float = FULL_LIST_WINDOW_S
    seen: int = 0  # every op 8
    full_lists: int = 0  # op 8 asking for the whole list, answered with chunks
    rate_limited: int = 0  # op 8 asking for the whole list, answered RATE_LIMITED
    _last_full: dict[int, float] = field(default_factory=dict)

    def answer(self, world: World, d: dict[str, Any]) -> list[Dispatch]:
        self.seen += 1
        guild = world.guilds.get(int(d["guild_id"]))
        if guild is None:
            return []
        nonce = {"nonce": d["nonce"]} if "nonce" in d else {}
        user_ids = d.get("user_ids")
        query = d.get("query")
        limit = int(d.get("limit") or 0)
        members = sorted(guild.members.values(), key=lambda m: m.user_id)
        not_found: list[str] = []
        if user_ids:
            wanted = [int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])]
            members = [m for m in members if m.user_id in set(wanted)][:QUERY_LIMIT]
            not_found = [str(u) for u in wanted if u not in guild.members]
        elif query:
            prefix = str(query).lower()
            members = [
                m for m in members if world.users[m.user_id].username.lower().startswith(prefix)
            ][: min(limit or QUERY_LIMIT, QUERY_LIMIT)]
        elif limit:
            members = members[:limit]
        else:  # the whole list: rate limited per guild
            now = time.monotonic()
            last = self._last_full.get(guild.id)
            if last is not None and now - last < self.window_s:
                self.rate_limited += 1
                retry_after = round(self.window_s - (now - last), 3)
                meta = {"guild_id": str(guild.id), **nonce}
                return [("RATE_LIMITED", {"opcode": 8, "retry_after": retry_after, "meta": meta})]
            self._last_full[guild.id] = now
            self.full_lists += 1
        return _chunks(world, guild, members, not_found, nonce)


def _chunks(
    world: World,
    guild: FakeGuild,
    members: list[FakeMember],
    not_found: list[str],
    nonce: dict[str, Any],
) -> list[Dispatch]:
    count = max(1, -(-len(members) // CHUNK_SIZE))
    out: list[Dispatch] = []
    for index in range(count):
        part = members[index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [payloads.member(world, m) for m in part],
            "chunk_index": index,
            "chunk_count": count,
            **nonce,
        }
        if index == 0 and not_found:
            chunk["not_found"] = not_found
        out.append(("GUILD_MEMBERS_CHUNK", chunk))
    return out
