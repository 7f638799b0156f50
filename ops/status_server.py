"""``/healthz`` and ``/metrics`` over HTTP, on loopback unless the admin says otherwise.

aiohttp's server is already installed (discord.py and matrix-nio use its client), so this
costs no new dependency and runs on the bot's own event loop: no thread, no second process.
Neither answer carries an id or a word anyone wrote: which platforms are up, and counts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from bot.config import StatusConfig
from bot.logs import fields
from bot.ports import Adapter, is_connected
from ops.metrics import CONTENT_TYPE, PrometheusMetrics

log = logging.getLogger("confidant.status")

Adapters = Callable[[], Mapping[str, Adapter]]
Delays = Callable[[], Awaitable[list[dict[str, object]]]]


def health(
    adapters: Mapping[str, Adapter], delays: list[dict[str, object]] | None = None
) -> tuple[int, dict[str, object]]:
    """200 while every adapter is connected and nothing waits; 503 otherwise, saying which
    adapter is not connected, or which actions (and owed moderator alerts) have waited
    longer than a minute: a bot whose alerts cannot reach the moderators is not "ok"."""
    states = {
        platform: "connected" if is_connected(adapter) else "disconnected"
        for platform, adapter in sorted(adapters.items())
    }
    connected = all(state == "connected" for state in states.values())
    body: dict[str, object] = {"adapters": states}
    if delays:
        body["waiting"] = delays
    status = "ok" if connected and not delays else "unavailable" if not connected else "delayed"
    return (200 if status == "ok" else 503), {"status": status, **body}


class StatusServer:
    """Serves the two endpoints for one running bot; ``port`` is the bound one (useful
    with port 0, which tests use to get a free port)."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: PrometheusMetrics,
        adapters: Adapters,
        delays: Delays | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.metrics = metrics
        self.adapters = adapters
        self.delays = delays
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve; raises OSError if the address is taken or not ours."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        # No access log: a scrape every few seconds would drown the bot's own lines.
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])  # the one bound, where 0 asked for any
        log.info(
            "status endpoint on http://%s:%d/ (/healthz, /metrics)",
            self.host,
            self.port,
            extra=fields("status_listening", host=self.host, port=self.port),
        )

    @property
    def addresses(self) -> list[str]:
        """The hosts actually bound (what an admin's ``ss -ltn`` would show)."""
        return [str(address[0]) for address in self._runner.addresses] if self._runner else []

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        delays = await self.delays() if self.delays is not None else None
        status, body = health(self.adapters(), delays)
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})


class Status:
    """The metrics and, once the bot is built, the server; what ``bot/cli.py`` holds."""

    def __init__(self, config: StatusConfig) -> None:
        self.config = config
        self.metrics = PrometheusMetrics()
        self.server: StatusServer | None = None

    async def start(self, adapters: Adapters, delays: Delays | None = None) -> None:
        """Serve for these adapters (and what the bot waits for: ``delays``). A taken port
        is logged, not fatal: rooms stay covered by a bot that cannot be monitored, rather
        than losing their bot to a port clash."""
        self.metrics.watch(adapters)
        server = StatusServer(
            self.config.host, self.config.port, self.metrics, adapters, delays
        )
        try:
            await server.start()
        except OSError as error:
            log.error(
                "cannot serve /healthz and /metrics on %s: %s",
                self.config.listen,
                error.strerror or type(error).__name__,
                extra=fields("status_failed", listen=self.config.listen),
            )
            return
        self.server = server

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None


def status_for(config: StatusConfig) -> Status | None:
    """None when the admin switched the endpoint off."""
    return Status(config) if config.enabled else None
