"""``confidant run`` with no config, run as an admin runs it: a separate process that starts its
own homeserver, prints how to sign in, serves a member end to end, stops on Ctrl-C without
leaving Synapse behind, and on the next run serves the same accounts without reminding anyone
twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
)

from adapters.matrix.embedded import (
    ACCOUNTS_FILE,
    HOMESERVER_DIR,
    STORE_DIR,
    EmbeddedSetupError,
    prepare_embedded,
)
from adapters.matrix.homeserver import PID_FILE, pid_alive
from tests.matrix_live.conftest import client_config, log_in
from tests.matrix_live.rig import Notices, accept_dm_invites, say, wait_until, watch

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 90.0
STOP_DEADLINE_S = 30.0
LAST_LINE_MARK = "confidant console"  # the login text's last line
REMINDER_MARK = "What is shared here stays here."  # from bot/defaults/default-policy.yaml
ROOM_ALIAS = "#recovery:localhost"

URL_RE = re.compile(r"Homeserver:\s+(http://127\.0\.0\.1:\d+)\s*$", re.MULTILINE)


def password_of(text: str, user_id: str) -> str:
    found = re.search(rf"{re.escape(user_id)}\s+password:\s+(\S+)", text)
    assert found is not None, f"no password for {user_id} in:\n{text}"
    return found.group(1)


@dataclass
class Run:
    """One ``confidant run`` process and what it printed."""

    proc: asyncio.subprocess.Process
    stderr_path: Path
    text: str = ""

    @property
    def url(self) -> str:
        found = URL_RE.search(self.text)
        assert found is not None, f"no homeserver URL in:\n{self.text}"
        return found.group(1)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


async def start_run(state: Path, cwd: Path, label: str) -> Run:
    stderr_path = cwd / f"{label}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, "CONFIDANT_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)},
        )
    run = Run(proc, stderr_path)
    assert proc.stdout is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_DEADLINE_S
    lines: list[str] = []
    for _ in range(500):  # the login text is a few dozen lines
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            raw = await asyncio.wait_for(proc.stdout.readline(), remaining)
        except TimeoutError:
            break
        if not raw:
            break  # the process ended
        lines.append(raw.decode())
        if LAST_LINE_MARK in lines[-1]:
            run.text = "".join(lines)
            return run
    run.text = "".join(lines)
    raise AssertionError(
        f"no login text within {START_DEADLINE_S:.0f} s (exit code {proc.returncode}).\n"
        f"stdout:\n{run.text}\nstderr:\n{run.stderr()[-4000:]}"
    )


def synapse_pid(state: Path) -> int:
    """The launcher records '<synapse pid> <launcher pid>' while Synapse runs."""
    return int((state / HOMESERVER_DIR / PID_FILE).read_text().split()[0])


def synapses_on(state: Path) -> list[int]:
    """Live processes started with this state dir's homeserver config, however they began."""
    config = str(state / HOMESERVER_DIR / "homeserver.yaml").encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        pid = int(entry.name)
        if b"synapse.app.homeserver" in cmdline and config in cmdline and pid_alive(pid):
            found.append(pid)
    return found


async def interrupt(run: Run, state: Path) -> None:
    """Ctrl-C, as in a terminal: the run must end by itself, successfully, taking Synapse
    with it."""
    child = synapse_pid(state)
    assert pid_alive(child)
    run.proc.send_signal(signal.SIGINT)
    code = await asyncio.wait_for(run.proc.wait(), STOP_DEADLINE_S)
    assert code == 0, run.stderr()[-4000:]
    assert not pid_alive(child)
    assert synapses_on(state) == []
    assert not (state / HOMESERVER_DIR / PID_FILE).exists()


async def kill_leftovers(runs: list[Run], state: Path) -> None:
    """Only after a failure: stop what a failed test left running, gently first."""
    for run in runs:
        if run.proc.returncode is None:
            run.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(run.proc.wait(), STOP_DEADLINE_S)
            except TimeoutError:
                run.proc.kill()
                await run.proc.wait()
    for pid in synapses_on(state):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


@pytest.fixture
async def runs(tmp_path: Path) -> AsyncIterator[list[Run]]:
    started: list[Run] = []
    try:
        yield started
    finally:
        await kill_leftovers(started, tmp_path / "state")


async def sign_in(
    url: str, password: str, store: Path, user_id: str = "@alice:localhost"
) -> AsyncClient:
    store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(url, user_id, store_path=str(store), config=client_config())
    await log_in(client, password, "embedded-test")
    return client


def alice_level(client: AsyncClient, room_id: str) -> int:
    return int(client.rooms[room_id].power_levels.get_user_level(client.user_id))


