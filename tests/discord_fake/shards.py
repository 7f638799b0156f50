"""Sharding in the fake: which gateway session hears which event, and which IDENTIFYs to refuse.

A bot in many servers splits its gateway into shards: each session IDENTIFYs with
``shard: [shard_id, num_shards]`` and hears only its share. Rules, all on by default, from
https://discord.com/developers/docs/events/gateway#sharding:

- "shard_id = (guild_id >> 22) % num_shards": a server's events go to the session whose shard
  that is (READY's ``guilds`` and the GUILD_CREATEs list only that shard's servers).
- "only the first shard (shard_id: 0) would receive DMs": an event with no server (a direct
  message, an interaction in a DM) goes to shard 0.
- "Each shard can only support a maximum of 2500 guilds, and apps that are in 2500+ guilds
  must enable sharding": a session that would serve more is closed with 4011.
- The close-code table (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes):
  4010 "Invalid shard: You sent us an invalid shard when identifying", 4011 "Sharding
  required: The session would have handled too many guilds - you are required to shard your
  connection in order to connect".
- Get Gateway Bot's ``shards`` is "the recommended number of shards to use when connecting"
  (https://discord.com/developers/docs/events/gateway#get-gateway-bot). The docs give no
  formula; the fake recommends one shard per started 1000 servers (sharding "is recommended
  once you reach 1,000 servers", as library guides put it, e.g. DisCatSharp's "Sharding").

Discord does not refuse two sessions with the same shard (nothing in the docs says so, and
libraries note that shard ids "do not need to be unique", e.g. twilight's ShardId docs): the
fake, as before sharding, sends a shard's events to its newest session only.

A session without ``shard`` is ``[0, 1]``: it hears everything, as an unsharded bot does.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .snowflake import DISCORD_EPOCH_MS
from .state import FakeGuild, World

INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
UNSHARDED = (0, 1)

# Events whose server is in ``id`` rather than ``guild_id``.
_GUILD_ID_IN_ID = ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE")


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that hears a server (docs: events/gateway#sharding, the sharding formula)."""
    return (guild_id >> 22) % shard_count


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The server an event belongs to, or None (a DM, an interaction in a DM)."""
    raw = data.get("id") if event in _GUILD_ID_IN_ID else data.get("guild_id")
    return int(raw) if raw else None


def hears(shard: tuple[int, int], guild_id: int | None) -> bool:
    """Whether a session with ``shard`` gets an event of ``guild_id`` (None: DMs, shard 0)."""
    shard_id, count = shard
    if guild_id is None:
        return shard_id == 0
    return shard_of(guild_id, count) == shard_id


def parse_shard(raw: object) -> tuple[int, int] | None:
    """IDENTIFY's ``shard`` as (id, count), or None if it is not a valid shard array: two
    whole numbers, ``0 <= shard_id < num_shards`` (docs: the identify structure's "shard"
    field, https://discord.com/developers/docs/events/gateway-events#identify)."""
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        return None
    shard_id, count = raw
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (shard_id, count)):
        return None
    if count < 1 or not 0 <= shard_id < count:
        return None
    return shard_id, count


@dataclass
class ShardRules:
    """The sharding limits (see the module doc); a test may lower ``max_guilds_per_shard``
    to meet 4011 with two servers instead of 2501."""

    max_guilds_per_shard: int = 2500
    guilds_per_recommended_shard: int = 1000

    def refusal(self, raw: object, guild_ids: Iterable[int]) -> tuple[int, bytes] | None:
        """The close code and reason for an IDENTIFY's shard, or None to accept it."""
        if raw is None:
            shard = UNSHARDED
        else:
            parsed = parse_shard(raw)
            if parsed is None:
                return INVALID_SHARD, b"Invalid shard."
            shard = parsed
        served = sum(1 for g in guild_ids if hears(shard, g))
        if served > self.max_guilds_per_shard:
            return SHARDING_REQUIRED, b"Sharding required."
        return None

    def recommended(self, guild_count: int) -> int:
        """Get Gateway Bot's ``shards``: at least 1, one per started 1000 servers."""
        return max(1, math.ceil(guild_count / self.guilds_per_recommended_shard))


def add_guild_on_shard(world: World, name: str, shard_id: int, shard_count: int) -> FakeGuild:
    """A new server whose id falls on ``shard_id`` of ``shard_count`` (a test places its
    servers on chosen shards). Snowflakes keep time in their top bits, so the next id is
    moved a few milliseconds ahead to the first one on that shard; ids stay increasing."""
    factory = world.snowflakes
    now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS + 50
    start = max(now_ms, (factory._last >> 22) + 1)
    target = start + (shard_id - start) % shard_count
    factory._last = max(factory._last, (target << 22) - 1)
    guild = world.add_guild(name)
    if shard_of(guild.id, shard_count) != shard_id:  # the clock jumped past the target
        raise RuntimeError(f"server {guild.id} fell on another shard; try again")
    return guild
