"""The bot process of benchmarks/footprint.py: ``confidant run --config`` exactly, with
discord.py pointed at the local Discord fake.

A module of its own, and small, so the measured process carries nothing the real ``confidant
run`` would not: the benchmark's own code (Synapse set-up, the fake, the report) stays in
the parent process. The only difference from ``confidant run`` is a connector (discord.py's
documented ``connector`` option) whose resolver sends Discord's host names to the fake and
whose TLS trusts only the fake's throwaway CA; it is written out here rather than imported
from tests/ so the bot process does not also load the fake's server code.

    python -m benchmarks.footprint_bot CONFIG DISCORD_PORT DISCORD_CA_FILE
"""

from __future__ import annotations

import socket
import sys
from typing import Any

DISCORD_DOMAINS = ("discord.com", "discord.gg", "discordapp.com", "discordapp.net")


def fake_discord_connector(port: int, ca_file: str) -> Any:
    """An aiohttp connector that dials the fake for every Discord host name (and refuses
    any other name), verifying TLS against the fake's CA only."""
    import ssl

    import aiohttp
    from aiohttp.abc import AbstractResolver, ResolveResult

    class ToTheFake(AbstractResolver):
        async def resolve(
            self, host: str, port_: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            name = host.rstrip(".").lower()
            if not any(name == d or name.endswith("." + d) for d in DISCORD_DOMAINS):
                raise OSError(f"the benchmark resolves only Discord's names, not {host!r}")
            return [
                ResolveResult(
                    hostname=host,
                    host="127.0.0.1",
                    port=port,
                    family=socket.AF_INET,
                    proto=0,
                    flags=socket.AI_NUMERICHOST,
                )
            ]

        async def close(self) -> None:
            return None

    return aiohttp.TCPConnector(
        resolver=ToTheFake(),
        ssl=ssl.create_default_context(cafile=ca_file),
        limit=0,
        use_dns_cache=False,
    )


def run_bot(config: str, port: int, ca_file: str) -> int:
    """``confidant run --config`` with discord.py pointed at the fake."""
    from bot.lean import keep_out_unused_extras

    keep_out_unused_extras()  # as ``confidant`` does first; the adapter is imported before it
    import adapters.discord as discord_adapter
    from bot import cli

    make = discord_adapter.make_discord_adapter

    def pointed(discord_config: Any, registry: Any, clock: Any, **options: Any) -> Any:
        options.setdefault("connector", fake_discord_connector(port, ca_file))
        return make(discord_config, registry, clock, **options)

    discord_adapter.make_discord_adapter = pointed  # type: ignore[assignment]
    return cli.main(["run", "--config", config])


if __name__ == "__main__":
    config, port, ca_file = sys.argv[1:4]
    sys.exit(run_bot(config, int(port), ca_file))
