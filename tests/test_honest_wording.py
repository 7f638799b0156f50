"""What the bot says is true: nothing is called sent privately that was not delivered."""

from __future__ import annotations

from pathlib import Path

from tests.checkin_rig import checkin_rig, private_to


async def test_closed_dms_are_never_called_sent_privately(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(":join alice", "alice: /agree", ":dms-closed alice")
        for command in ("/checkin", "/mydata", "/checkin history"):
            out = await rig.say(f"alice: {command}")
            assert "Sent to you privately" not in out, command
            assert "continues in our private chat" not in out, command
            assert private_to("alice", out) == ""
            assert "[only alice sees, #recovery] I could not reach you privately" in out
            assert f"then send {command} again" in out


async def test_open_dms_are_pointed_to_after_delivery(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        await rig.say(":join alice", "alice: /agree")
        out = await rig.say("alice: /mydata")
        private, _, pointer = out.partition("[only alice sees, #recovery]")
        assert "[private → alice] Everything Confidant holds" in private  # delivered first
        assert pointer.strip() == "Sent to you privately."
        out = await rig.say("alice: /checkin")
        assert out.index("[private → alice]") < out.index("continues in our private chat")
