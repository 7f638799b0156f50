"""/healthz and /metrics: served on loopback, 503 while a platform is down, counters that
move with what the bot does, and the config that switches it all."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import StatusConfig, default_config, load_config
from ops.status_server import Status, health, status_for
from tests.checkin_rig import CHECKIN_POLICY, dm
from tests.conftest import ConsoleRig, make_config, start_rig, write_policy

ROOT = Path(__file__).resolve().parents[1]
ANY_FREE_PORT = StatusConfig(listen="127.0.0.1:0")


async def fetch(port: int, path: str) -> tuple[int, str, str]:
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, response.headers["Content-Type"], await response.text()


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


@dataclass
class Served:
    rig: ConsoleRig
    status: Status

    @property
    def port(self) -> int:
        assert self.status.server is not None
        return self.status.server.port

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        code, _, body = await fetch(self.port, "/metrics")
        assert code == 200
        return samples(body)


@asynccontextmanager
async def served(tmp_path: Path, policy: str = CHECKIN_POLICY) -> AsyncIterator[Served]:
    """A console app wired as ``confidant run`` wires it, with the endpoint on a free port."""
    write_policy(tmp_path / "policies", policy)
    status = Status(ANY_FREE_PORT)
    rig = await start_rig(make_config(tmp_path), metrics=status.metrics)
    await status.start(lambda: rig.app.runtime.adapters)
    try:
        yield Served(rig, status)
    finally:
        await status.stop()
        await rig.app.close()


async def test_healthz_and_metrics_follow_a_join_and_a_checkin(tmp_path: Path) -> None:
    async with served(tmp_path) as bot:
        code, kind, body = await fetch(bot.port, "/healthz")
        assert (code, kind.split(";")[0]) == (200, "application/json")
        assert json.loads(body) == {"status": "ok", "adapters": {"console": "connected"}}

        before = await bot.metrics()
        assert before[("confidant_reminders_sent_total", ())] == 0
        assert before[("confidant_adapter_connected", (("platform", "console"),))] == 1
        await bot.rig.say(":room recovery", ":join alice")
        await bot.rig.say(*dm("alice", "/checkin", "agree", "4", "y", "friends", "skip"))
        after = await bot.metrics()
        assert after[("confidant_reminders_sent_total", ())] == 1
        assert after[("confidant_checkins_started_total", ())] == 1
        assert after[("confidant_checkins_completed_total", ())] == 1
        assert after[("confidant_flags_raised_total", ())] == 0
        joins = (("kind", "MemberJoined"),)
        assert after[("confidant_events_handled_total", joins)] == 1
        assert after[("confidant_event_handling_seconds_count", joins)] == 1
        assert after[("confidant_event_handling_seconds_sum", joins)] > 0
        replies = (("kind", "PrivateReply"),)
        assert after[("confidant_events_handled_total", replies)] == 5  # agree + 4 answers


async def test_a_flag_is_counted(tmp_path: Path) -> None:
    from tests.test_leak_canary import CANARY

    async with served(tmp_path) as bot:
        await bot.rig.say(":room recovery", f"alice: {CANARY}", ":room lobby", f"bob: {CANARY}")
        assert (await bot.metrics())[("confidant_flags_raised_total", ())] == 1


@dataclass
class FakeAdapter:
    platform: str
    connected: bool


async def test_healthz_is_503_while_an_adapter_is_down(tmp_path: Path) -> None:
    adapters = {"matrix": FakeAdapter("matrix", True), "discord": FakeAdapter("discord", False)}
    status = Status(ANY_FREE_PORT)
    await status.start(lambda: adapters)  # type: ignore[arg-type, return-value]
    assert status.server is not None
    try:
        code, _, body = await fetch(status.server.port, "/healthz")
        assert code == 503
        assert json.loads(body) == {
            "status": "unavailable",
            "adapters": {"discord": "disconnected", "matrix": "connected"},
        }
        gauge = samples((await fetch(status.server.port, "/metrics"))[2])
        assert gauge[("confidant_adapter_connected", (("platform", "discord"),))] == 0
        assert gauge[("confidant_adapter_connected", (("platform", "matrix"),))] == 1
        adapters["discord"].connected = True
        assert (await fetch(status.server.port, "/healthz"))[0] == 200
    finally:
        await status.stop()


def test_health_without_a_connected_report_counts_as_up() -> None:
    class Plain:
        platform = "console"

    assert health({"console": Plain()}) == (  # type: ignore[dict-item]
        200,
        {"status": "ok", "adapters": {"console": "connected"}},
    )


async def test_the_endpoint_listens_on_loopback_only(tmp_path: Path) -> None:
    status = Status(ANY_FREE_PORT)
    await status.start(dict)
    assert status.server is not None
    try:
        assert status.server.addresses == ["127.0.0.1"]
    finally:
        await status.stop()


async def test_a_taken_port_is_logged_and_the_bot_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = Status(StatusConfig(listen=f"127.0.0.1:{port}"))
        with caplog.at_level(logging.ERROR, "confidant.status"):
            await status.start(dict)
    assert status.server is None
    [record] = [r for r in caplog.records if getattr(r, "event", None) == "status_failed"]
    assert record.listen == f"127.0.0.1:{port}"  # type: ignore[attr-defined]
    await status.stop()  # harmless when nothing was started


# -- config ---------------------------------------------------------------------------------


def config_with(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body + "adapters:\n  console: {enabled: true}\n", encoding="utf-8")
    return path


def test_the_default_is_on_and_bound_to_loopback(tmp_path: Path) -> None:
    for body in ("", "status:\n", "status: {}\n"):
        status = load_config(config_with(tmp_path, body), {}).status
        assert (status.enabled, status.host, status.port) == (True, "127.0.0.1", 9464)
    assert default_config(tmp_path).status == StatusConfig()
    assert status_for(StatusConfig()) is not None


def test_the_endpoint_can_be_switched_off_or_moved(tmp_path: Path) -> None:
    off = load_config(config_with(tmp_path, "status: {enabled: false}\n"), {}).status
    assert status_for(off) is None
    moved = load_config(config_with(tmp_path, 'status: {listen: "[::1]:9100"}\n'), {}).status
    assert (moved.host, moved.port) == ("::1", 9100)


@pytest.mark.parametrize("listen", ["9464", "localhost", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_bad_listen_address_is_reported_at_its_line(tmp_path: Path, listen: str) -> None:
    from bot.config import ConfigError

    path = config_with(tmp_path, f'log_level: INFO\nstatus:\n  listen: "{listen}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:3:11: '{listen}' is not an address to listen on; write it like 127.0.0.1:9464"
    ]


# -- the real command ------------------------------------------------------------------------


async def listening_port(log: Path, proc: subprocess.Popen[bytes]) -> int:
    """The port a ``listen: 127.0.0.1:0`` endpoint got, from the bot's own log line."""
    from bot.logs import parse_logfmt

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            record = parse_logfmt(line)
            if record.get("event") == "status_listening":
                assert record["host"] == "127.0.0.1"
                return int(record["port"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no status_listening line:\n{log.read_text(errors='replace')}")


async def test_confidant_run_serves_the_endpoint(tmp_path: Path) -> None:
    """``confidant run --config`` in its own process: the endpoint is up while it runs and
    counts the join fed to its console."""
    write_policy(tmp_path / "policies")
    config = config_with(
        tmp_path,
        'database: c.db\nkey_file: c.key\npolicy_dir: policies\nstatus: {listen: "127.0.0.1:0"}\n',
    )
    log = tmp_path / "bot.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--config", str(config)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert proc.stdin is not None
    try:
        port = await listening_port(log, proc)
        proc.stdin.write(b":join alice\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        reminded = 0.0
        while time.monotonic() < deadline and reminded < 1:
            await asyncio.sleep(0.05)
            _, _, body = await fetch(port, "/metrics")
            reminded = samples(body)[("confidant_reminders_sent_total", ())]
        assert reminded == 1
        assert (await fetch(port, "/healthz"))[0] == 200
        proc.stdin.close()  # console only: end of input stops the bot
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert "event=reminder_sent" in log.read_text()
