"""The fake Discord as one object a test starts, drives, inspects and stops.

REST and gateway share a single TLS listener on a free loopback port, as discord.com and
gateway.discord.gg both resolve to it through the client's connector (see ``connect``).
"""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web

from . import connect, tls
from .events import GatewayEvents
from .faults import FaultPlan
from .gateway import Gateway
from .limits import Limits
from .member_view import MemberViews
from .recorder import GatewayFrame, RecordedRequest, Recorder
from .rest import RestApi
from .state import INTENT_GUILD_MEMBERS, INTENT_MESSAGE_CONTENT, World

DEFAULT_TOKEN = "ODk0.fake-bot-token.for-tests-only"  # shaped like a bot token, worthless


class FakeDiscord:
    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        enabled_privileged_intents: int = INTENT_GUILD_MEMBERS | INTENT_MESSAGE_CONTENT,
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.world = World(token=token, enabled_privileged_intents=enabled_privileged_intents)
        self.requests: Recorder[RecordedRequest] = Recorder()
        self.frames: Recorder[GatewayFrame] = Recorder()
        self.faults = FaultPlan()
        self.gateway = Gateway(self.world, self.frames, heartbeat_interval_ms=heartbeat_interval_ms)
        self.rest = RestApi(self.world, self.gateway, self.faults, self.requests)
        self.events = GatewayEvents(self.world, self.gateway)
        # What each member reads (messages sent to them, history): see member_view.py.
        self.member_views = MemberViews(self.world)
        self.world.message_listeners.append(self.member_views.message_created)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def token(self) -> str:
        return self.world.token

    @property
    def limits(self) -> Limits:
        """Discord's counters and deadlines (``limits.invalid_requests()``, ``.identifies``)."""
        return self.world.limits

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_route("GET", "/", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((connect.LOOPBACK, 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock, ssl_context=tls.server_context())
        await site.start()
        return self

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def connector(self) -> aiohttp.TCPConnector:
        """A fresh aiohttp connector for ``discord.Client(connector=...)`` (one per client)."""
        return connect.fake_connector(self.port)

    # -- assertions -------------------------------------------------------------------------

    def calls(self, method: str, route: str, *, since: int = 0) -> list[RecordedRequest]:
        """Recorded requests to ``route`` (``{placeholders}`` match one path segment)."""
        return self.requests.find(lambda r: r.matches(method, route), since=since)

    async def wait_for_call(
        self, method: str, route: str, *, since: int = 0, count: int = 1, timeout: float = 3.0
    ) -> list[RecordedRequest]:
        return await self.requests.wait_for(
            lambda r: r.matches(method, route), since=since, count=count, timeout=timeout
        )

    def unexpected_calls(self) -> list[RecordedRequest]:
        """Requests that hit no route the fake implements: the bot called something unplanned."""
        return self.requests.find(lambda r: not r.known_route)

    async def wait_for_op(
        self, op: int, *, since: int = 0, count: int = 1, timeout: float = 3.0
    ) -> list[GatewayFrame]:
        return await self.frames.wait_for(
            lambda f: f.op == op, since=since, count=count, timeout=timeout
        )
