"""The Matrix read gate's two waits, on a real local Synapse: knock → reminder, agree → access.

Why: a member who asks to read a confidential circle waits twice, for the reminder and, once
they agreed, for the door to open; both are what they feel of the gate.

Setup (all on 127.0.0.1, in a temp directory removed at the end): a LocalSynapse (relaxed
rate limits, bcrypt_rounds=4), a moderator who creates the circle (room version 10, join rule
``knock``, history visibility ``joined``, the bot at power level 50) and a moderators' room, a
``gate: read`` policy, and the whole ``App`` with the ``MatrixAdapter`` (encryption on)
running in this process, as tests/matrix_live/rig.py does. Members are nio clients with
end-to-end encryption and uploaded device keys, registered before anything is measured.

Definitions (this process's monotonic clock; the member's client is where the time ends):
- reminder: from just before the member's knock request to the sync in which their client
  has decrypted the reminder in the bot's private chat (the member accepts that chat's
  invite as soon as their client sees it, as the test rig does).
- agree → access: from just before the member's ``!agree`` is sent in that chat to the sync
  in which their client sees the invite to the circle.
Members go one after another (each waits for both before the next knocks), so the figures
are per-member latencies, not throughput. Syncs are long polls of at most 250 ms that return
as soon as there is news.

    python benchmarks/read_gate_matrix.py              # 50 members
    python benchmarks/read_gate_matrix.py --members 80

Every wait is bounded. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from nio import AsyncClient, RoomKnockResponse, RoomPutStateResponse, RoomSendResponse

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.conftest import (
    TEST_BCRYPT_ROUNDS,
    client_config,
    log_in,
    new_password,
    sync_once,
    unique_localpart,
)
from tests.matrix_live.rig import POLICY, create_world, wait_until, watch

GATED = POLICY.replace("  require_agreement: true\n", "  gate: read\n")
ASKED = "Before you can read"
MIN_MEMBERS = 50
WAIT_S = 60.0


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 50 values is the largest: no interpolation flatters it)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


async def _member(synapse: LocalSynapse, store: Path) -> AsyncClient:
    localpart = unique_localpart("member")
    password = new_password()
    user_id = await synapse.register(localpart, password)
    (store / localpart).mkdir(parents=True)
    client = AsyncClient(
        synapse.base_url, user_id, store_path=str(store / localpart), config=client_config()
    )
    await log_in(client, password, f"bench-{localpart}")
    return client


async def _one(member: AsyncClient, room_id: str) -> tuple[float, float]:
    """(knock → reminder decrypted, !agree → invite seen) in milliseconds."""
    notices = watch(member)
    await sync_once(member)
    started = time.perf_counter()
    knocked = await member.room_knock(room_id)
    if not isinstance(knocked, RoomKnockResponse):
        raise RuntimeError(f"knock refused: {knocked}")
    await wait_until([member], lambda: bool(notices.containing(ASKED)), "reminder", WAIT_S)
    reminder_ms = (time.perf_counter() - started) * 1000
    chat = notices.containing(ASKED)[0][0]
    started = time.perf_counter()
    sent = await member.room_send(
        chat,
        "m.room.message",
        {"msgtype": "m.text", "body": "!agree"},
        ignore_unverified_devices=True,
    )
    if not isinstance(sent, RoomSendResponse):
        raise RuntimeError(f"sending !agree failed: {sent}")
    await wait_until([member], lambda: room_id in member.invited_rooms, "invite", WAIT_S)
    return reminder_ms, (time.perf_counter() - started) * 1000


async def measure(members: int = MIN_MEMBERS) -> dict[str, float]:
    """Start a homeserver and the bot, let ``members`` members knock and agree one after
    another, and return p50/p99 of both waits (ms) with the member count."""
    with tempfile.TemporaryDirectory(prefix="confidant-read-gate-") as tmp:
        root = Path(tmp)
        synapse = LocalSynapse(
            root / "hs", relaxed_rate_limits=True, bcrypt_rounds=TEST_BCRYPT_ROUNDS
        )
        await synapse.start()
        clients: list[AsyncClient] = []
        world = None
        try:

            async def make(prefix: str = "user") -> AsyncClient:
                client = await _member(synapse, root / "clients")
                clients.append(client)
                return client

            world = await create_world(synapse, root / "bot", make, policy=GATED)
            for kind, content in (
                ("m.room.join_rules", {"join_rule": "knock"}),
                ("m.room.history_visibility", {"history_visibility": "joined"}),
            ):
                put = await world.mod.room_put_state(world.room_id, kind, content)
                if not isinstance(put, RoomPutStateResponse):
                    raise RuntimeError(f"setting {kind} failed: {put}")
            await world.start_bot()
            await wait_until([world.mod], world.bot_joined, "the bot joined", WAIT_S)
            people = [await make() for _ in range(members)]
            reminder: list[float] = []
            agree: list[float] = []
            for person in people:
                to_reminder, to_access = await _one(person, world.room_id)
                reminder.append(to_reminder)
                agree.append(to_access)
                clients.remove(person)
                await person.close()  # one client syncing at a time: the bot is measured
        finally:
            if world is not None:
                await world.stop_bot()
            for client in clients:
                await client.close()
            await synapse.stop()
    return {
        "read_gate_matrix_members": float(members),
        "read_gate_matrix_reminder_p50_ms": round(statistics.median(reminder), 1),
        "read_gate_matrix_reminder_p99_ms": round(percentile(reminder, 0.99), 1),
        "read_gate_matrix_agree_to_access_p50_ms": round(statistics.median(agree), 1),
        "read_gate_matrix_agree_to_access_p99_ms": round(percentile(agree, 0.99), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--members", type=int, default=MIN_MEMBERS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(measure(args.members))
    print(f"{'figure':<45} {'value':>10}")
    for name, value in result.items():
        print(f"{name:<45} {value:>10}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
