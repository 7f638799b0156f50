"""Fixtures and bounded helpers for tests that talk to a real Synapse on loopback.

Why one homeserver per session: starting Synapse costs seconds, while a fresh uniquely named
user per test gives the same isolation for free. Helpers live here (not in each test) so every
Matrix test waits the same bounded way and exchanges E2E keys exactly as sync_forever would;
forgetting one of those steps makes decryption fail silently, which is the costliest bug to debug.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomMessageText,
    SyncResponse,
)

from adapters.matrix.e2e import keep_keys
from adapters.matrix.homeserver import LocalSynapse

# Low bcrypt cost only in tests: the default makes each register/login cost ~0.25 s.
TEST_BCRYPT_ROUNDS = 4
SYNC_POLL_MS = 250
DEFAULT_DEADLINE_S = 15.0
DEFAULT_MAX_ROUNDS = 200

_user_counter = itertools.count()

MatrixClientFactory = Callable[..., Awaitable[AsyncClient]]


def new_password() -> str:
    return secrets.token_urlsafe(18)


def unique_localpart(prefix: str = "user") -> str:
    """Unique across the session and across reruns on a reused homeserver."""
    return f"{prefix}-{next(_user_counter)}-{secrets.token_hex(4)}"


def client_config() -> AsyncClientConfig:
    """Encryption on, and every retry bounded: nio retries 429s and timeouts forever by
    default, which would turn a throttled test into a hang instead of a failure."""
    return AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=True,
        request_timeout=20,
        max_limit_exceeded=0,
        max_timeouts=2,
    )


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSynapse]:
    """Sync on purpose: a session-scoped async fixture would need a session-scoped loop."""
    homeserver = LocalSynapse(
        tmp_path_factory.mktemp("synapse"),
        relaxed_rate_limits=True,
        bcrypt_rounds=TEST_BCRYPT_ROUNDS,
    )
    try:
        homeserver.start_sync()
        yield homeserver
    finally:
        homeserver.stop_sync()


@pytest.fixture
async def matrix_client_factory(
    tmp_path: Path,
) -> AsyncIterator[Callable[[LocalSynapse], MatrixClientFactory]]:
    """``matrix_client_factory(homeserver)`` gives a client maker for any homeserver (tests
    that run their own Synapse); every client made is closed at test end."""
    clients: list[AsyncClient] = []

    def for_homeserver(homeserver: LocalSynapse) -> MatrixClientFactory:
        async def make(prefix: str = "user") -> AsyncClient:
            localpart = unique_localpart(prefix)
            password = new_password()
            user_id = await homeserver.register(localpart, password)
            store = tmp_path / "nio-store" / localpart
            store.mkdir(parents=True)
            client = AsyncClient(
                homeserver.base_url, user_id, store_path=str(store), config=client_config()
            )
            clients.append(client)
            await log_in(client, password, f"confidant-test-{localpart}")
            return client

        return make

    try:
        yield for_homeserver
    finally:
        for client in clients:
            await client.close()


@pytest.fixture
async def matrix_client(
    synapse: LocalSynapse,
    matrix_client_factory: Callable[[LocalSynapse], MatrixClientFactory],
) -> MatrixClientFactory:
    """Factory: ``await matrix_client("alice")`` registers a fresh user on the session's
    homeserver and returns a logged-in, encryption-enabled client."""
    return matrix_client_factory(synapse)


async def log_in(client: AsyncClient, password: str, device_name: str) -> None:
    """Log in and publish the device's keys at once, as real clients do: a member whose
    keys are not up yet when the bot encrypts for them could never read that message."""
    response = await client.login(password, device_name=device_name)
    if not isinstance(response, LoginResponse):
        raise AssertionError(f"login of {client.user_id} failed: {response}")
    if client.should_upload_keys:
        await client.keys_upload()


async def sync_once(client: AsyncClient, *, timeout_ms: int = 0) -> SyncResponse:
    """One sync plus the key chores sync_forever performs after it. Without keys_upload the
    other side cannot decrypt, and without send_to_device_messages room keys never leave."""
    response = await asyncio.wait_for(
        client.sync(timeout=timeout_ms), timeout=timeout_ms / 1000 + 20
    )
    if not isinstance(response, SyncResponse):
        raise AssertionError(f"sync of {client.user_id} failed: {response}")
    await keep_keys(client)
    return response


async def sync_until(
    clients: Sequence[AsyncClient],
    predicate: Callable[[], bool],
    *,
    what: str = "condition",
    deadline_s: float = DEFAULT_DEADLINE_S,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    poll_ms: int = SYNC_POLL_MS,
) -> None:
    """Sync all ``clients`` concurrently until ``predicate()`` holds; bounded in rounds and
    time. Long-poll syncs return as soon as there is news, so this is fast when it succeeds."""
    deadline = time.monotonic() + deadline_s
    for _ in range(max_rounds):
        if predicate():
            return
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        if remaining_ms <= 0:
            break
        wait_ms = min(poll_ms, remaining_ms)
        await asyncio.gather(*(sync_once(c, timeout_ms=wait_ms) for c in clients))
    if predicate():
        return
    raise AssertionError(f"{what} not reached within {deadline_s} s / {max_rounds} sync rounds")


@dataclass
class Inbox:
    """Room messages a client saw, split into readable text and undecryptable Megolm
    ciphertext, so a test can tell "not delivered" from "delivered but unreadable"."""

    texts: list[tuple[str, RoomMessageText]] = field(default_factory=list)
    undecryptable: list[tuple[str, MegolmEvent]] = field(default_factory=list)

    def bodies(self, room_id: str) -> list[str]:
        return [event.body for rid, event in self.texts if rid == room_id]

    def has_text(self, room_id: str, body: str) -> bool:
        return body in self.bodies(room_id)

    def find(self, room_id: str, body: str) -> RoomMessageText | None:
        return next((e for rid, e in self.texts if rid == room_id and e.body == body), None)


def attach_inbox(client: AsyncClient) -> Inbox:
    inbox = Inbox()

    async def on_text(room: MatrixRoom, event: RoomMessageText) -> None:
        inbox.texts.append((room.room_id, event))

    async def on_megolm(room: MatrixRoom, event: MegolmEvent) -> None:
        inbox.undecryptable.append((room.room_id, event))

    client.add_event_callback(on_text, RoomMessageText)  # type: ignore[arg-type]
    client.add_event_callback(on_megolm, MegolmEvent)  # type: ignore[arg-type]
    return inbox
