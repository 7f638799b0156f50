"""Which Discord servers this process serves when the bot is sharded across processes.

Discord splits a bot's servers into shards, ``shard_id = (guild_id >> 22) % num_shards``,
and sends each server's events only to the gateway session of its shard; direct messages
(and interactions in them) go to shard 0 only
(https://discord.com/developers/docs/events/gateway#sharding). Each Confidant process runs
one shard (``adapters.discord.shard_ids: [n]`` with ``shard_count``) as a plain discord.py
client with ``shard_id``/``shard_count``: its session, READY and member lists are then those
of one shard, exactly as an unsharded bot's are of all, so the adapter's per-session logic
(catch-up after a new session, resumes) holds unchanged. The state a member's DM needs (a
check-in begun from a server on another shard) lives in the shared store.
"""

from __future__ import annotations

from dataclasses import dataclass


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a server's events to (the sharding formula)."""
    return (guild_id >> 22) % shard_count


@dataclass(frozen=True)
class ShardPlan:
    """The shard this process runs, or ``None`` for an unsharded bot (it has every server)."""

    shard: tuple[int, int] | None = None

    def owns(self, guild_id: int) -> bool:
        """Whether this process's gateway session hears the server (and so serves it:
        prepares its channels, registers its slash commands, counts its members)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_of(guild_id, count) == shard_id

    def hears_dms(self) -> bool:
        """Direct messages (and interactions in them) go to shard 0 only."""
        return self.shard is None or self.shard[0] == 0

    def client_options(self) -> dict[str, int]:
        """What discord.Client takes to IDENTIFY as this shard (``shard: [id, count]``)."""
        if self.shard is None:
            return {}
        return {"shard_id": self.shard[0], "shard_count": self.shard[1]}

    def describe(self) -> str:
        return "unsharded" if self.shard is None else f"shard {self.shard[0]} of {self.shard[1]}"
