"""What the core and the runtime count, as a tiny interface with a no-op default.

The core must not import an exporter (the Prometheus one lives in ``ops/``), and tests that
do not care about figures should not have to provide one; so the core is handed any object
with these methods and defaults to :class:`NoMetrics`. Only counts, kinds and durations
pass through here: no ids, no text, so a metrics scrape can never reveal who did what.
"""

from __future__ import annotations

from typing import Literal, Protocol

# The things counted one by one. Names are stable: dashboards and alerts are built on them.
Counted = Literal[
    "reminder_sent",
    "flag_raised",
    "checkin_started",
    "checkin_completed",
]
COUNTED: tuple[Counted, ...] = (
    "reminder_sent",
    "flag_raised",
    "checkin_started",
    "checkin_completed",
)


class Metrics(Protocol):
    def event_handled(self, kind: str, seconds: float) -> None:
        """An event of type ``kind`` went through the core and its actions were carried
        out, ``seconds`` after it was received."""

    def count(self, what: Counted) -> None:
        """One more of ``what`` happened."""


class NoMetrics:
    """The default: counts nothing, costs nothing."""

    def event_handled(self, kind: str, seconds: float) -> None:
        return None

    def count(self, what: Counted) -> None:
        return None
