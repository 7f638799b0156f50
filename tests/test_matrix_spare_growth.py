"""Spare private chats grow with the recent join rate, up to the configured cap, in the
background, and fall back to the configured number once joins slow down (no homeserver:
the stand-in client of tests/test_matrix_reminder_order.py)."""

from __future__ import annotations

import asyncio

import pytest

from adapters.matrix import spare_chats
from adapters.matrix.spare_chats import SpareChats
from tests.test_matrix_reminder_order import BOT, Client, nothing


async def test_the_pool_grows_with_the_join_rate_up_to_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spare_chats, "REFILL_DELAY_S", 0.0)
    now = [1000.0]
    client = Client()
    spares = SpareChats(
        client,  # type: ignore[arg-type]
        BOT,
        True,
        2,
        nothing,
        [],
        lambda: None,
        [],
        cap=5,
        clock=lambda: now[0],
    )
    assert spares.size == 2
    spares.joined(12)  # 12 joins a minute: two for the next ten seconds
    assert spares.size == 2
    spares.joined(600)  # a burst: ten a second
    assert spares.size == 5  # capped
    for _ in range(200):  # bounded: the refill runs in the background
        if len(spares.rooms) >= 5:
            break
        await asyncio.sleep(0.01)
    assert len(spares.rooms) == 5
    assert client.made == 5
    now[0] += 61  # a minute without joins
    assert spares.size == 2
    await spares.stop()


def test_with_no_spares_configured_none_are_made_however_fast_members_join() -> None:
    spares = SpareChats(Client(), BOT, True, 0, nothing, [], lambda: None, [], cap=5)  # type: ignore[arg-type]
    spares.joined(600)
    assert spares.size == 0
