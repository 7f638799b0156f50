"""benchmarks/store_backends.py reports what the deployment guide quotes: the last line is
one JSON object with both backends' figures and PostgreSQL's ratios to SQLite."""

from __future__ import annotations

import json

import pytest

from benchmarks.store_backends import QUICK, Figures, report


def test_the_last_line_holds_both_backends_and_the_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sqlite = Figures("sqlite", checks_per_s=20_000, p99_ms=0.5, bytes_per_fingerprint=270.0,
                     join_writes_per_s=1_000, poll_visible_ms=[90.0, 210.0])
    pg = Figures("pg", checks_per_s=10_000, p99_ms=1.0, bytes_per_fingerprint=330.0,
                 join_writes_per_s=250, join_writes_per_s_parallel=600,
                 poll_visible_ms=[100.0, 205.0], notify_visible_ms=[2.0, 16.0])
    report(sqlite, pg, QUICK, 1.0)
    out = capsys.readouterr().out.splitlines()
    figures = json.loads(out[-1])
    for backend in ("sqlite", "pg"):
        for name in ("checks_per_s", "p99_ms", "bytes_per_fingerprint", "join_writes_per_s",
                     "poll_visible_p99_ms"):
            assert f"{backend}_{name}" in figures
    assert figures["pg_over_sqlite_checks_per_s"] == 0.5
    assert figures["pg_over_sqlite_p99_ms"] == 2.0
    assert figures["pg_over_sqlite_join_writes_per_s"] == 0.25
    assert figures["pg_over_sqlite_bytes_per_fingerprint"] == pytest.approx(1.222, abs=0.001)
    assert figures["pg_notify_visible_p99_ms"] == 16.0
    assert any("PostgreSQL" in line and "SQLite" in line for line in out)
