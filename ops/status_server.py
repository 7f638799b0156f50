"""``/healthz`` and ``/metrics`` over HTTP, on loopback unless the admin says otherwise.

A few lines of HTTP/1.1 on asyncio's own server (see :class:`StatusServer`), on the bot's
own event loop: no thread, no second process, no web framework loaded for two routes.
Neither answer carries an id or a word anyone wrote: which platforms are up, and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

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


# A request line and headers larger than this are refused: the endpoint's clients
# (Prometheus, curl, a container health check) send a few hundred bytes.
MAX_REQUEST_BYTES = 16 * 1024
REQUEST_TIMEOUT_S = 10.0
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


class StatusServer:
    """Serves the two endpoints for one running bot; ``port`` is the bound one (useful
    with port 0, which tests use to get a free port).

    A small HTTP/1.1 responder on asyncio's own server rather than aiohttp.web: two GET
    routes do not need a web framework, and aiohttp's server side (17 modules, about
    1.6 MB) was otherwise loaded in every bot only for them. One request per connection
    (``Connection: close``), GET and HEAD only, request head bounded in size and time."""

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
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Bind and serve; raises OSError if the address is taken or not ours."""
        server = await asyncio.start_server(
            self._connection, self.host, self.port, reuse_address=True, limit=MAX_REQUEST_BYTES
        )
        self._server = server
        self.port = int(server.sockets[0].getsockname()[1])  # the one bound, where 0 asked
        log.info(
            "status endpoint on http://%s:%d/ (/healthz, /metrics)",
            self.host,
            self.port,
            extra=fields("status_listening", host=self.host, port=self.port),
        )

    @property
    def addresses(self) -> list[str]:
        """The hosts actually bound (what an admin's ``ss -ltn`` would show)."""
        if self._server is None:
            return []
        return [str(sock.getsockname()[0]) for sock in self._server.sockets]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._open):  # a scrape in progress is cut off, as at exit
            writer.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.LimitOverrunError, ValueError):
                await self._respond(writer, "GET", 400, "text/plain", b"request too large\n")
                return
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                return  # the client went away or never finished asking
            method, path = _request_line(head)
            if method is None:
                await self._respond(writer, "GET", 400, "text/plain", b"bad request\n")
            elif path not in ("/healthz", "/metrics"):
                await self._respond(writer, method, 404, "text/plain", b"not found\n")
            elif method not in ("GET", "HEAD"):
                await self._respond(writer, method, 405, "text/plain", b"GET only\n")
            elif path == "/healthz":
                delays = await self.delays() if self.delays is not None else None
                status, body = health(self.adapters(), delays)
                data = json.dumps(body).encode()
                await self._respond(writer, method, status, "application/json", data)
            else:
                await self._respond(writer, method, 200, CONTENT_TYPE, self.metrics.exposition())
        except ConnectionError:
            pass
        except Exception as error:  # a bug of ours: answer 500, keep serving, say what kind
            log.error(
                "status endpoint failed: %s",
                type(error).__name__,
                extra=fields("status_error", error=type(error).__name__),
            )
            with contextlib.suppress(Exception):
                await self._respond(writer, "GET", 500, "text/plain", b"internal error\n")
        finally:
            self._open.discard(writer)
            writer.close()

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter, method: str, status: int, content_type: str, body: bytes
    ) -> None:
        if "charset=" not in content_type:
            content_type += "; charset=utf-8"
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode("ascii") + (b"" if method == "HEAD" else body))
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            await writer.drain()


def _request_line(head: bytes) -> tuple[str | None, str]:
    """(method, path without the query) of an HTTP/1.x request head; (None, "") if it is
    not one."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return None, ""
    return parts[0], parts[1].split("?", 1)[0]


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
