"""The bot process of the crash harness: ``confidant run --config`` with one difference,
discord.py's connection goes to the Discord protocol fake instead of discord.com.

Why a launcher instead of ``python -m bot.cli run``: discord.py has no setting for its API
address; it takes an aiohttp connector (as the live tests give it), and only the process that
builds the adapter can hand it one. Everything else is the production path: the same CLI,
config loading, logging, signal handling, App and adapters. The fake's certificate authority
comes in as a PEM file, since the harness made it in its own memory.

    python -m tests.crash.launch --config CONFIG --discord-port PORT --discord-ca CA.pem
        [--tick-seconds S] [--break fire-claims|leases-off]

``--tick-seconds``: the core's tick (60 s in production), shorter so that a run of minutes
sees scheduled check-ins fire and shared-job leases change hands (a lease lasts 2.5 ticks,
bot/jobs.py). ``--break fire-claims`` plants a known bug for the harness's own test, that it
can fail: a scheduled check-in's fire is "claimed" in the process's memory instead of the
store, so a restarted process sends it again; ``--break leases-off`` lets every process run
every shared job at once.
"""

from __future__ import annotations

import argparse
import ssl
from collections.abc import Sequence
from typing import Any

import aiohttp

import adapters.discord as discord_adapter
from bot import cli
from tests.discord_fake.connect import FakeDiscordResolver

GUILD_READY_TIMEOUT_S = 0.2  # discord.py waits this long after the last GUILD_CREATE


def fake_connector(port: int, ca_file: str) -> aiohttp.TCPConnector:
    """Discord's host names resolve to the fake's port; only the harness's CA is trusted."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca_file)
    return aiohttp.TCPConnector(
        resolver=FakeDiscordResolver(port), ssl=context, limit=0, use_dns_cache=False
    )


def point_discord_at_fake(port: int, ca_file: str) -> None:
    """Wrap the adapter factory the CLI calls, adding the connector (discord.py's documented
    option) and a short guild-ready wait so that a restart is quick."""
    make = discord_adapter.make_discord_adapter

    def pointed(config: Any, registry: Any, clock: Any, **options: Any) -> Any:
        options.setdefault("connector", fake_connector(port, ca_file))
        options.setdefault("guild_ready_timeout", GUILD_READY_TIMEOUT_S)
        return make(config, registry, clock, **options)

    discord_adapter.make_discord_adapter = pointed  # type: ignore[assignment]


def tick_every(seconds: float) -> None:
    """The CLI builds its App with the default tick; this one ticks every ``seconds``."""
    from bot.app import App

    create = App.create.__func__  # type: ignore[attr-defined]

    async def ticking(cls: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["tick_seconds"] = seconds
        return await create(cls, *args, **kwargs)

    App.create = classmethod(ticking)  # type: ignore[method-assign,assignment]


def break_fire_claims() -> None:
    """The planted bug: claims kept in memory, lost with the process (see the module doc)."""
    from bot.store.sqlite import SqlStore

    claimed: set[tuple[str, str, Any]] = set()

    async def in_memory(self: Any, platform: str, member_id: str, seen: Any, fire: Any) -> bool:
        if (platform, member_id, fire) in claimed:
            return False
        claimed.add((platform, member_id, fire))
        return True

    SqlStore.claim_checkin_fire = in_memory  # type: ignore[method-assign]
    # A fire's first message carries a key of that fire, which the platforms use to drop a
    # resend (Discord's nonce, Matrix's transaction id): without it the bug shows as it would
    # to members of a platform without such a key.
    from bot.checkins import recurring

    recurring.fire_key = lambda member, fire, previous: None  # type: ignore[assignment,return-value]


def break_leases() -> None:
    """Every process believes it holds every lease (bot/jobs.py): what then keeps each
    item once is the store's conditional updates alone."""
    from bot.jobs import LeasedDuties

    async def always(self: Any, name: str) -> bool:
        return True

    LeasedDuties._holds = always  # type: ignore[method-assign]


BREAKS = {"fire-claims": break_fire_claims, "leases-off": break_leases}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--discord-port", type=int, required=True)
    parser.add_argument("--discord-ca", required=True)
    parser.add_argument("--tick-seconds", type=float, default=None)
    parser.add_argument("--break", dest="broken", choices=sorted(BREAKS), default=None)
    args = parser.parse_args(argv)
    point_discord_at_fake(args.discord_port, args.discord_ca)
    if args.tick_seconds is not None:
        tick_every(args.tick_seconds)
    if args.broken is not None:
        BREAKS[args.broken]()
    return cli.main(["run", "--config", args.config])


if __name__ == "__main__":
    raise SystemExit(main())
