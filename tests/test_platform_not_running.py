"""A policy naming rooms on a platform the configuration does not run is said once at start,
naming the policy and the platform, and not again for every alert that cannot go there."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.policy.loader import load_policy_text
from bot.unrun_platforms import rooms_by_platform
from tests.checkin_rig import CHECKIN_POLICY
from tests.conftest import POLICY, make_config, start_rig, write_policy

WITH_MATRIX_ALERTS = POLICY.replace(
    "alerts:\n  - platform: console\n    name: mods\n",
    "alerts:\n  - platform: console\n    name: mods\n"
    "  - platform: matrix\n    id: '!mods:example.org'\n",
)


async def test_alerts_for_a_platform_not_run_are_one_warning_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy_file = write_policy(tmp_path / "policies", WITH_MATRIX_ALERTS)
    caplog.set_level(logging.DEBUG, logger="confidant.runtime")
    rig = await start_rig(make_config(tmp_path))
    try:
        # two alerts for both moderators' rooms: two broken edits
        for broken in ("delivery: sometimes", "delivery: never"):
            policy_file.write_text(WITH_MATRIX_ALERTS.replace("delivery: private", broken))
            before = len(rig.out.getvalue())
            await rig.app.runtime.poll_policies()
            assert "[alert → #mods] Policy reload failed" in rig.out.getvalue()[before:]
    finally:
        await rig.app.close()
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "confidant.runtime"
    ]
    assert warnings == [
        "policies/circle.yaml: the policy 'circle' names Matrix rooms (under alerts), but no "
        "Matrix adapter runs, so nothing reaches them; add 'matrix:' under 'adapters:' in the "
        "config, or remove those rooms"
    ]
    [told] = [r for r in caplog.records if getattr(r, "event", None) == "platform_not_running"]
    assert (told.policy, told.platform) == ("circle", "matrix")  # type: ignore[attr-defined]
    # each alert that could not go out is still in the log, at DEBUG
    undelivered = [r for r in caplog.records if "no matrix adapter running" in r.getMessage()]
    assert len(undelivered) == 2 and {r.levelno for r in undelivered} == {logging.DEBUG}


async def test_a_policy_a_reload_brings_in_is_told_once_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        grief = WITH_MATRIX_ALERTS.replace("name: circle", "name: grief").replace(
            "name: recovery", "name: grief-room"
        )
        write_policy(tmp_path / "policies", grief, "grief.yaml")
        await rig.app.runtime.poll_policies()
        for broken in ("x: y", "y: z"):  # two failed reloads: each alerts both rooms
            write_policy(
                tmp_path / "policies", grief.replace("delivery: private", broken), "grief.yaml"
            )
            await rig.app.runtime.poll_policies()
    finally:
        await rig.app.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    named = [w for w in warnings if "no Matrix adapter runs" in w]
    assert named == [
        "policies/grief.yaml: the policy 'grief' names Matrix rooms (under alerts), but no "
        "Matrix adapter runs, so nothing reaches them; add 'matrix:' under 'adapters:' in the "
        "config, or remove those rooms"
    ]
    assert not [w for w in warnings if "adapter running" in w]


def test_every_role_of_a_room_is_named() -> None:
    policy = load_policy_text(
        CHECKIN_POLICY.replace(
            "  supporters_room:\n    platform: console\n",
            "  supporters_room:\n    platform: matrix\n    id: '!sup:example.org'\n",
        ).replace("    name: supporters\n", ""),
        "circle.yaml",
    )
    assert rooms_by_platform(policy) == {
        "console": ["rooms", "alerts"],
        "matrix": ["supporters_room"],
    }
