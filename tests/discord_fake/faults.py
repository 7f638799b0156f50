"""Error injection for REST: the next N matching calls fail the way Discord fails.

A bot's error handling is only believable if it has met Discord's real error shapes: a 429 with
the rate-limit headers and Cloudflare's ``Via``, a 403 carrying a JSON error code, a bare 5xx.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from . import payloads
from .limits import cloudflare_response
from .recorder import route_regex


@dataclass
class Fault:
    method: str
    route: str
    remaining: int
    status: int
    body: dict[str, object] | None
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.method in (method, "*")
            and route_regex(self.route).fullmatch(path) is not None
        )

    def respond(self) -> web.Response:
        self.remaining -= 1
        if self.status == 429 and self.body is None:
            return cloudflare_response(int(self.headers.get("Retry-After", "3600")))
        if self.body is None:
            return web.Response(status=self.status, text="upstream connect error", headers={
                "Content-Type": "text/plain", **self.headers
            })
        return json_response(self.body, status=self.status, headers=self.headers)


class FaultPlan:
    """Queued faults, consulted before a route is served; first match wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                return fault
        return None

    def pending(self) -> int:
        return sum(f.remaining for f in self._faults)

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def rate_limit(
        self,
        method: str,
        route: str,
        *,
        retry_after: float = 0.25,
        count: int = 1,
        is_global: bool = False,
        bucket: str = "fakebucket0123456789",
    ) -> Fault:
        reset_at = time.time() + retry_after
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update({
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{reset_at:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": bucket,
            })
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
            "code": 0,
        }
        return self.add(Fault(method.upper(), route, count, 429, body, headers))

    def shared_rate_limit(
        self, method: str, route: str, *, retry_after: float = 1336.57, count: int = 1
    ) -> Fault:
        """A per-resource ("shared") 429 with the long wait of Discord's documented example;
        it does not count as an invalid request (docs: topics/rate-limits, "Example Exceeded
        Resource Rate Limit Response" and "Invalid Request Limit")."""
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "9",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fakeshared0123456789",
            "X-RateLimit-Scope": "shared",
        }
        body = {
            "message": "The resource is being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        return self.add(Fault(method.upper(), route, count, 429, body, headers))

    def cloudflare_ban(self, method: str, route: str, *, count: int = 1) -> Fault:
        """Cloudflare's 429: an HTML page without ``Via``; ``discord/http.py:
        HTTPClient.request`` raises it at once as a ban (no retry, no sleep)."""
        return self.add(Fault(method.upper(), route, count, 429, None, {"Retry-After": "3600"}))

    def error(
        self,
        method: str,
        route: str,
        *,
        status: int,
        code: int,
        message: str,
        count: int = 1,
    ) -> Fault:
        return self.add(
            Fault(method.upper(), route, count, status, payloads.error(message, code))
        )

    def server_error(self, method: str, route: str, *, status: int = 503, count: int = 1) -> Fault:
        return self.add(Fault(method.upper(), route, count, status, None))


def json_response(
    body: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON with ``Content-Type`` exactly ``application/json``: discord.py compares it verbatim,
    so aiohttp's default ``; charset=utf-8`` suffix would make it treat the body as text."""
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


@dataclass
class GatewayRefusal:
    """The gateway turning sockets away, as Discord's edge does during an outage: the next
    ``remaining`` websocket upgrades get ``status`` and no socket. Each refusal's time is
    kept, so a test can measure recovery from the moment connections were accepted again."""

    remaining: int = 0
    status: int = 503
    refused_at: list[float] = field(default_factory=list)

    def refuse(self, count: int = 1, *, status: int = 503) -> GatewayRefusal:
        self.remaining, self.status = count, status
        return self

    def take(self) -> web.Response | None:
        """The answer for this upgrade if it is refused, else None (serve it)."""
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        self.refused_at.append(time.monotonic())
        return web.Response(status=self.status, text="upstream connect error")
