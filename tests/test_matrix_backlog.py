"""The Matrix adapter's burst signal (adapters/matrix/backlog.py): each join is handed to the
core with the number of private reminders waiting behind it (joins queued from the
homeserver, private messages queued or under way), and a rate-limited answer from the
homeserver marks a burst for a while."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from adapters.matrix.backlog import PrivateBacklog
from adapters.matrix.client import MatrixAdapter, _Batch
from bot.app import build_registry
from bot.clock import FakeClock
from bot.config import MatrixConfig
from bot.events import Member, MemberJoined, Room

ROOM = Room("matrix", "!circle:x")
AT = datetime(2026, 12, 4, tzinfo=UTC)


def joined(name: str) -> MemberJoined:
    return MemberJoined(ROOM, Member("matrix", name), AT)


async def test_each_join_carries_the_queue_behind_it() -> None:
    backlog = PrivateBacklog(slots=2)
    assert backlog.received([joined(f"@m{i}:x") for i in range(12)]) == 12
    backlog.batch_started()
    first = backlog.handing_over(joined("@m0:x"))
    assert isinstance(first, MemberJoined) and first.private_backlog == 11
    for index in range(1, 11):  # handed over side by side: the batch is as deep for each
        later = backlog.handing_over(joined(f"@m{index}:x"))
        assert isinstance(later, MemberJoined) and later.private_backlog == 11
    backlog.batch_started()  # the next batch: only the one join left waits
    release = asyncio.Event()

    async def send() -> None:
        async with backlog.sending_one():
            await release.wait()

    sends = [asyncio.create_task(send()) for _ in range(3)]  # two under way, one queued
    await asyncio.sleep(0)
    last = backlog.handing_over(joined("@m11:x"))
    assert isinstance(last, MemberJoined) and last.private_backlog == 3  # the sends
    release.set()
    await asyncio.wait_for(asyncio.gather(*sends), timeout=5)
    assert backlog.depth == 0


async def test_a_rate_limited_answer_marks_a_burst() -> None:
    class Client:
        async def send(self, *_: Any, **__: Any) -> Any:
            return SimpleNamespace(status=429)

    client = Client()
    backlog = PrivateBacklog()
    backlog.watch(client)  # type: ignore[arg-type]
    assert not backlog.rate_limited()
    await client.send("PUT", "/_matrix/client/v3/rooms/x/send/m.room.message/1")
    handed = backlog.handing_over(joined("@m0:x"))
    assert isinstance(handed, MemberJoined) and handed.rate_limited


async def test_batches_that_queued_up_behind_a_slow_one_are_handed_over_as_one(
    tmp_path: Path,
) -> None:
    """A join burst: while one sync's events are handled, later syncs queue up; they are
    then handled together (their members side by side, one gate write for all), not one
    sync after the other, and the sync token saved is the last one's."""
    config = MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id="@bot:x",
        password="not used",
        store_dir=tmp_path / "store",
    )
    adapter = MatrixAdapter(config, build_registry(), FakeClock(AT))
    release = asyncio.Event()
    busy, most = 0, 0

    async def sink(event: Any) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        if event.member.id == "@first:x":
            await release.wait()
        else:
            await asyncio.sleep(0.01)
        busy -= 1

    adapter._sink = sink
    adapter._queue.put_nowait(_Batch([joined("@first:x")], "s1", 1))
    loop = asyncio.create_task(adapter._dispatch_loop())
    try:
        await asyncio.sleep(0.01)
        for index in range(2, 6):
            adapter._queue.put_nowait(_Batch([joined(f"@m{index}:x")], f"s{index}", index))
        release.set()
        for _ in range(200):  # bounded
            if adapter.state.next_batch == "s5":
                break
            await asyncio.sleep(0.01)
        assert adapter.state.next_batch == "s5"
        assert most == 4  # the four queued syncs' joins at once
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


def test_a_member_opening_their_private_chat_is_no_newcomer() -> None:
    backlog = PrivateBacklog()
    chat = Room("matrix", "!their-chat:x", is_private_chat=True)
    assert backlog.received([MemberJoined(chat, Member("matrix", "@m:x"), AT)]) == 0
    assert backlog.depth == 0
