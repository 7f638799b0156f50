"""The Discord adapter's connection report, as /healthz and the gauge show it, while the fake
drops the gateway socket and holds the bot's RESUME, and after it lets the bot back in."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from ops.status_server import Status
from tests.discord_fake import FakeDiscord
from tests.discord_fake.gateway import RESUME
from tests.test_status_server import ANY_FREE_PORT, fetch, samples

from .conftest import AdapterScene

GAUGE = ("confidant_adapter_connected", (("platform", "discord"),))


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.01)


async def test_disconnected_while_the_gateway_is_gone_connected_after(
    fake: FakeDiscord,
    adapter_scene: AdapterScene,
    start_app: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "confidant.discord")
    rig = await start_app()
    status = Status(ANY_FREE_PORT)
    await status.start(lambda: rig.app.runtime.adapters)
    assert status.server is not None
    port = status.server.port
    try:
        assert rig.adapter.connected
        code, _, body = await fetch(port, "/healthz")
        assert (code, json.loads(body)["adapters"]) == (200, {"discord": "connected"})
        assert samples((await fetch(port, "/metrics"))[2])[GAUGE] == 1

        # The fake keeps the bot's RESUME waiting: the bot stays disconnected until released.
        release = asyncio.Event()
        original = fake.gateway._on_frame

        async def held(ws: Any, op: int, d: Any, session: Any) -> Any:
            if op == RESUME:
                await asyncio.wait_for(release.wait(), timeout=10)
            return await original(ws, op, d, session)

        monkeypatch.setattr(fake.gateway, "_on_frame", held)
        mark = fake.frames.mark()
        await fake.gateway.close_socket(4000)
        await fake.wait_for_op(RESUME, since=mark, timeout=5)  # it is trying to come back
        await until(lambda: not rig.adapter.connected, "the adapter reports the drop")
        code, _, body = await fetch(port, "/healthz")
        assert code == 503
        assert json.loads(body) == {
            "status": "unavailable",
            "adapters": {"discord": "disconnected"},
        }
        assert samples((await fetch(port, "/metrics"))[2])[GAUGE] == 0

        release.set()
        await until(lambda: rig.adapter.connected, "the adapter reports the resume")
        assert (await fetch(port, "/healthz"))[0] == 200
        assert samples((await fetch(port, "/metrics"))[2])[GAUGE] == 1
    finally:
        await status.stop()
    events = [getattr(r, "event", None) for r in caplog.records]
    connected = [e for e in events if e in ("adapter_connected", "adapter_disconnected")]
    assert connected == ["adapter_connected", "adapter_disconnected", "adapter_connected"]
    await rig.close()
    assert not rig.adapter.connected  # stopped means down, not a stale "connected"
