"""Periodic in-room re-reminders and live policy reload that keeps the last good policy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import POLICY, make_config, start_rig, write_policy

REPEAT = POLICY.replace(
    "  require_agreement: true\n",
    "  require_agreement: false\n  repeat:\n    every_days: 7\n    every_messages: 3\n",
)


async def test_every_n_messages(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", REPEAT)
    rig = await start_rig(make_config(tmp_path))
    try:
        assert await rig.say("a: one", "b: two") == ""
        third = await rig.say("a: three")
        assert third.startswith("[#recovery] confidant: A regular reminder of this room's promise:")
        assert await rig.say("a: four", "b: five") == ""
        assert "regular reminder" in await rig.say("a: six")
    finally:
        await rig.app.close()


async def test_every_n_days_fires_once_per_period(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", REPEAT)
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":join alice")  # the room becomes known; its clock starts now
        before = len(rig.out.getvalue())
        await rig.clock.advance(timedelta(days=6, hours=23))
        await rig.app.runtime.tick()
        assert rig.out.getvalue()[before:] == ""
        await rig.clock.advance(timedelta(hours=2))
        await rig.app.runtime.tick()
        await rig.app.runtime.tick()  # a second tick in the same period sends nothing more
        fired = rig.out.getvalue()[before:]
        assert fired.count("A regular reminder") == 1
    finally:
        await rig.app.close()


async def test_broken_edit_keeps_last_good_policy_and_alerts(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: sometimes"))
        before = len(rig.out.getvalue())
        await rig.app.runtime.poll_policies()
        alert = rig.out.getvalue()[before:]
        assert alert.startswith("[alert → #mods] Policy reload failed; the last good policies")
        assert "policies/circle.yaml:13:13:" in alert
        # the last good policy still protects the room
        joined = await rig.say(":join alice")
        assert "[private → alice] Welcome to recovery." in joined
        # the same broken file is reported once, not on every poll
        before = len(rig.out.getvalue())
        await rig.app.runtime.poll_policies()
        assert rig.out.getvalue()[before:] == ""
        # fixing it is picked up live
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: room"))
        await rig.app.runtime.poll_policies()
        out = await rig.say(":join bob")
        assert "[#recovery] confidant → @bob: Confidentiality reminder" in out
        assert "[private → bob]" not in out
    finally:
        await rig.app.close()


async def test_moderator_reload_reports_errors(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(POLICY.replace("reminder:", "remider:"))
        out = await rig.say("mod: /policy reload")
        assert "[only mod sees, #recovery] Policy reload failed" in out
        assert "policies/circle.yaml:" in out
        assert "did you mean 'reminder'" in out
        entries = await rig.app.store.audit_entries()
        assert [(e[2], e[3]) for e in entries] == [("mod", "policy reload")]
    finally:
        await rig.app.close()
