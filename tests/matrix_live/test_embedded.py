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
    COMMAND_ENV,
    HOMESERVER_DIR,
    STORE_DIR,
    EmbeddedSetupError,
    prepare_embedded,
)
from adapters.matrix.homeserver import PID_FILE, pid_alive
from tests.matrix_live.conftest import client_config, log_in, sync_once
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


def cli_env(state: Path, command: str | None = None) -> dict[str, str]:
    """The environment of a ``confidant`` process: its state dir, and how the newcomer typed
    the command (the bootstrap script sets CONFIDANT_COMMAND; an installed one does not)."""
    env = {**os.environ, "CONFIDANT_STATE_DIR": str(state), "PYTHONPATH": str(ROOT)}
    env.pop(COMMAND_ENV, None)
    if command is not None:
        env[COMMAND_ENV] = command
    return env


async def start_run(state: Path, cwd: Path, label: str, command: str | None = None) -> Run:
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
            env=cli_env(state, command),
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
    # started from the installed command, not the bootstrap script: the hints say so
    assert "  confidant demo add-member NAME" in text and "./confidant" not in text
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

        # a member added while nothing runs: the homeserver is started just for it, and
        # stopped again; the next run lists the member with the others
        code, out, err = await add_member_cli(state, "erin")
        assert code == 0 and "Registered @erin:localhost" in out, err[-4000:]
        assert synapses_on(state) == [] and not (state / HOMESERVER_DIR / PID_FILE).exists()

        invites_before, seen_before = len(notices.invites), len(notices.seen)
        second = await start_run(state, tmp_path, "second")
        runs.append(second)
        assert second.url == first.url
        for user_id, secret in passwords.items():
            assert password_of(second.text, user_id) == secret
        assert password_of(second.text, "@erin:localhost") == password_of(out, "@erin:localhost")
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


# -- the whole demo, on one started default ----------------------------------------------------

DEMO_ROOMS = ("#recovery:localhost", "#mods:localhost", "#lobby:localhost", "#supporters:localhost")
BOT_ID = "@confidant:localhost"
# A member's words in the confidential room, then retold in the lobby (15 words: over the
# default policy's 12-word guarantee).
CIRCLE_WORDS = (
    "when I relapsed last winter my sister drove four hours through the snow to sit with me"
)


async def add_member_cli(state: Path, name: str) -> tuple[int, str, str]:
    """``./confidant demo add-member NAME`` as the bootstrap script runs it, beside the run."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "demo",
        "add-member",
        name,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(state, "./confidant"),
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def joined(client: AsyncClient, room_id: str, user_id: str) -> bool:
    room = client.rooms.get(room_id)
    return room is not None and user_id in room.users and user_id not in room.invited_users


async def join_and_agree(client: AsyncClient, notices: Notices) -> tuple[str, str]:
    """Join the confidential room, open the bot's private chat, agree: (room, private chat)."""
    response = await client.join(ROOM_ALIAS)
    assert isinstance(response, JoinResponse), response
    await wait_until(
        [client], lambda: bool(notices.containing(REMINDER_MARK)), "the private reminder", 30
    )
    [(dm, _)] = notices.containing(REMINDER_MARK)
    sent = await say(client, dm, "!agree")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until([client], lambda: bool(notices.containing("Thank you")), "the thanks", 30)
    await wait_until(
        [client], lambda: alice_level(client, response.room_id) >= 0, "posting allowed", 30
    )
    return response.room_id, dm


async def answer(
    client: AsyncClient, room_id: str, notices: Notices, text: str, expect: str
) -> None:
    sent = await say(client, room_id, text)
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until(
        [client], lambda: bool(notices.containing(expect)), f"{expect!r} after {text!r}", 30
    )


async def help_in(client: AsyncClient, room_id: str, notices: Notices) -> str:
    """The bot's answer to !help sent in ``room_id`` (wherever the bot puts its reply)."""
    before = len(notices.containing("Commands you can use"))
    sent = await say(client, room_id, "!help")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until(
        [client],
        lambda: len(notices.containing("Commands you can use")) > before,
        f"the answer to !help in {room_id}",
        30,
    )
    return notices.containing("Commands you can use")[before][1]


