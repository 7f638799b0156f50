"""Discord's counters and deadlines: the limits a bot only meets in production.

One ``Limits`` per fake (``fake.limits``, also ``world.limits``), consulted by the REST and
gateway halves. Every rule here is on by default; each number is a field a test may lower
(to meet a limit in milliseconds instead of minutes) or move past with ``advance``, which
shifts this module's clock only.

Sources, per rule:
- Invalid requests: https://discord.com/developers/docs/topics/rate-limits#invalid-request-limit-aka-cloudflare-bans
  ("10,000 per 10 minutes ... 401, 403, or 429 ... 429 errors returned with
  X-RateLimit-Scope: shared are not counted against you"). An IP over the limit is
  "temporarily restricted": Cloudflare answers 429 with an HTML page and no ``Via`` header,
  which ``discord/http.py: HTTPClient.request`` recognises as a ban (``if not
  response.headers.get('Via') or isinstance(data, str)``) and raises at once, no retry.
- IDENTIFYs: https://discord.com/developers/docs/events/gateway#identifying ("Clients are
  limited to 1000 IDENTIFY calls to the websocket in a 24-hour period ... Upon hitting this
  limit, all active sessions for the app will be terminated, the bot token will be reset"),
  and the session start limit object of Get Gateway Bot.
- Interactions: https://discord.com/developers/docs/interactions/receiving-and-responding#responding-to-an-interaction
  ("you must send an initial response within 3 seconds of receiving the event. If the 3
  second deadline is exceeded, the token will be invalidated"; "Interaction tokens are valid
  for 15 minutes"). Late callbacks answer 404 10062 Unknown interaction; a token past its 15
  minutes answers 401 50027 Invalid Webhook Token (JSON error codes table,
  https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes,
  and Discord's answer as reported in discord/discord-api-docs#6851).
- Opening DMs: 40003 "You are opening direct messages too fast" (JSON error codes table;
  Discord answers it as 403, e.g. "403 Forbidden (error code: 40003)" in
  davidhozic/discord-advertisement-framework#82). Discord does not publish the
  rate; the fake uses a conservative one (``dm_opens_per_window`` new DM channels per
  ``dm_open_window_s``). Reopening an existing DM channel is free, as on Discord.
- Overwrites: 30060 "Maximum number of channel permission overwrites reached (1000)" (JSON
  error codes table).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

INVALID_STATUSES = frozenset({401, 403, 429})
CLOUDFLARE_BAN_PAGE = (
    "<!DOCTYPE html><html><head><title>Access denied | discord.com used Cloudflare to "
    "restrict access</title></head><body>error code: 1015</body></html>"
)


@dataclass
class Limits:
    # Invalid Request Limit: 10,000 per 10 minutes, then a temporary Cloudflare ban. Discord
    # does not say how long "temporarily" is; an hour is what banned bots report.
    invalid_request_limit: int = 10_000
    invalid_request_window_s: float = 600.0
    ban_s: float = 3600.0
    # session_start_limit: 1000 IDENTIFYs per 24 hours.
    identify_limit: int = 1000
    identify_window_s: float = 86_400.0
    # Interactions: the initial response within 3 s of the event, the token for 15 minutes.
    interaction_deadline_s: float = 3.0
    interaction_token_s: float = 15 * 60.0
    # New DM channels: Discord publishes no rate. 20 a minute is a guess on the strict side:
    # an ordinary day never meets it, a burst of joins (a raid, an import) does.
    dm_opens_per_window: int = 20
    dm_open_window_s: float = 60.0
    # 30060: at most 1000 permission overwrites on one channel.
    max_overwrites: int = 1000

    _offset: float = 0.0
    _invalid: deque[float] = field(default_factory=deque)
    _identifies: deque[float] = field(default_factory=deque)
    _dm_opens: deque[float] = field(default_factory=deque)
    _banned_until: float | None = None
    _dispatched: dict[int, float] = field(default_factory=dict)
    # Interaction id -> seconds from its dispatch to the bot's initial callback (answered or
    # refused), so a test can assert on the deadline the bot kept.
    callback_delays: dict[int, float] = field(default_factory=dict)

    # -- the clock --------------------------------------------------------------------------

    def now(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Move this clock on (a token's 15 minutes, a day of IDENTIFYs) without waiting."""
        self._offset += seconds

    def _recent(self, times: deque[float], window: float) -> int:
        cutoff = self.now() - window
        while times and times[0] <= cutoff:
            times.popleft()
        return len(times)

    # -- invalid requests and the Cloudflare ban ----------------------------------------------

    def count_response(self, status: int, headers: Mapping[str, str]) -> None:
        """Count an answer toward the invalid request limit; ban the IP when it is reached."""
        if status not in INVALID_STATUSES:
            return
        if status == 429 and headers.get("X-RateLimit-Scope") == "shared":
            return  # "not counted against you"
        self._invalid.append(self.now())
        if self.invalid_requests() >= self.invalid_request_limit:
            self._banned_until = self.now() + self.ban_s

    def invalid_requests(self) -> int:
        """Invalid requests (401, 403, 429 except shared-scope 429s) in the last 10 minutes."""
        return self._recent(self._invalid, self.invalid_request_window_s)

    @property
    def banned(self) -> bool:
        return self._banned_until is not None and self.now() < self._banned_until

    def ban_response(self) -> web.Response | None:
        """Cloudflare's answer while the IP is banned, else None."""
        if not self.banned or self._banned_until is None:
            return None
        retry = max(1, round(self._banned_until - self.now()))
        return cloudflare_response(retry)

    # -- IDENTIFY ---------------------------------------------------------------------------

    def identify(self) -> bool:
        """Count one IDENTIFY; False once the day's limit is used up (the token is reset)."""
        self._identifies.append(self.now())
        return self.identifies <= self.identify_limit

    @property
    def identifies(self) -> int:
        """IDENTIFYs in the last 24 hours."""
        return self._recent(self._identifies, self.identify_window_s)

    def session_start_limit(self) -> dict[str, int]:
        """The object Get Gateway Bot returns, from the IDENTIFYs actually made."""
        used = self.identifies
        reset_after = 0
        if self._identifies:
            reset_after = int((self._identifies[0] + self.identify_window_s - self.now()) * 1000)
        return {
            "total": self.identify_limit,
            "remaining": max(0, self.identify_limit - used),
            "reset_after": max(0, reset_after),
            "max_concurrency": 1,
        }

    # -- interactions -----------------------------------------------------------------------

    def interaction_dispatched(self, interaction_id: int) -> None:
        """The clock of an interaction starts when the fake sends INTERACTION_CREATE."""
        self._dispatched.setdefault(interaction_id, self.now())

    def initial_response_late(self, interaction_id: int) -> bool:
        """Record when the initial callback came; True when it missed the 3 s deadline."""
        started = self._dispatched.get(interaction_id)
        if started is None:
            return False
        delay = self.now() - started
        self.callback_delays.setdefault(interaction_id, delay)
        return delay > self.interaction_deadline_s

    def token_expired(self, interaction_id: int) -> bool:
        started = self._dispatched.get(interaction_id)
        return started is not None and self.now() - started > self.interaction_token_s

    # -- opening DMs ------------------------------------------------------------------------

    def open_dm(self) -> bool:
        """Count a new DM channel; False when the bot opens them too fast (40003)."""
        if self._recent(self._dm_opens, self.dm_open_window_s) >= self.dm_opens_per_window:
            return False
        self._dm_opens.append(self.now())
        return True


def cloudflare_response(retry_after: int = 3600) -> web.Response:
    """A Cloudflare 429: an HTML page, no ``Via`` header, no rate-limit headers."""
    return web.Response(
        status=429,
        text=CLOUDFLARE_BAN_PAGE,
        content_type="text/html",
        headers={"Retry-After": str(retry_after)},
    )
