"""/agreements: who agreed to which version of the text and when, current text first."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.events import Member, Room, RoomMembers
from tests.conftest import POLICY, make_config, start_rig, write_policy

RECOVERY = Room("console", "recovery", "recovery")


async def test_agreements_by_version_with_members_from_before_the_bot(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies", POLICY)
    rig = await start_rig(make_config(tmp_path))
    try:
        core = rig.app.core
        # dora and erin were in the room before the bot: the adapter's first count
        early = tuple(Member("console", m) for m in ("dora", "erin"))
        await core.handle(RoomMembers(RECOVERY, early, rig.clock.now()))
        await rig.say(":join alice", ":join bob", "alice: /agree", "dora: /agree")
        await rig.clock.advance(timedelta(days=1))
        policy_file.write_text(POLICY.replace("stays here.", "stays here, always."))
        await rig.say("mod: /policy reload", "alice: /agree")
        out = await rig.say("mod: /agreements")
        lines = [line.removeprefix("    ") for line in out.splitlines()]  # console indent
        assert lines[0].endswith("Agreements to the reminder of circle, current text first:")
        assert lines[1] == "recovery: 1 of 4 members agreed to the current text"
        assert lines[2].startswith("  current text (version ") and "alice (" in lines[2]
        assert lines[3].startswith("  earlier text (version ") and "dora (" in lines[3]
        assert lines[3].endswith(" UTC)")  # when she agreed
        assert "alice" not in lines[3]  # her newest agreement is to the current text
        assert lines[4] == "  not agreed: bob, erin"
        current = core.policies.current.by_name("circle")
        assert current is not None and current.reminder.text_hash[:8] in lines[2]
    finally:
        await rig.app.close()
