"""Confidentiality on join, end to end through the console adapter and a real SQLite store."""

from __future__ import annotations

from pathlib import Path

from bot.config import Config
from tests.conftest import ConsoleRig, start_rig, write_policy

REMINDER = "What is shared here stays here."


async def test_join_sends_private_reminder_once(rig: ConsoleRig) -> None:
    first = await rig.say(":join alice")
    assert first.startswith("[private → alice] Welcome to recovery.")
    assert REMINDER in first
    assert "/agree" in first
    assert "[#recovery]" not in first  # privately by default, nothing in the room
    assert await rig.say(":join alice") == ""  # a repeated join event is no new join
    await rig.say(":dm alice /agree")
    assert await rig.say(":leave alice", ":join alice") == ""  # agreed: not asked again


async def test_agree_is_recorded_and_unblocks_posting(rig: ConsoleRig) -> None:
    await rig.say(":join alice")
    held = await rig.say("alice: I had a hard week")
    assert "[#recovery] (alice's message was hidden from the room)" in held
    assert "[private → alice] Your message in recovery was removed" in held
    assert "hard week" not in held  # the bot never repeats what the member wrote
    agreed = await rig.say("alice: /agree")
    assert agreed.startswith("[only alice sees, #recovery] Thank you.")
    assert await rig.app.store.has_agreed("console", "alice", "circle", None)
    assert await rig.say("alice: I had a hard week") == ""
    assert await rig.say("alice: /agree") == (
        "[only alice sees, #recovery] You have already agreed to the current reminder. Thank you.\n"
    )


async def test_agree_in_private_chat_covers_the_waiting_reminder(rig: ConsoleRig) -> None:
    assert "no confidentiality policy" in await rig.say(":dm bob /rules")
    await rig.say(":join bob")
    rules = await rig.say(":dm bob /rules")
    assert rules.startswith("[only bob sees, #private chat with bob] Confidentiality reminder")
    assert REMINDER in rules
    reply = await rig.say(":dm bob /agree")
    assert "Thank you. Your agreement to the reminder of circle is recorded for recovery." in reply
    assert await rig.say("bob: hello everyone") == ""


async def test_rules_and_help(rig: ConsoleRig) -> None:
    rules = await rig.say("carol: /rules")
    assert rules.startswith("[only carol sees, #recovery] Confidentiality reminder for this room:")
    assert REMINDER in rules
    member_help = await rig.say("carol: /help")
    assert "/rules" in member_help and "/agree" in member_help
    assert "/policy reload" not in member_help
    mod_help = await rig.say("mod: /help")
    assert "/policy reload" in mod_help and "/agreements" in mod_help


async def test_member_is_refused_moderator_commands(rig: ConsoleRig) -> None:
    for command in ("/policy show", "/policy reload", "/agreements"):
        out = await rig.say(f"carol: {command}")
        assert out == f"[only carol sees, #recovery] Only moderators can use {command}.\n"
    entries = await rig.app.store.audit_entries()
    assert entries == []  # a refused reload did nothing


async def test_moderator_sees_agreements(rig: ConsoleRig) -> None:
    await rig.say(":join alice", ":join bob", "alice: /agree")
    out = await rig.say("mod: /agreements")
    assert "recovery: 1 of 2 members agreed to the current text" in out
    assert "  not agreed: bob" in out
    assert "  current text (version " in out and "): alice (" in out


async def test_console_mod_directive_grants_moderator(rig: ConsoleRig) -> None:
    assert "Only moderators" in await rig.say("dana: /policy show")
    await rig.say(":mod dana")
    shown = await rig.say("dana: /policy show")
    assert "Policy circle" in shown
    assert "agreement required: yes" in shown


async def test_changed_text_reasks(tmp_config: Config) -> None:
    rig = await start_rig(tmp_config)
    try:
        await rig.say(":join alice", "alice: /agree")
        policy_file = tmp_config.policy_dir / "circle.yaml"
        policy_file.write_text(
            policy_file.read_text().replace(REMINDER, "New wording, it stays in the room."),
        )
        reloaded = await rig.say("mod: /policy reload")
        assert "[private → alice] This room's confidentiality reminder has changed" in reloaded
        assert "Welcome to recovery." in reloaded
        assert "New wording" in reloaded
        assert "Policies reloaded (changed)" in reloaded
        # until alice agrees to the new text her posts are held back again
        assert "hidden" in await rig.say("alice: hi")
        await rig.say("alice: /agree")
        assert await rig.say("alice: hi") == ""
        # joining again does not re-send the current text
        assert await rig.say(":leave alice", ":join alice") == ""
    finally:
        await rig.app.close()


async def test_restart_never_resends(tmp_config: Config) -> None:
    first = await start_rig(tmp_config)
    await first.say(":join alice", ":join bob", "bob: /agree")
    await first.app.close()
    second = await start_rig(tmp_config)
    try:
        assert second.out.getvalue() == ""  # nothing owed at start
        assert await second.say(":join alice", ":join bob") == ""
        assert await second.say("bob: still here") == ""  # the agreement survived
        assert "hidden" in await second.say("alice: hello")
    finally:
        await second.app.close()


async def test_dms_closed_falls_back_to_room_mention(rig: ConsoleRig) -> None:
    out = await rig.say(":dms-closed erin", ":join erin")
    assert "[private → erin]" not in out
    assert out.startswith("[#recovery] confidant → @erin: I could not reach you privately")
    assert REMINDER in out
    assert await rig.app.store.pending_reminders() == []  # the fallback counted as delivered


async def test_delivery_room_and_both(tmp_path: Path) -> None:
    from tests.conftest import POLICY, make_config

    write_policy(tmp_path / "policies", POLICY.replace("delivery: private", "delivery: both"))
    rig = await start_rig(make_config(tmp_path))
    try:
        out = await rig.say(":join frank")
        assert "[private → frank]" in out
        assert "[#recovery] confidant → @frank: Confidentiality reminder for this room:" in out
    finally:
        await rig.app.close()


async def test_room_without_policy_is_left_alone(rig: ConsoleRig) -> None:
    assert await rig.say(":room random") == "[console] now in #random\n"
    assert await rig.say(":join alice", "alice: hi there") == ""
    assert "no confidentiality policy" in await rig.say("alice: /rules")


async def test_unknown_command_gets_a_hint(rig: ConsoleRig) -> None:
    out = await rig.say("alice: /agreee")
    assert out == (
        "[only alice sees, #recovery] I do not know /agreee. "
        "Send /help for the commands you can use.\n"
    )
