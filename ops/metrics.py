"""The core's counters as Prometheus metrics, one set per bot.

The bot counts in plain Python (dicts of numbers) and imports prometheus_client only to
write the exposition when /metrics is scraped: most small deployments watch /healthz alone,
and the library with its exposition helpers (wsgiref, gzip, timeit) is about 0.8 MB of every
idle bot. A scraped bot loads it at the first scrape. The text is the one the library's own
Counter and Histogram wrote (same names, buckets, ``_created`` series), built through its
documented custom-collector families, so dashboards see no change.

One set per bot rather than the library's global registry: two apps in one process (tests,
the benchmark) must not share or double-count, and /metrics shows only Confidant's figures.
Labels are event kinds and platform names, bounded sets; never ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.metrics import COUNTED, Counted
from bot.ports import Adapter, is_connected

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

# The Prometheus text format generate_latest writes (every Prometheus version reads it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_HELP: dict[Counted, tuple[str, str]] = {
    "reminder_sent": ("confidant_reminders_sent", "Confidentiality reminders delivered."),
    "flag_raised": ("confidant_flags_raised", "Leak flags raised (new flags, not updates)."),
    "checkin_started": ("confidant_checkins_started", "Check-ins started."),
    "checkin_completed": ("confidant_checkins_completed", "Check-ins answered to the end."),
}
_HANDLED = ("confidant_events_handled", "Events taken through the core, by kind.")
_LATENCY = (
    "confidant_event_handling_seconds",
    "From an event's arrival to its actions being carried out, by kind.",
)
# prometheus_client's Histogram.DEFAULT_BUCKETS, the buckets this histogram always had.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


@dataclass
class _Count:
    created: float = field(default_factory=time.time)
    value: float = 0.0


@dataclass
class _Latency:
    """One kind's histogram: observations per bucket (not cumulative), +Inf last."""

    created: float = field(default_factory=time.time)
    per_bucket: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.total += seconds
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.per_bucket[index] += 1
                return
        self.per_bucket[-1] += 1


class PrometheusMetrics:
    """Implements bot.metrics.Metrics; ``watch`` adds the adapters' connection gauge."""

    def __init__(self) -> None:
        self._handled: dict[str, _Count] = {}
        self._latency: dict[str, _Latency] = {}
        self._counters = {what: _Count() for what in _HELP}
        assert set(self._counters) == set(COUNTED), "every counted thing has a metric"
        self._adapters: Callable[[], Mapping[str, Adapter]] | None = None

    def event_handled(self, kind: str, seconds: float) -> None:
        self._handled.setdefault(kind, _Count()).value += 1
        self._latency.setdefault(kind, _Latency()).observe(seconds)

    def count(self, what: Counted) -> None:
        self._counters[what].value += 1

    def watch(self, adapters: Callable[[], Mapping[str, Adapter]]) -> None:
        """Report the connection state of the adapters ``adapters()`` returns (once)."""
        if self._adapters is None:
            self._adapters = adapters

    def exposition(self) -> bytes:
        """The Prometheus text format of everything counted so far."""
        from prometheus_client import CollectorRegistry, generate_latest

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(self))
        return generate_latest(registry)

    def families(self) -> Iterator[Metric]:
        """The metric families, read now: the adapters' gauge is never staler than they are."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        handled = CounterMetricFamily(*_HANDLED, labels=["kind"])
        for kind, count in self._handled.items():
            handled.add_metric([kind], count.value, created=count.created)
        yield handled
        latency = HistogramMetricFamily(*_LATENCY, labels=["kind"])
        for kind, histogram in self._latency.items():
            cumulative, buckets = 0, []
            bounds = (*BUCKETS, float("inf"))
            for bound, observed in zip(bounds, histogram.per_bucket, strict=True):
                cumulative += observed
                buckets.append((_bound(bound), float(cumulative)))
            latency.add_metric([kind], buckets, histogram.total)
        for kind, histogram in self._latency.items():  # after every kind's own samples
            latency.add_sample(f"{_LATENCY[0]}_created", {"kind": kind}, histogram.created)
        yield latency
        for what, (name, text) in _HELP.items():
            counter = CounterMetricFamily(name, text)
            count = self._counters[what]
            counter.add_metric([], count.value, created=count.created)
            yield counter
        if self._adapters is not None:
            gauge = GaugeMetricFamily(
                "confidant_adapter_connected",
                "1 while the platform connection is up, 0 while it is down.",
                labels=["platform"],
            )
            for platform, adapter in sorted(self._adapters().items()):
                gauge.add_metric([platform], 1.0 if is_connected(adapter) else 0.0)
            yield gauge


def _bound(bound: float) -> str:
    """A bucket's ``le`` label as prometheus_client writes it ("0.005", "1.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


class _Families:
    """A collector (prometheus_client's custom-collector protocol: ``collect``)."""

    def __init__(self, metrics: PrometheusMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.families()
