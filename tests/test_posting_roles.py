"""The core's side of ``agreed_role``: every SetPostingAllowed for a room carries the role its
policy names (and only that room's), and the adapter is asked to check the role when it
reports the room and after a reload names a new one. Platform-free: a real store and real
policy files, no adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.actions import CheckGrant, SetPostingAllowed
from bot.app import build_registry
from bot.clock import FakeClock
from bot.core import Core
from bot.events import BotPermissions, CommandInvoked, Member, MemberJoined, Room
from bot.moderation import describe_policy
from bot.policy_holder import PolicyHolder
from bot.ports import Capabilities
from bot.store import open_store

AT = datetime(2026, 1, 5, 12, tzinfo=UTC)
ROLE = "555000000000000001"
OTHER_ROLE = "555000000000000002"
POLICY = f"""\
name: circle
rooms:
  - platform: discord
    id: "100"
    agreed_role: "{ROLE}"
  - platform: discord
    name: plain
  - platform: matrix
    id: "!circle:example.org"
moderators:
  - platform: discord
    user: "900"
reminder:
  text: What is shared here stays here.
  require_agreement: true
"""
GATED = Room("discord", "100", "circle")
PLAIN = Room("discord", "200", "plain")
MATRIX = Room("matrix", "!circle:example.org", "circle")
CAROL = Member("discord", "300", "Carol")
CAPS = Capabilities(posting_permission=True, deletes=True, ephemeral_replies=True)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "circle.yaml").write_text(POLICY, encoding="utf-8")
    store = await open_store(tmp_path / "confidant.db", AT)
    try:
        yield Core(
            policies=PolicyHolder.load(policies),
            store=store,
            clock=FakeClock(AT),
            registry=build_registry(),
            capabilities={"discord": CAPS, "matrix": CAPS},
        )
    finally:
        await store.close()


def postings(actions: list[object]) -> list[SetPostingAllowed]:
    return [a for a in actions if isinstance(a, SetPostingAllowed)]


def permissions(room: Room) -> BotPermissions:
    return BotPermissions(room, can_delete=True, can_restrict_posting=True, at=AT)


async def test_join_and_agree_carry_the_rooms_role(core: Core) -> None:
    [held] = postings(await core.handle(MemberJoined(GATED, CAROL, AT)))
    assert (held.allowed, held.grant) == (False, ROLE)
    [plain_hold] = postings(await core.handle(MemberJoined(PLAIN, CAROL, AT)))
    assert (plain_hold.allowed, plain_hold.grant) == (False, None)  # overwrite as before
    agreed = await core.handle(CommandInvoked(GATED, CAROL, "agree", AT, reply_handle="1"))
    lifted = {(p.room.id, p.allowed, p.grant) for p in postings(agreed)}
    assert lifted == {("100", True, ROLE), ("200", True, None)}


async def test_a_thread_uses_its_channels_role(core: Core) -> None:
    thread = Room("discord", "150", "tuesday", parent_id="100")
    [held] = postings(await core.handle(MemberJoined(thread, CAROL, AT)))
    assert held.grant == ROLE


async def test_other_platforms_get_no_role(core: Core) -> None:
    carol = Member("matrix", "@carol:example.org")
    [held] = postings(await core.handle(MemberJoined(MATRIX, carol, AT)))
    assert held.grant is None
    assert [a for a in await core.handle(permissions(MATRIX)) if isinstance(a, CheckGrant)] == []


async def test_a_reported_room_gets_its_role_checked(core: Core) -> None:
    assert await core.handle(permissions(GATED)) == [CheckGrant(GATED, ROLE)]
    assert await core.handle(permissions(PLAIN)) == []


async def test_reload_checks_only_roles_named_afresh(core: Core, tmp_path: Path) -> None:
    await core.handle(MemberJoined(PLAIN, CAROL, AT))  # #plain becomes known by id
    policy_file = tmp_path / "policies" / "circle.yaml"
    named = f'    name: plain\n    agreed_role: "{OTHER_ROLE}"\n'
    text = POLICY.replace("    name: plain\n", named)
    policy_file.write_text(text, encoding="utf-8")
    result, actions = await core.reload_policies()
    assert result.ok and result.changed
    checks = [a for a in actions if isinstance(a, CheckGrant)]
    assert checks == [CheckGrant(PLAIN, OTHER_ROLE)]  # #circle's role is unchanged


async def test_reload_checks_a_new_role_of_a_room_selected_by_id(
    core: Core, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policies" / "circle.yaml"
    policy_file.write_text(POLICY.replace(ROLE, OTHER_ROLE), encoding="utf-8")
    _, actions = await core.reload_policies()
    assert [a for a in actions if isinstance(a, CheckGrant)] == [
        CheckGrant(Room("discord", "100"), OTHER_ROLE)
    ]


async def test_policy_show_names_the_role(core: Core) -> None:
    policy = core.policies.current.by_name("circle")
    assert policy is not None
    assert f"discord:100 (posting role {ROLE})" in describe_policy(policy)
    assert "discord:plain," in describe_policy(policy)