@pytest.mark.timeout(420)
async def test_the_embedded_default_demonstrates_every_feature(
    tmp_path: Path, runs: list[Run]
) -> None:
    """One started default, as a newcomer uses it from a fresh clone: every demo account and
    room is there, a member added with ``./confidant demo add-member`` can sign in, a quote
    of the circle in the lobby is flagged to the moderators, and a check-in shows crisis
    resources and reaches the peer supporter."""
    state = tmp_path / "state"
    run = await start_run(state, tmp_path, "demo", command="./confidant")
    runs.append(run)
    text = run.text
    accounts = ("@mod:localhost", "@supporter:localhost", "@alice:localhost", "@sam:localhost")
    for expected in (
        *accounts,
        *DEMO_ROOMS,
        "!checkin",
        "!claim",
        "./confidant demo add-member NAME",
        "./confidant run --config config.yaml",
        "./confidant console",
        "the next\n`./confidant run` reuses it",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"
    passwords = {user_id: password_of(text, user_id) for user_id in accounts}

    clients: list[AsyncClient] = []

    async def signed_in(user_id: str, password: str) -> AsyncClient:
        name = user_id[1:].split(":", 1)[0]
        client = await sign_in(run.url, password, tmp_path / f"{name}-store", user_id)
        clients.append(client)
        return client

    try:
        # every demo account signs in; the moderator's rooms all exist, with the bot in them
        mod, supporter, alice, _sam = [await signed_in(u, passwords[u]) for u in accounts]
        room_ids = {}
        for room_alias in DEMO_ROOMS:
            found = await mod.room_resolve_alias(room_alias)
            assert isinstance(found, RoomResolveAliasResponse), (room_alias, found)
            room_ids[room_alias] = found.room_id
        await wait_until(
            [mod],
            lambda: all(joined(mod, rid, BOT_ID) for rid in room_ids.values()),
            "the bot in every demo room",
            60,
        )
        supporters_room = room_ids["#supporters:localhost"]
        mods_room = room_ids["#mods:localhost"]
        lobby = room_ids["#lobby:localhost"]
        assert mod.rooms[room_ids[ROOM_ALIAS]].encrypted and mod.rooms[mods_room].encrypted
        assert mod.rooms[supporters_room].encrypted
        # the supporter was invited to the supporters' room and joins it
        await wait_until(
            [supporter], lambda: supporters_room in supporter.invited_rooms, "the invitation"
        )
        entered = await supporter.join(supporters_room)
        assert isinstance(entered, JoinResponse), entered

        # ./confidant demo add-member, beside the running default: a member who can sign in
        code, out, err = await add_member_cli(state, "dana")
        assert code == 0, err[-4000:]
        assert "@dana:localhost" in out and run.url in out
        dana = await signed_in("@dana:localhost", password_of(out, "@dana:localhost"))
        await sync_once(dana)
        assert dana.rooms == {} and dana.invited_rooms == {}  # joined nothing by itself
        again, out_again, _ = await add_member_cli(state, "dana")
        assert again == 0 and "@dana:localhost is already a demo account" in out_again
        assert password_of(out_again, "@dana:localhost") == password_of(out, "@dana:localhost")
        refused, _, said = await add_member_cli(state, "confidant")
        assert refused == 1 and "bot's account" in said

        # a quote of the circle in the lobby, by a member who agreed, reaches the moderators
        mod_notices, alice_notices, dana_notices = watch(mod), watch(alice), watch(dana)
        recovery, alice_dm = await join_and_agree(alice, alice_notices)
        sent = await say(alice, recovery, CIRCLE_WORDS.capitalize() + ".")
        assert isinstance(sent, RoomSendResponse), sent
        await join_and_agree(dana, dana_notices)
        entered = await dana.join(lobby)
        assert isinstance(entered, JoinResponse), entered
        await wait_until(
            [dana], lambda: lobby in dana.rooms and alice_level(dana, lobby) >= 0, "in the lobby"
        )
        sent = await say(dana, lobby, f"guess what I heard: {CIRCLE_WORDS}!")
        assert isinstance(sent, RoomSendResponse), sent
        await wait_until(
            [mod],
            lambda: bool(mod_notices.containing("Possible leak from")),
            "the leak alert in the moderators' room",
            45,
        )
        [(where, alert)] = mod_notices.containing("Possible leak from")
        assert where == mods_room
        assert "@dana:localhost" in alert and "flag resolve 1" in alert
        assert "sister" not in alert and "snow" not in alert  # never the text

        # a check-in with crisis resources, and the peer supporter's !claim
        supporter_notices = watch(supporter)
        await answer(alice, recovery, alice_notices, "!checkin", "agree or decline")
        await answer(alice, alice_dm, alice_notices, "agree", "Question 1 of 3")
        await answer(alice, alice_dm, alice_notices, "1", "peer supporter to contact you")
        resources = "\n".join(body for _, body in alice_notices.containing("112"))
        assert "https://findahelpline.com" in resources, alice_notices.seen[-3:]
        await answer(alice, alice_dm, alice_notices, "yes", "Should they see your answers")
        await answer(alice, alice_dm, alice_notices, "no", "Question 2 of 3")
        await wait_until(
            [supporter],
            lambda: bool(supporter_notices.containing("Contact request 1")),
            "the contact request in the supporters' room",
            30,
        )
        [(where, request)] = supporter_notices.containing("Contact request 1")
        assert where == supporters_room and "@alice:localhost" in request
        await answer(supporter, supporters_room, supporter_notices, "!claim 1", "is yours")
        await wait_until(
            [alice],
            lambda: bool(alice_notices.containing("will contact you privately soon")),
            "the member told who will contact them",
            30,
        )
        await answer(alice, alice_dm, alice_notices, "stop", "Check-in stopped")

        # !help in each demo room lists what its asker can use there
        in_recovery = await help_in(alice, recovery, alice_notices)
        assert "!agree" in in_recovery and "!checkin" in in_recovery
        assert "!flags" not in in_recovery
        in_lobby = await help_in(dana, lobby, dana_notices)
        assert "!help" in in_lobby and "!flags" not in in_lobby
        in_mods = await help_in(mod, mods_room, mod_notices)
        assert "!flags" in in_mods and "!flag " in in_mods and "!audit" in in_mods
        in_supporters = await help_in(supporter, supporters_room, supporter_notices)
        assert "!claim" in in_supporters and "!flags" not in in_supporters
        # everything the bot sent was readable; what one member's client fails to decrypt of
        # another member's (e.g. alice's words in #recovery for dana) is not the bot's doing
        assert alice_notices.undecryptable == [] and supporter_notices.undecryptable == []
        others_spoke = {recovery, supporters_room}
        assert set(dana_notices.undecryptable) <= others_spoke, dana_notices.undecryptable
        assert set(mod_notices.undecryptable) <= others_spoke, mod_notices.undecryptable
        await interrupt(run, state)
        for secret in passwords.values():
            assert secret not in run.stderr()
    finally:
        for client in clients:
            await client.close()
