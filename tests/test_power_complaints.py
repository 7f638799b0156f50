"""Power-level complaints only where the room's role needs the power: a covered room whose
policy asks members to agree needs the power to restrict posting or remove posts; a covered
room without that rule, a watched room, an alert room and a supporters' room need neither.
The Matrix adapter reports the facts quietly; the core words the complaint."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import RoomGetStateEventResponse

from adapters.matrix.client import MatrixAdapter
from bot.actions import AlertModerators
from bot.app import build_registry
from bot.clock import FakeClock
from bot.config import MatrixConfig
from bot.core import Core
from bot.events import BotPermissions, Room
from bot.policy_holder import PolicyHolder
from bot.ports import Capabilities
from bot.store import open_store

AT = datetime(2026, 1, 5, 12, tzinfo=UTC)
BOT = "@confidant:example.org"
GATED = """\
name: circle
rooms:
  - platform: matrix
    id: "!gated:example.org"
watch:
  - platform: matrix
    id: "!lobby:example.org"
moderators:
  - platform: matrix
    user: "@mod:example.org"
alerts:
  - platform: matrix
    id: "!mods:example.org"
reminder:
  text: What is shared here stays here.
  require_agreement: true
"""
OPEN = """\
name: grief
rooms:
  - platform: matrix
    id: "!open:example.org"
moderators:
  - platform: matrix
    user: "@mod:example.org"
alerts:
  - platform: matrix
    id: "!mods:example.org"
reminder:
  text: What is shared here stays here.
checkins:
  intro: Check-ins are private; a supporter hears from you only if you say yes.
  questions:
    - id: mood
      prompt: How is your mood today?
      kind: scale
      min: 1
      max: 5
  supporters:
    - platform: matrix
      user: "@sam:example.org"
  supporters_room:
    platform: matrix
    id: "!supporters:example.org"
"""
# what the adapter reports for a room where the bot has power level 0
POWERLESS = (
    "power level 50 to remove messages (I have 0)",
    "power level 50 to change members' power levels (I have 0)",
)


def room(local: str) -> Room:
    return Room("matrix", f"!{local}:example.org", local)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "circle.yaml").write_text(GATED, encoding="utf-8")
    (policies / "grief.yaml").write_text(OPEN, encoding="utf-8")
    store = await open_store(tmp_path / "confidant.db", AT)
    caps = Capabilities(posting_permission=True, deletes=True, private_messages=True)
    try:
        yield Core(
            policies=PolicyHolder.load(policies),
            store=store,
            clock=FakeClock(AT),
            registry=build_registry(),
            capabilities={"matrix": caps},
        )
    finally:
        await store.close()


@pytest.mark.parametrize("local", ["open", "lobby", "mods", "supporters"])
async def test_rooms_that_need_no_power_get_no_complaint(
    core: Core, local: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    event = BotPermissions(room(local), False, False, AT, POWERLESS)
    actions = await core.handle(event)
    assert not [a for a in actions if isinstance(a, AlertModerators)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_room_that_asks_for_agreement_is_complained_about(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    actions = await core.handle(BotPermissions(room("gated"), False, False, AT, POWERLESS))
    [alert] = [a for a in actions if isinstance(a, AlertModerators)]
    assert alert.room_selector == "!mods:example.org"
    assert "the agreement rule is not enforced there" in alert.text
    assert all(missing in alert.text for missing in POWERLESS)
    assert [r.levelno for r in caplog.records if "agreement rule" in r.getMessage()] == [
        logging.WARNING
    ]
    # either power is enough for the gate: no complaint with one of them
    assert not [
        a
        for a in await core.handle(BotPermissions(room("gated"), True, False, AT, POWERLESS[1:]))
        if isinstance(a, AlertModerators)
    ]


class _Client:
    def __init__(self, content: dict[str, Any]) -> None:
        self.content = content

    async def room_get_state_event(self, room_id: str, kind: str) -> RoomGetStateEventResponse:
        return RoomGetStateEventResponse(self.content, kind, "", room_id)


class _NotPrivate:
    def is_private(self, room_id: str) -> bool:
        return False

    def owns(self, room_id: str) -> bool:
        return False


async def test_the_matrix_adapter_reports_the_facts_without_complaining(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The adapter cannot tell an alert room from a gated one, so it says nothing above
    DEBUG; what it lacks goes to the core in ``missing``."""
    config = MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id=BOT,
        password="not used",
        store_dir=tmp_path / "store",
    )
    adapter = MatrixAdapter(config, build_registry(), FakeClock(AT))
    adapter.client = _Client({"users": {"@mod:example.org": 100}})  # type: ignore[assignment]
    adapter.chats = adapter.spares = _NotPrivate()  # type: ignore[assignment]
    caplog.set_level(logging.DEBUG, logger="confidant.matrix")
    checked = await adapter._permissions(room("mods"))
    assert checked is not None
    assert (checked.can_delete, checked.can_restrict_posting) == (False, False)
    assert checked.missing == POWERLESS
    assert [r.levelno for r in caplog.records if "lack" in r.getMessage()] == [logging.DEBUG]
