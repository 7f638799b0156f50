"""``/checkin <word>`` with a word that names no check-in command is refused with the
group's usage, privately; it neither starts a check-in nor passes as a private reply."""

from __future__ import annotations

from pathlib import Path

from bot.app import build_registry
from tests.checkin_rig import checkin_rig, dm, private_to


def test_the_registry_names_the_group_and_the_unknown_word() -> None:
    registry = build_registry()
    assert registry.unknown_command("/checkin tomorrow", "/") == "checkin tomorrow"
    assert registry.unknown_command("!Checkin later please", "!") == "checkin later"
    assert registry.unknown_command("/checkin ???", "/") == "checkin …"
    assert registry.unknown_command("/checkin", "/") == "checkin"  # the group's default
    assert registry.unknown_command("/checkin history", "/") is None  # a real command
    assert registry.unknown_command("/nosuch thing", "/") == "nosuch"  # not a group


async def test_an_unknown_word_after_checkin_is_refused_with_the_usage(tmp_path: Path) -> None:
    async with checkin_rig(tmp_path) as rig:
        out = await rig.say(*dm("alice", "/checkin tomorrow"))
        assert out.startswith(
            "[only alice sees, #private chat with alice] /checkin has no command 'tomorrow'. "
            "Usage:\n      /checkin (or /checkin start) - start a private check-in\n"
        ), out
        assert "/checkin history" in out and "/checkin schedule <days> <time> <zone>" in out
        assert "/checkin stats" not in out  # a moderator's command, not offered to members
        assert "Private check-in" not in out  # nothing was started
        # in a room: the same refusal, only the member sees it, and no check-in begins
        out = await rig.say(":room recovery", "bob: /checkin now")
        assert "[only bob sees, #recovery] /checkin has no command 'now'. Usage:" in out
        assert private_to("bob", out) == "" and "[#recovery] confidant" not in out
        assert await rig.app.store.member_checkins("console", "alice", 5) == []
        assert await rig.app.store.member_checkins("console", "bob", 5) == []
        # a moderator is shown the moderators' command too
        out = await rig.say(*dm("mod", "/checkin statistics"))
        assert "/checkin stats - check-in counts per week" in out
        # the bare word still starts one
        out = await rig.say(*dm("alice", "/checkin"))
        assert "Private check-in" in private_to("alice", out)
