"""Restarts and outages: the bot as a separate process, and a homeserver that goes away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from nio import JoinResponse

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import TEST_BCRYPT_ROUNDS, sync_once
from tests.matrix_live.rig import (
    REMINDER,
    BotWorld,
    Notices,
    create_world,
    say,
    wait_until,
    watch,
)

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """``confidant run --config`` as an admin starts it: a separate process."""

    def __init__(self, world: BotWorld) -> None:
        self.world = world
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = world.tmp / "bot.log"

    def start(self) -> None:
        env = {**os.environ, "BOT_PASSWORD": self.world.bot_password, "PYTHONPATH": str(ROOT)}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run", "--config", str(self.world.config_path)],
                cwd=self.world.tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.asynccontextmanager
async def own_world(
    tmp_path: Path,
    client_factory,
    **synapse_options: Any,  # type: ignore[no-untyped-def]
) -> AsyncIterator[tuple[LocalSynapse, BotWorld, Any]]:
    """A homeserver of the test's own (to stop, or to configure strictly) with a running bot;
    both stopped afterwards whatever happens."""
    homeserver = LocalSynapse(
        tmp_path / "hs",
        relaxed_rate_limits=True,
        bcrypt_rounds=TEST_BCRYPT_ROUNDS,
        **synapse_options,
    )
    await homeserver.start()
    try:
        make = client_factory(homeserver)
        world = await create_world(homeserver, tmp_path / "bot", make)
        await world.start_bot()
        try:
            await wait_until([world.mod], world.bot_joined, "the bot joined")
            yield homeserver, world, make
        finally:
            await world.stop_bot()
    finally:
        await homeserver.stop()


@pytest.fixture
def bot_process() -> Iterator[list[BotProcess]]:
    started: list[BotProcess] = []
    yield started
    for bot in started:
        if bot.proc is not None and bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait(timeout=10)


async def test_restart_never_reminds_twice_and_catches_up(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,
    bot_process,  # type: ignore[no-untyped-def]
) -> None:
    world = await create_world(synapse, tmp_path, matrix_client)
    bot = BotProcess(world)
    bot_process.append(bot)
    bot.start()
    await wait_until([world.mod], world.bot_joined, "the bot process joined", deadline_s=60)
    alice = await matrix_client("alice")
    alice_notices = watch(alice)
    await sync_once(alice)
    assert isinstance(await alice.join(world.room_id), JoinResponse)
    await wait_until([alice], lambda: bool(alice_notices.containing(REMINDER)), "alice reminded")

    assert bot.stop() == 0, bot.output()
    assert "Traceback" not in bot.output()

    # bob joins while the bot is down
    bob = await matrix_client("bob")
    bob_notices = watch(bob)
    await sync_once(bob)
    assert isinstance(await bob.join(world.room_id), JoinResponse)

    restarted = BotProcess(world)
    bot_process.append(restarted)
    restarted.start()
    await wait_until(
        [bob],
        lambda: bool(bob_notices.containing(REMINDER)),
        "bob reminded after restart",
        deadline_s=60,
    )
    # a member's words in an unencrypted room never reach the bot's log, even at DEBUG
    canary = "canary-5521 my sponsor relapsed"
    await say(world.mod, world.room_id, canary)
    # everything before the moderator's command was handled by the time its answer comes
    mod_notices = watch(world.mod)
    before = len(mod_notices.containing("Policies reloaded"))
    await say(world.mod, world.room_id, "!policy reload")
    await wait_until(
        [world.mod, alice, bob],
        lambda: len(mod_notices.containing("Policies reloaded")) > before,
        "the reload answer",
    )
    assert len(alice_notices.containing(REMINDER)) == 1
    assert len(bob_notices.containing(REMINDER)) == 1
    # the same device was reused: one device for the bot account, not one per start
    assert restarted.stop() == 0, restarted.output()
    sessions = (world.tmp / "matrix-store" / "session.json").read_text()
    assert world.bot_id in sessions
    log_text = restarted.output()  # both processes append to the same log file
    assert "level=debug" in log_text  # the rig's config asks for the most verbose level
    assert "canary-5521" not in log_text and "relapsed" not in log_text
    assert log_text.count("with new device") == 1
    assert log_text.count("resumed device") == 1


async def test_homeserver_outage_is_survived(
    tmp_path: Path,
    matrix_client_factory,  # type: ignore[no-untyped-def]
) -> None:
    async with own_world(tmp_path, matrix_client_factory) as (homeserver, world, make):
        assert world.adapter is not None and world.adapter.connected
        await homeserver.stop()
        deadline = time.monotonic() + 30
        while world.adapter.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not world.adapter.connected
        await homeserver.start()
        back = time.monotonic()
        while not world.adapter.connected and time.monotonic() - back < 10:
            await asyncio.sleep(0.05)
        assert world.adapter.connected
        assert time.monotonic() - back <= 5.0  # the target
        carol = await make("carol")
        notices = watch(carol)
        await sync_once(carol)
        assert isinstance(await carol.join(world.room_id), JoinResponse)
        await wait_until(
            [carol], lambda: bool(notices.containing(REMINDER)), "carol reminded after outage"
        )


async def test_rate_limits_are_honoured(
    tmp_path: Path,
    matrix_client_factory,  # type: ignore[no-untyped-def]
) -> None:
    """A homeserver that allows the bot one message a second: every private reminder still
    arrives, once, because M_LIMIT_EXCEEDED is waited out (retry_after_ms) and retried. The
    rate limit is a join burst to the bot (reminder.burst): the waiting newcomers may be
    named in a room reminder meanwhile, each at most once."""
    strict = {"rc_message": {"per_second": 1, "burst_count": 2}}
    # nio reports each 429 it waits out; listen on its logger directly, whatever other tests
    # did to the root logger's handlers and levels
    waits: list[str] = []
    listener = logging.Handler(logging.WARNING)
    listener.emit = lambda record: waits.append(record.getMessage())  # type: ignore[method-assign]
    nio_client_log = logging.getLogger("nio.client.async_client")
    nio_client_log.addHandler(listener)
    nio_client_log.setLevel(logging.INFO)
    try:
        async with own_world(tmp_path, matrix_client_factory, extra_config=strict) as (
            _,
            world,
            make,
        ):
            members = [await make(f"m{i}") for i in range(4)]
            watched = [watch(member) for member in members]
            for member in members:
                await sync_once(member)
                assert isinstance(await member.join(world.room_id), JoinResponse)
            def private(notices: Notices) -> list[str]:
                return [b for r, b in notices.containing(REMINDER) if r != world.room_id]

            await wait_until(
                members,
                lambda: all(private(n) for n in watched),
                "every member reminded privately despite the rate limit",
                deadline_s=60,
            )
            assert all(len(private(n)) == 1 for n in watched)
            in_room = [b for r, b in watched[-1].containing(REMINDER) if r == world.room_id]
            for member in members:
                assert sum(member.user_id in b for b in in_room) <= 1
    finally:
        nio_client_log.removeHandler(listener)
    assert any("ratelimited" in message for message in waits)
