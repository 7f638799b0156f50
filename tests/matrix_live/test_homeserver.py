"""The local Synapse launcher against a real Synapse: lifecycle, hardening, registration, and
plain and end-to-end-encrypted message round trips between two members."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedRoomsResponse,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
)

from adapters.matrix.direct import ENCRYPTION_STATE
from adapters.matrix.homeserver import (
    PID_FILE,
    SECRET_FILE,
    HomeserverError,
    HomeserverStartError,
    LocalSynapse,
    pid_alive,
)

from .conftest import (
    TEST_BCRYPT_ROUNDS,
    MatrixClientFactory,
    attach_inbox,
    new_password,
    sync_once,
    sync_until,
    unique_localpart,
)


def _text(body: str) -> dict[str, str]:
    return {"msgtype": "m.text", "body": body}


def _get_json(url: str) -> tuple[int, dict[str, Any]]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, json.loads(resp.read())


def test_health_is_up_on_loopback(synapse: LocalSynapse) -> None:
    assert synapse.is_running
    assert synapse.base_url == f"http://127.0.0.1:{synapse.port}"
    with urllib.request.urlopen(f"{synapse.base_url}/health", timeout=5) as resp:
        assert resp.status == 200
        assert resp.read() == b"OK"
    status, versions = _get_json(f"{synapse.base_url}/_matrix/client/versions")
    assert status == 200
    assert "versions" in versions


def test_config_is_locked_down(synapse: LocalSynapse) -> None:
    config = yaml.safe_load(synapse.config_path.read_text())
    (listener,) = config["listeners"]
    assert listener["bind_addresses"] == ["127.0.0.1"]
    assert listener["port"] == synapse.port
    assert listener["tls"] is False
    assert [r["names"] for r in listener["resources"]] == [["client"]]
    assert config["trusted_key_servers"] == []
    assert config["enable_registration"] is False
    assert config["suppress_key_server_warning"] is True
    assert "registration_shared_secret" not in config
    assert config["database"]["name"] == "sqlite3"
    assert Path(config["database"]["args"]["database"]).parent == synapse.data_dir
    assert config["rc_joins"]["local"]["burst_count"] >= 1000
    assert config["rc_login"]["failed_attempts"]["per_second"] >= 100
    for private in (synapse.data_dir / SECRET_FILE, synapse.config_path):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
    # Federation is off: the server-to-server API is not served at all.
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{synapse.base_url}/_matrix/federation/v1/version", timeout=5)
    assert err.value.code in (400, 404)
    # Nothing answers on the IPv6 loopback the generated config would have used.
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        assert sock.connect_ex(("::1", synapse.port)) != 0


async def test_register_is_idempotent(synapse: LocalSynapse) -> None:
    localpart = unique_localpart("idem")
    password = new_password()
    first = await synapse.register(localpart, password)
    again = await synapse.register(localpart, password)
    assert first == again == f"@{localpart}:{synapse.server_name}"
    client = AsyncClient(synapse.base_url, first)
    try:
        response = await client.login(password)
        assert isinstance(response, LoginResponse), response
        assert response.user_id == first
        wrong = await client.login(password + "x")
        assert not isinstance(wrong, LoginResponse)
    finally:
        await client.close()


async def test_register_admin_flag(synapse: LocalSynapse) -> None:
    password = new_password()
    admin_id = await synapse.register(unique_localpart("admin"), password, admin=True)
    plain_id = await synapse.register(unique_localpart("plain"), password)
    async with aiohttp.ClientSession() as http:
        for user_id, expected in ((admin_id, True), (plain_id, False)):
            login = await http.post(
                f"{synapse.base_url}/_matrix/client/v3/login",
                json={
                    "type": "m.login.password",
                    "identifier": {"type": "m.id.user", "user": user_id},
                    "password": password,
                },
            )
            token = (await login.json())["access_token"]
            reply = await http.get(
                f"{synapse.base_url}/_synapse/admin/v1/users/{admin_id}/admin",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert (reply.status == 200) is expected
            if expected:
                assert (await reply.json())["admin"] is True


async def test_plain_room_round_trip(matrix_client: MatrixClientFactory) -> None:
    alice = await matrix_client("alice")
    bob = await matrix_client("bob")
    alice_inbox, bob_inbox = attach_inbox(alice), attach_inbox(bob)
    await sync_once(alice)
    await sync_once(bob)

    created = await alice.room_create(name="circle", invite=[bob.user_id])
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await sync_until([bob], lambda: room_id in bob.invited_rooms, what="bob sees the invite")
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    await sync_until(
        [alice, bob],
        lambda: room_id in alice.rooms and bob.user_id in alice.rooms[room_id].users,
        what="alice sees bob joined",
    )

    sent = await alice.room_send(room_id, "m.room.message", _text("hello bob"))
    assert isinstance(sent, RoomSendResponse), sent
    await sync_until(
        [bob], lambda: bob_inbox.has_text(room_id, "hello bob"), what="bob gets the message"
    )
    received = bob_inbox.find(room_id, "hello bob")
    assert received is not None
    assert received.sender == alice.user_id
    assert received.event_id == sent.event_id
    assert not bob.rooms[room_id].encrypted

    reply = await bob.room_send(room_id, "m.room.message", _text("hi alice"))
    assert isinstance(reply, RoomSendResponse), reply
    await sync_until(
        [alice], lambda: alice_inbox.has_text(room_id, "hi alice"), what="alice gets the reply"
    )


async def test_encrypted_direct_room_round_trip(
    synapse: LocalSynapse, matrix_client: MatrixClientFactory
) -> None:
    alice = await matrix_client("alice")
    bob = await matrix_client("bob")
    alice_inbox, bob_inbox = attach_inbox(alice), attach_inbox(bob)
    # The first sync uploads each device's identity and one-time keys.
    await sync_once(alice)
    await sync_once(bob)

    created = await alice.room_create(
        is_direct=True,
        preset=RoomPreset.trusted_private_chat,
        invite=[bob.user_id],
        initial_state=[ENCRYPTION_STATE],
    )
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    await sync_until(
        [alice, bob],
        lambda: room_id in alice.rooms and room_id in bob.invited_rooms,
        what="room known to alice and invite seen by bob",
    )
    assert alice.rooms[room_id].encrypted

    secret = f"confidential {new_password()}"
    # Sent while bob is only invited: must still be readable once he joins.
    sent = await alice.room_send(
        room_id, "m.room.message", _text(secret), ignore_unverified_devices=True
    )
    assert isinstance(sent, RoomSendResponse), sent
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    await sync_until([alice, bob], lambda: bob_inbox.has_text(room_id, secret), what="bob decrypts")
    received = bob_inbox.find(room_id, secret)
    assert received is not None
    assert received.decrypted
    assert received.sender == alice.user_id
    assert bob_inbox.undecryptable == []

    answer = f"answer {new_password()}"
    reply = await bob.room_send(
        room_id, "m.room.message", _text(answer), ignore_unverified_devices=True
    )
    assert isinstance(reply, RoomSendResponse), reply
    await sync_until(
        [alice, bob], lambda: alice_inbox.has_text(room_id, answer), what="alice decrypts"
    )
    alice_received = alice_inbox.find(room_id, answer)
    assert alice_received is not None and alice_received.decrypted

    # What the server stores and serves is ciphertext only.
    async with aiohttp.ClientSession() as http:
        reply_http = await http.get(
            f"{synapse.base_url}/_matrix/client/v3/rooms/{room_id}/messages",
            params={"dir": "b", "limit": "50"},
            headers={"Authorization": f"Bearer {bob.access_token}"},
        )
        assert reply_http.status == 200
        raw = await reply_http.text()
    events = json.loads(raw)["chunk"]
    assert {e["event_id"] for e in events} >= {sent.event_id, reply.event_id}
    assert all(
        e["type"] == "m.room.encrypted"
        for e in events
        if e["event_id"] in (sent.event_id, reply.event_id)
    )
    assert secret not in raw and answer not in raw


async def test_restart_keeps_users_rooms_and_port(tmp_path: Path) -> None:
    data_dir = tmp_path / "restart"
    localpart, password = "restart-user", new_password()
    first = LocalSynapse(data_dir, bcrypt_rounds=TEST_BCRYPT_ROUNDS)
    async with first:
        assert first.timings["generate_config_s"] > 0
        user_id = await first.register(localpart, password)
        client = AsyncClient(first.base_url, user_id)
        try:
            assert isinstance(await client.login(password), LoginResponse)
            created = await client.room_create(name="kept")
            assert isinstance(created, RoomCreateResponse), created
        finally:
            await client.close()
    assert not first.is_running
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{first.base_url}/health", timeout=1)

    second = LocalSynapse(data_dir, bcrypt_rounds=TEST_BCRYPT_ROUNDS)
    assert second.port == first.port
    async with second:
        assert "generate_config_s" not in second.timings
        client = AsyncClient(second.base_url, user_id, config=AsyncClientConfig())
        try:
            assert isinstance(await client.login(password), LoginResponse)
            rooms = await client.joined_rooms()
            assert isinstance(rooms, JoinedRoomsResponse), rooms
            assert created.room_id in rooms.rooms
        finally:
            await client.close()
        assert await second.register(localpart, password) == user_id
    assert not second.is_running


_CHILD_LAUNCHER = """
import sys, time
from pathlib import Path
from adapters.matrix.homeserver import LocalSynapse
hs = LocalSynapse(Path(sys.argv[1]), bcrypt_rounds=4)
hs.start_sync()
print(hs.port, flush=True)
time.sleep(120)
"""


async def test_orphan_of_killed_launcher_is_reaped(tmp_path: Path) -> None:
    """A launcher killed with SIGKILL cannot stop its Synapse; the next start must not run a
    second Synapse on the same sqlite database, and must refuse while the owner still lives."""
    data_dir = tmp_path / "orphan"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD_LAUNCHER, str(data_dir), stdout=asyncio.subprocess.PIPE
    )
    orphan_pid: int | None = None
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=90)
        port = int(line)
        orphan_pid = int((data_dir / PID_FILE).read_text().split()[0])

        with pytest.raises(HomeserverError, match="in use"):
            LocalSynapse(data_dir).start_sync()

        child.kill()
        await asyncio.wait_for(child.wait(), timeout=10)
        assert pid_alive(orphan_pid)  # the orphan outlived its launcher

        async with LocalSynapse(data_dir, bcrypt_rounds=TEST_BCRYPT_ROUNDS) as successor:
            assert not pid_alive(orphan_pid)
            assert successor.port == port
            status, _ = _get_json(f"{successor.base_url}/_matrix/client/versions")
            assert status == 200
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        if orphan_pid is not None and pid_alive(orphan_pid):
            os.killpg(orphan_pid, signal.SIGKILL)


async def test_start_failure_reports_log_tail(tmp_path: Path) -> None:
    data_dir = tmp_path / "broken"
    data_dir.mkdir()
    # A directory where the sqlite file should be: Synapse dies while opening its database.
    (data_dir / "homeserver.db").mkdir()
    homeserver = LocalSynapse(data_dir, bcrypt_rounds=TEST_BCRYPT_ROUNDS)
    with pytest.raises(HomeserverStartError) as err:
        await homeserver.start(timeout_s=30)
    message = str(err.value)
    assert "exited with code" in message
    assert "tail" in message and "database" in message.lower()
    assert not homeserver.is_running


def test_explicit_busy_port_is_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        homeserver = LocalSynapse(tmp_path / "busy", port=busy)
        assert homeserver.base_url == f"http://127.0.0.1:{busy}"
        with pytest.raises(HomeserverStartError, match="already in use"):
            homeserver.start_sync()
        assert not homeserver.is_running


def test_register_needs_a_started_server(tmp_path: Path) -> None:
    homeserver = LocalSynapse(tmp_path / "never-started")
    with pytest.raises(HomeserverError):
        homeserver.register_sync("nobody", "irrelevant")


BURST = 12  # just past the default bursts (5 logins, 10 joins, messages, room creations)


async def _login_token(http: aiohttp.ClientSession, base_url: str, user_id: str, pw: str) -> str:
    reply = await http.post(
        f"{base_url}/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": pw,
        },
    )
    assert reply.status == 200, f"login of {user_id}: HTTP {reply.status}"
    return str((await reply.json())["access_token"])


async def _burst(homeserver: LocalSynapse) -> None:
    """Logins, joins, room creations and messages well past Synapse's default bursts, so a
    throttled server answers 429 and this fails instead of a later test timing out."""
    base = homeserver.base_url
    password = new_password()
    user_ids = [
        await homeserver.register(unique_localpart("burst"), password) for _ in range(BURST)
    ]
    async with aiohttp.ClientSession() as http:
        tokens = await asyncio.gather(
            *(_login_token(http, base, uid, password) for uid in user_ids)
        )
        headers = [{"Authorization": f"Bearer {t}"} for t in tokens]
        owner = headers[0]
        rooms = []
        for _ in range(BURST):
            reply = await http.post(
                f"{base}/_matrix/client/v3/createRoom",
                json={"preset": "public_chat"},
                headers=owner,
            )
            assert reply.status == 200, f"createRoom: HTTP {reply.status}"
            rooms.append((await reply.json())["room_id"])
        room_id = rooms[0]

        async def join(h: dict[str, str]) -> int:
            reply = await http.post(f"{base}/_matrix/client/v3/join/{room_id}", headers=h)
            return reply.status

        assert await asyncio.gather(*(join(h) for h in headers[1:])) == [200] * (BURST - 1)
        for n in range(BURST):
            reply = await http.put(
                f"{base}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/txn{n}",
                json=_text(f"burst {n}"),
                headers=owner,
            )
            assert reply.status == 200, f"send {n}: HTTP {reply.status}"
        members = await http.get(
            f"{base}/_matrix/client/v3/rooms/{room_id}/joined_members", headers=owner
        )
        assert set((await members.json())["joined"]) == set(user_ids)


async def test_relaxed_limits_allow_bursts(synapse: LocalSynapse) -> None:
    await _burst(synapse)
