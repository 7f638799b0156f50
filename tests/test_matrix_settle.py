"""A stop lets the Matrix batch under way finish (MatrixAdapter.settle): its sync token is
saved, so the next start does not hand over again events that were already answered; a
batch that arrives while settling is left for the next start, and settling is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.matrix.client import MatrixAdapter, _Batch
from adapters.matrix.session import SessionState
from bot.app import build_registry
from bot.clock import FakeClock
from bot.config import MatrixConfig
from bot.events import Member, MemberJoined, Room

AT = datetime(2026, 12, 4, tzinfo=UTC)


def joined(name: str) -> MemberJoined:
    return MemberJoined(Room("matrix", "!circle:x"), Member("matrix", name), AT)


def adapter_for(tmp_path: Path) -> MatrixAdapter:
    config = MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id="@bot:x",
        password="not used",
        store_dir=tmp_path / "store",
    )
    return MatrixAdapter(config, build_registry(), FakeClock(AT))


async def test_settling_finishes_the_batch_under_way_and_takes_no_other(tmp_path: Path) -> None:
    adapter = adapter_for(tmp_path)
    started, release = asyncio.Event(), asyncio.Event()
    handed: list[str] = []

    async def sink(event: Any) -> None:
        handed.append(event.member.id)
        started.set()
        await release.wait()

    adapter._sink = sink
    adapter._queue.put_nowait(_Batch([joined("@first:x")], "s1", 1))
    loop = asyncio.create_task(adapter._dispatch_loop())
    try:
        await asyncio.wait_for(started.wait(), 5)
        adapter._queue.put_nowait(_Batch([joined("@later:x")], "s2", 2))
        settling = asyncio.create_task(adapter.settle(5.0))
        await asyncio.sleep(0.05)
        assert not settling.done()  # waits for @first's handling
        release.set()
        await asyncio.wait_for(settling, 5)
        assert adapter.state.next_batch == "s1"
        assert SessionState.load(adapter.session_path).next_batch == "s1"
        await asyncio.wait_for(loop, 5)  # the loop ends instead of taking s2
        assert handed == ["@first:x"]
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_settling_is_bounded_and_an_unfinished_batch_keeps_the_old_token(
    tmp_path: Path,
) -> None:
    adapter = adapter_for(tmp_path)
    adapter.state.next_batch = "s0"
    started = asyncio.Event()

    async def sink(_: Any) -> None:
        started.set()
        await asyncio.Event().wait()  # never finishes

    adapter._sink = sink
    adapter._queue.put_nowait(_Batch([joined("@stuck:x")], "s1", 1))
    loop = asyncio.create_task(adapter._dispatch_loop())
    try:
        await asyncio.wait_for(started.wait(), 5)
        began = time.monotonic()
        await adapter.settle(0.2)
        assert time.monotonic() - began < 3
        assert adapter.state.next_batch == "s0"  # handed over again at the next start
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_settling_an_idle_adapter_returns_at_once(tmp_path: Path) -> None:
    adapter = adapter_for(tmp_path)
    loop = asyncio.create_task(adapter._dispatch_loop())
    try:
        await asyncio.sleep(0.01)
        began = time.monotonic()
        await adapter.settle(5.0)
        assert time.monotonic() - began < 1
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
