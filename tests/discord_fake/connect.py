"""Point an unmodified discord.py client at the fake, through its documented ``connector``.

discord.py builds every URL itself (``https://discord.com/api/v10``, ``wss://gateway.discord.gg``
and the ``resume_gateway_url`` from READY) and sends REST, webhooks and the gateway through one
aiohttp session built on the connector it is given. A connector whose resolver answers Discord's
host names with the fake's loopback address *and port* therefore redirects everything without
patching a single discord.py attribute, and refusing every other name guarantees no test traffic
reaches the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from . import tls

if TYPE_CHECKING:
    import discord

DISCORD_DOMAINS = ("discord.com", "discord.gg", "discordapp.com", "discordapp.net")
LOOPBACK = "127.0.0.1"


def is_discord_host(host: str) -> bool:
    host = host.rstrip(".").lower()
    return any(host == d or host.endswith("." + d) for d in DISCORD_DOMAINS)


class FakeDiscordResolver(AbstractResolver):
    """DNS for the fake: Discord's names → the fake's (loopback, port); anything else → error.

    aiohttp connects to the ``port`` in the resolve result, not the one in the URL, so the
    client's URLs can keep their real :443 while the fake listens on a free port.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.refused: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if not is_discord_host(host):
            self.refused.append(host)
            raise OSError(f"fake Discord resolver refuses non-Discord host {host!r}")
        return [
            ResolveResult(
                hostname=host,
                host=LOOPBACK,
                port=self.port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def fake_connector(port: int) -> aiohttp.TCPConnector:
    """The connector to hand to ``discord.Client(connector=...)``; the client owns it after."""
    return aiohttp.TCPConnector(
        resolver=FakeDiscordResolver(port),
        ssl=tls.client_context(),
        limit=0,
        use_dns_cache=False,
    )


@contextlib.asynccontextmanager
async def running(
    client: discord.Client, token: str, *, ready_timeout: float = 5.0
) -> AsyncIterator[discord.Client]:
    """Log in, connect, wait (bounded) for READY, and always close and reap the task after."""
    await client.login(token)
    # Registered before connecting, so a fast READY cannot slip past it.
    ready = asyncio.ensure_future(client.wait_for("ready", timeout=ready_timeout))
    task = asyncio.create_task(client.connect(reconnect=True), name="discord-client-connect")
    try:
        done, _ = await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            task.result()  # the client stopped before READY: surface why
            raise RuntimeError("client.connect() returned before READY")
        ready.result()  # raises TimeoutError if READY never came
        yield client
    finally:
        ready.cancel()
        await client.close()
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 5.0)
