"""The core's counters as Prometheus metrics (prometheus_client, one registry per bot).

A registry of its own rather than the library's global one: two apps in one process (tests,
the benchmark) must not share or double-register counters, and /metrics should show only
Confidant's figures. Labels are event kinds and platform names, bounded sets; never ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.metrics import COUNTED, Counted
from bot.ports import Adapter, is_connected

# The Prometheus text format generate_latest writes (every Prometheus version reads it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_HELP: dict[Counted, tuple[str, str]] = {
    "reminder_sent": ("confidant_reminders_sent", "Confidentiality reminders delivered."),
    "flag_raised": ("confidant_flags_raised", "Leak flags raised (new flags, not updates)."),
    "checkin_started": ("confidant_checkins_started", "Check-ins started."),
    "checkin_completed": ("confidant_checkins_completed", "Check-ins answered to the end."),
}


class _AdapterState(Collector):
    """Read at scrape time, so the gauge is never staler than the adapters themselves."""

    def __init__(self, adapters: Callable[[], Mapping[str, Adapter]]) -> None:
        self._adapters = adapters

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "confidant_adapter_connected",
            "1 while the platform connection is up, 0 while it is down.",
            labels=["platform"],
        )
        for platform, adapter in sorted(self._adapters().items()):
            gauge.add_metric([platform], 1.0 if is_connected(adapter) else 0.0)
        yield gauge


class PrometheusMetrics:
    """Implements bot.metrics.Metrics; ``watch`` adds the adapters' connection gauge."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._handled = Counter(
            "confidant_events_handled",
            "Events taken through the core, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "confidant_event_handling_seconds",
            "From an event's arrival to its actions being carried out, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self._counters = {
            what: Counter(name, text, registry=self.registry)
            for what, (name, text) in _HELP.items()
        }
        assert set(self._counters) == set(COUNTED), "every counted thing has a metric"
        self._watching = False

    def event_handled(self, kind: str, seconds: float) -> None:
        self._handled.labels(kind=kind).inc()
        self._latency.labels(kind=kind).observe(seconds)

    def count(self, what: Counted) -> None:
        self._counters[what].inc()

    def watch(self, adapters: Callable[[], Mapping[str, Adapter]]) -> None:
        """Report the connection state of the adapters ``adapters()`` returns (once)."""
        if not self._watching:
            self.registry.register(_AdapterState(adapters))
            self._watching = True

    def exposition(self) -> bytes:
        """The Prometheus text format of everything in this registry."""
        return generate_latest(self.registry)
