"""Threads follow the policy of their channel, whether the policy selects it by id or name."""

from __future__ import annotations

from bot.events import Room
from tests.conftest import ConsoleRig


def test_a_thread_inherits_a_channel_selected_by_name(rig: ConsoleRig) -> None:
    core = rig.app.core
    thread = Room("console", "t-1", "tuesday", parent_id="c-9", parent_name="recovery")
    policy = core.policy_for(thread)
    assert policy is not None and policy.name == "circle"
    stranger = Room("console", "t-2", "other", parent_id="c-8", parent_name="random")
    assert core.policy_for(stranger) is None
    assert core.policy_for(Room("console", "t-3", "orphan", parent_id="c-9")) is None
