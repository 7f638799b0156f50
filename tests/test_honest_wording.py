"""What the bot says is true: nothing is called sent privately that was not delivered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.checkin_rig import checkin_rig, private_to
from tests.conftest import POLICY, ConsoleRig, make_config, policy_rig, start_rig, write_policy


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


REMIND = POLICY.replace(
    "require_agreement: true", "require_agreement: true\n  unagreed_posts: remind"
)


async def test_remind_never_says_hidden_and_reminds_once_per_period(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, REMIND) as rig:
        await rig.say(":join alice")
        first = await rig.say("alice: I had a hard week")
        assert "hidden" not in first and "removed" not in first and "not shared" not in first
        assert "[private → alice] Your message in recovery is in the room" in first
        assert "Send /agree to confirm" in first
        # more posts the same day: no reminder after each one
        assert await rig.say("alice: and another thing", "alice: one more") == ""
        await rig.clock.advance(timedelta(days=1, minutes=1))
        again = await rig.say("alice: next day")
        assert "[private → alice] Your message in recovery is in the room" in again
        await rig.say("alice: /agree")
        await rig.clock.advance(timedelta(days=2))
        assert await rig.say("alice: agreed now") == ""


async def test_manual_reload_does_not_repeat_the_watchers_alert(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: sometimes"))
        before = len(rig.out.getvalue())
        await rig.app.runtime.poll_policies()
        assert rig.out.getvalue()[before:].startswith("[alert → #mods] Policy reload failed")
        manual = await rig.say("mod: /policy reload")
        assert "[alert → #mods]" not in manual  # the watcher told them already
        assert "[only mod sees, #recovery] Policy reload failed" in manual
        # a different error is news, and alerted
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: never"))
        assert "[alert → #mods]" in await rig.say("mod: /policy reload")
    finally:
        await rig.app.close()


async def test_rules_after_agreeing_does_not_ask_again(rig: ConsoleRig) -> None:
    await rig.say(":join alice")
    assert "/agree to confirm" in await rig.say("alice: /rules")
    await rig.say("alice: /agree")
    rules = await rig.say("alice: /rules")
    assert "What is shared here stays here." in rules
    assert "agree" not in rules.replace("You have agreed", "")
    assert "You have agreed to it" in rules
    private = await rig.say(":dm alice /rules")
    assert "You have agreed to it" in private and "/agree" not in private


GRIEF = POLICY.replace("name: circle", "name: grief").replace("name: recovery", "name: loss")


async def test_private_rules_and_agree_name_each_policy(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", POLICY)
    write_policy(tmp_path / "policies", GRIEF, "grief.yaml")
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":join bob", ":room loss", ":join bob")
        rules = await rig.say(":dm bob /rules")
        assert "Confidentiality reminder for recovery (policy circle):" in rules
        assert "Confidentiality reminder for loss (policy grief):" in rules
        assert "/agree circle here" in rules and "/agree grief here" in rules
        which = await rig.say(":dm bob /agree")
        assert "Several confidentiality reminders wait" in which
        assert "circle: recovery" in which and "grief: loss" in which
        assert not await rig.app.store.has_agreed("console", "bob", "circle", None)
        done = await rig.say(":dm bob /agree grief")
        assert "Your agreement to the reminder of grief is recorded for loss." in done
        assert await rig.app.store.has_agreed("console", "bob", "grief", None)
        assert not await rig.app.store.has_agreed("console", "bob", "circle", None)
        last = await rig.say(":dm bob /agree")  # one left: no question
        assert "reminder of circle is recorded for recovery." in last
    finally:
        await rig.app.close()


async def test_forgetme_in_a_room_says_and_does_ask_again(rig: ConsoleRig) -> None:
    await rig.say(":join alice", "alice: /agree")
    asked = await rig.say(":dm alice /forgetme")
    assert "You are still in recovery" in asked and "held back until you agree again" in asked
    done = await rig.say(":dm alice /forgetme confirm")
    assert "erased. You are still in recovery, so you are asked to agree" in done
    assert "[private → alice] Welcome to recovery." in done  # asked again right away
    assert not await rig.app.store.has_agreed("console", "alice", "circle", None)
    assert "hidden" in await rig.say("alice: hello")  # the gate holds her posts again
    await rig.say(":dm alice /agree")
    assert await rig.say("alice: hello") == ""


def listed(help_text: str) -> set[str]:
    """The command words a /help answer lists."""
    return {
        line.strip().split(" - ")[0].split(" <")[0].split(" [")[0].lstrip("/")
        for line in help_text.splitlines()[1:]
    }


async def test_help_lists_only_what_the_caller_can_use_here(tmp_path: Path) -> None:
    from tests.checkin_rig import CHECKIN_POLICY

    async with checkin_rig(tmp_path) as rig:  # check-ins, no agreement asked
        member = listed(await rig.say("carol: /help"))
        assert {"rules", "help", "checkin start", "mydata", "forgetme"} <= member
        assert "agree" not in member  # the circle asks no agreement
        assert "claim" not in member and "flags" not in member and "checkin stats" not in member
        supporter = listed(await rig.say(":room supporters", "sam: /help"))
        assert "claim" in supporter and "rules" not in supporter  # no policy covers this room
        moderator = listed(await rig.say(":room recovery", "mod: /help"))
        assert {"policy reload", "agreements", "flags", "checkin stats"} <= moderator
    assert "require_agreement" not in CHECKIN_POLICY


async def test_help_without_check_ins_does_not_offer_them(rig: ConsoleRig) -> None:
    member = listed(await rig.say("carol: /help"))
    assert "agree" in member and "rules" in member
    assert not {m for m in member if m.startswith("checkin")}


async def test_a_reminder_asking_no_agreement_is_no_reason_to_ask_which(tmp_path: Path) -> None:
    """A member reminded of an open lobby's rules (no agreement asked) and of the circle's
    (agreement asked) agrees with a plain /agree in the private chat: no question."""
    open_lobby = GRIEF.replace("require_agreement: true", "require_agreement: false")
    assert open_lobby != GRIEF
    write_policy(tmp_path / "policies", POLICY)
    write_policy(tmp_path / "policies", open_lobby, "grief.yaml")
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":join bob", ":room loss", ":join bob")
        done = await rig.say(":dm bob /agree")
        assert "Several confidentiality reminders wait" not in done
        assert "reminder of circle is recorded for recovery." in done
        assert await rig.app.store.has_agreed("console", "bob", "circle", None)
    finally:
        await rig.app.close()
