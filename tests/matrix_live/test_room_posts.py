"""Matrix does what the policy says with the bot's room posts, on a real Synapse.

A fallback mention set to be removed after a delay is redacted then (on the core's clock),
an edited rules message is an m.replace edit of the standing one (encrypted in an encrypted
room, its relation readable by the server), and a rules message a moderator redacts is
posted again: the adapter reports the ids of what it posted, and redactions of it come back
as deletions.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    MatrixRoom,
    RedactionEvent,
    RoomMessageNotice,
    RoomRedactResponse,
)
from nio.api import Api

from adapters.matrix import outbound as matrix_outbound
from adapters.matrix.homeserver import LocalSynapse
from bot.clock import FakeClock
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import POLICY, REMINDER, create_world, poll_until, wait_until

NEW_TEXT = "What is said in the circle is kept in the circle."


@dataclass
class Seen:
    """The bot's notices a client saw, with ids and content, and the redactions."""

    notices: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    redacted: set[str] = field(default_factory=set)

    def posts(self, room_id: str, text: str) -> list[str]:
        """Ids of new posts (not edits) in the room whose body holds ``text``."""
        return [
            eid
            for rid, eid, content in self.notices
            if rid == room_id and text in content.get("body", "") and "m.relates_to" not in content
        ]

    def edits(self, room_id: str, of: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (eid, content)
            for rid, eid, content in self.notices
            if rid == room_id and (content.get("m.relates_to") or {}).get("event_id") == of
        ]


def record(client: AsyncClient) -> Seen:
    seen = Seen()

    async def on_notice(room: MatrixRoom, event: RoomMessageNotice) -> None:
        seen.notices.append((room.room_id, event.event_id, dict(event.source.get("content", {}))))

    async def on_redaction(room: MatrixRoom, event: RedactionEvent) -> None:
        seen.redacted.add(event.redacts)

    client.add_event_callback(on_notice, RoomMessageNotice)  # type: ignore[arg-type]
    client.add_event_callback(on_redaction, RedactionEvent)  # type: ignore[arg-type]
    return seen