@pytest.mark.timeout(240)
async def test_run_without_config_serves_a_member_and_restarts_on_the_same_data(
    tmp_path: Path, runs: list[Run]
) -> None:
    state = tmp_path / "state"
    first = await start_run(state, tmp_path, "first")
    runs.append(first)
    text = first.text
    for expected in (
        "@mod:localhost",
        "@alice:localhost",
        "@sam:localhost",
        ROOM_ALIAS,
        "#mods:localhost",
        "!agree",
        "!rules",
        "!help",
        str(state),
        "confidant run --config config.yaml",
        "config.example.yaml",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    passwords = {u: password_of(text, u) for u in ("@mod:localhost", "@alice:localhost")}
    assert stat.S_IMODE((state / ACCOUNTS_FILE).stat().st_mode) == 0o600
    assert synapses_on(state) == [synapse_pid(state)]

    alice = await sign_in(first.url, passwords["@alice:localhost"], tmp_path / "alice-store")
    try:
        notices: Notices = watch(alice)
        joined = await alice.join(ROOM_ALIAS)
        assert isinstance(joined, JoinResponse), joined
        room_id = joined.room_id
        await wait_until(
            [alice], lambda: any(d for _, d in notices.invites), "a private chat invite", 30
        )
        await accept_dm_invites(alice, notices)
        await wait_until(
            [alice], lambda: bool(notices.containing(REMINDER_MARK)), "the private reminder", 30
        )
        dm_room, body = notices.containing(REMINDER_MARK)[0]
        assert dm_room != room_id and "!agree" in body
        assert notices.undecryptable == []
        # the moderator gave the bot enough power to hold back members who have not agreed
        await wait_until([alice], lambda: alice_level(alice, room_id) < 0, "posting restricted")

        sent = await say(alice, dm_room, "!agree")
        assert isinstance(sent, RoomSendResponse), sent
        await wait_until([alice], lambda: bool(notices.containing("Thank you")), "the thanks")
        await wait_until([alice], lambda: alice_level(alice, room_id) >= 0, "posting allowed")
        await interrupt(first, state)
        for secret in passwords.values():
            assert secret not in first.stderr()

        invites_before, seen_before = len(notices.invites), len(notices.seen)
        second = await start_run(state, tmp_path, "second")
        runs.append(second)
        assert second.url == first.url
        for user_id, secret in passwords.items():
            assert password_of(second.text, user_id) == secret
        # a command after the restart: its answer proves the bot has handled everything
        # before it, so a repeated reminder would have arrived by then
        asked = await say(alice, room_id, "!rules")
        assert isinstance(asked, RoomSendResponse), asked  # agreement survived the restart
        await wait_until(
            [alice],
            lambda: any("Confidentiality reminder" in b for _, b in notices.seen[seen_before:]),
            "the answer to !rules",
            30,
        )
        new = notices.seen[seen_before:]
        assert len(new) == 1 and new[0][0] == dm_room, new
        assert len(notices.invites) == invites_before
        await interrupt(second, state)
    finally:
        await alice.close()


async def test_lost_passwords_with_a_kept_homeserver_are_refused_before_starting(
    tmp_path: Path,
) -> None:
    (tmp_path / HOMESERVER_DIR).mkdir()
    (tmp_path / HOMESERVER_DIR / "homeserver.db").write_bytes(b"")
    with pytest.raises(EmbeddedSetupError, match="delete that folder"):
        await prepare_embedded(tmp_path)
    assert synapses_on(tmp_path) == []
    assert not (tmp_path / ACCOUNTS_FILE).exists()


@pytest.mark.timeout(180)
async def test_a_deleted_homeserver_is_set_up_again_with_the_same_passwords(
    tmp_path: Path,
) -> None:
    first = await prepare_embedded(tmp_path)
    try:
        passwords = dict(first.passwords)
    finally:
        await first.stop()
    (tmp_path / STORE_DIR).mkdir()  # what the bot's device and keys left behind
    (tmp_path / STORE_DIR / "session.json").write_text("{}")
    shutil.rmtree(tmp_path / HOMESERVER_DIR)

    second = await prepare_embedded(tmp_path)
    try:
        assert second.passwords == passwords
        assert not (tmp_path / STORE_DIR).exists()
        mod = await sign_in(
            second.homeserver_url, passwords["mod"], tmp_path / "mod-store", "@mod:localhost"
        )
        try:
            found = await mod.room_resolve_alias(ROOM_ALIAS)
            assert isinstance(found, RoomResolveAliasResponse), found
        finally:
            await mod.close()
    finally:
        await second.stop()
    assert synapses_on(tmp_path) == []