async def test_a_fallback_mention_is_redacted_after_the_policys_delay(
    synapse: LocalSynapse,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    policy = POLICY.replace(
        "private_timeout_minutes: 10",
        "private_timeout_minutes: 1\n  fallback_delete_after_minutes: 1",
    )
    invites_due_early(monkeypatch)
    world = await create_world(synapse, tmp_path, matrix_client, policy=policy)
    seen = record(world.mod)
    clock = FakeClock(datetime.now(UTC))
    await world.start_bot(clock)
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        frank = await matrix_client("frank")  # never opens the private chat
        await sync_once(frank)
        assert isinstance(await frank.join(world.room_id), JoinResponse)
        await wait_until(
            [world.mod],
            lambda: bool(seen.posts(world.room_id, "could not reach")),
            "the in-room fallback mentioning frank",
            deadline_s=30,
        )
        [mention] = seen.posts(world.room_id, "could not reach")
        await clock.advance(30)  # half the delay: still there
        await sync_once(world.mod, timeout_ms=500)
        assert mention not in seen.redacted
        await clock.advance(31)
        await wait_until([world.mod], lambda: mention in seen.redacted, "the mention redacted")
    finally:
        await world.stop_bot()


RULES_POLICY = POLICY.replace("delivery: private", "delivery: rules_message")


async def test_rules_message_is_edited_in_place_and_posted_again_after_a_redaction(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    world = await create_world(
        synapse, tmp_path, matrix_client, encrypted=True, policy=RULES_POLICY
    )
    seen = record(world.mod)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        await wait_until(
            [world.mod], lambda: bool(seen.posts(world.room_id, REMINDER)), "the rules message"
        )
        [original] = seen.posts(world.room_id, REMINDER)
        app = world.app
        assert app is not None

        async def stored_id() -> str | None:
            row = await app.store.rules_message("matrix", world.room_id, "circle")
            return row.message_id if row is not None and row.posted else None

        await poll_until(lambda: _is(stored_id, original), "the rules message's id reported")

        # the policy's text changes: the standing message is edited, not posted anew
        path = world.tmp / "policies" / "circle.yaml"
        path.write_text(path.read_text().replace(REMINDER, NEW_TEXT))
        await app.runtime.poll_policies()
        await wait_until(
            [world.mod], lambda: bool(seen.edits(world.room_id, original)), "the m.replace edit"
        )
        [(edit_id, content)] = seen.edits(world.room_id, original)
        assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": original}
        assert NEW_TEXT in content["m.new_content"]["body"]
        assert content["body"].startswith("* ")
        assert seen.posts(world.room_id, NEW_TEXT) == []
        # encrypted like every message in this room; its relation readable by the server
        raw = await raw_event(world.mod, world.room_id, edit_id)
        assert raw["type"] == "m.room.encrypted" and NEW_TEXT not in str(raw)
        assert raw["content"]["m.relates_to"] == content["m.relates_to"]
        assert await stored_id() == original  # an edit keeps the message

        # a moderator removes it: it is posted again, with the current text
        redacted = await world.mod.room_redact(world.room_id, original, reason="tidying")
        assert isinstance(redacted, RoomRedactResponse), redacted
        await wait_until(
            [world.mod],
            lambda: bool(seen.posts(world.room_id, NEW_TEXT)),
            "the rules message posted again",
        )
        [again] = seen.posts(world.room_id, NEW_TEXT)
        assert again != original
        await poll_until(lambda: _is(stored_id, again), "the new post's id reported")
    finally:
        await world.stop_bot()


async def raw_event(client: AsyncClient, room_id: str, event_id: str) -> dict[str, Any]:
    """The event as the homeserver holds it (nio's room_get_event decrypts)."""
    path = Api._build_path(["rooms", room_id, "event", event_id])
    response = await client.send(
        "GET", path, headers={"Authorization": f"Bearer {client.access_token}"}
    )
    assert response.status == 200, response.status
    body: dict[str, Any] = await response.json()
    return body


async def _is(get: Any, expected: str) -> bool:
    return bool(await get() == expected)


async def test_a_rules_message_redacted_while_the_bot_was_away_is_posted_again(
    synapse: LocalSynapse,
    tmp_path: Path,
    matrix_client,  # type: ignore[no-untyped-def]
) -> None:
    """A redaction the bot's syncs never showed it (a restored session file, a gap longer
    than a sync's timeline): asked at start whether its rules message is still there, the
    adapter finds out, and the core posts it again."""
    world = await create_world(synapse, tmp_path, matrix_client, policy=RULES_POLICY)
    seen = record(world.mod)
    await world.start_bot()
    try:
        await wait_until([world.mod], world.bot_joined, "the bot joined")
        await wait_until(
            [world.mod], lambda: bool(seen.posts(world.room_id, REMINDER)), "the rules message"
        )
        [original] = seen.posts(world.room_id, REMINDER)
        assert world.app is not None
        store = world.app.store

        async def posted_as(expected: str) -> bool:
            row = await store.rules_message("matrix", world.room_id, "circle")
            return row is not None and row.posted and row.message_id == expected

        await poll_until(lambda: posted_as(original), "the rules message's id reported")
        await world.stop_bot()
        redacted = await world.mod.room_redact(world.room_id, original, reason="tidying")
        assert isinstance(redacted, RoomRedactResponse), redacted
        await wait_until([world.mod], lambda: original in seen.redacted, "the redaction")
        # The bot goes on from after the redaction, as if it had missed it (sync tokens are
        # positions in the homeserver's streams: the moderator's is as good as the bot's).
        session = world.tmp / "matrix-store" / "session.json"
        state = json.loads(session.read_text())
        session.write_text(json.dumps({**state, "next_batch": world.mod.next_batch}))
        await world.start_bot()
        await wait_until(
            [world.mod],
            lambda: len(seen.posts(world.room_id, REMINDER)) == 2,
            "the rules message posted again",
        )
        again = seen.posts(world.room_id, REMINDER)[1]
        assert again != original
        assert world.app is not None
        store = world.app.store
        await poll_until(lambda: posted_as(again), "the new post's id reported")
    finally:
        await world.stop_bot()


def invites_due_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """A private-chat invitation's deadline is the Matrix adapter's wall-clock time plus the
    policy's wait; set that clock 57 s back, and the shortest wait a policy may give (one
    minute) runs out about 3 s after the invitation."""
    behind = SimpleNamespace(time=lambda: time.time() - 57, time_ns=time.time_ns)
    monkeypatch.setattr(matrix_outbound, "time", behind)
