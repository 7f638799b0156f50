"""The no-DM rules message, per-policy DM fallbacks and choices, through the console adapter,
the core and a real SQLite store (the Discord rendering is tested against the fake)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from bot import rules_messages
from bot.actions import Action, CheckMessage, Option, PostToRoom, ReplyToInvoker, Select
from bot.events import ChoiceMade, MessageDeleted, Room
from tests.conftest import POLICY, ConsoleRig, make_config, start_rig, write_policy

REMINDER = "What is shared here stays here."
RULES = POLICY.replace("delivery: private", "delivery: rules_message")
AGREE_ID = "confidant:agree:circle"


def with_fallback(fallback: str, extra: str = "") -> str:
    return POLICY.replace(
        "  delivery: private\n", f"  delivery: private\n  fallback: {fallback}\n{extra}"
    )


async def started(tmp_path: Path, policy: str) -> ConsoleRig:
    write_policy(tmp_path / "policies", policy)
    return await start_rig(make_config(tmp_path))


# -- the rules message ---------------------------------------------------------------------------


async def test_rules_message_is_posted_once_and_joins_are_not_messaged(tmp_path: Path) -> None:
    rig = await started(tmp_path, RULES)
    try:
        shown = rig.out.getvalue()
        assert shown.count("[#recovery] confidant: Confidentiality reminder for this room:") == 1
        assert REMINDER in shown
        assert "    [buttons: Agree]\n" in shown
        assert "Please send /agree" in shown  # the console has no real buttons: says how
        assert await rig.say(":join alice") == ""  # no private message, nothing in the room
        stored = await rig.app.store.rules_message("console", "recovery", "circle")
        assert stored is not None and stored.posted and stored.message_id == "b1"
        # a post before agreeing is hidden and explained in the room, never privately
        held = await rig.say("alice: I had a hard week")
        assert "(alice's message was hidden from the room)" in held
        assert "[#recovery] confidant → @alice: please read this room's reminder" in held
        assert "[private" not in held and "hard week" not in held
    finally:
        await rig.app.close()


async def test_pressing_agree_records_and_answers_with_the_reminder(tmp_path: Path) -> None:
    rig = await started(tmp_path, RULES)
    try:
        await rig.say(":join alice")
        pressed = await rig.say(":press alice Agree")
        assert pressed.startswith(
            "[only alice sees, #recovery] Thank you. Your agreement is recorded for recovery."
        )
        assert REMINDER in pressed
        assert await rig.app.store.has_agreed("console", "alice", "circle", None)
        assert await rig.say("alice: hello") == ""  # no longer held back
        again = await rig.say(f":press alice {AGREE_ID}")
        assert again.startswith("[only alice sees, #recovery] You have already agreed")
        nothing = await rig.say(":press alice Disagree")
        assert nothing == "[console] nothing to press called 'Disagree' in #recovery\n"
    finally:
        await rig.app.close()


async def test_restart_reuses_the_rules_message_and_the_button_still_works(
    tmp_path: Path,
) -> None:
    first = await started(tmp_path, RULES)
    await first.app.close()
    second = await start_rig(make_config(tmp_path))
    try:
        assert second.out.getvalue() == ""  # the room already has its rules message
        await second.say(":join bob")
        pressed = await second.say(f":press bob {AGREE_ID}")  # the button posted before
        assert "Thank you. Your agreement is recorded for recovery." in pressed
    finally:
        await second.app.close()


async def test_at_start_a_platform_that_can_look_is_asked_if_the_message_is_still_there(
    tmp_path: Path,
) -> None:
    first = await started(tmp_path, RULES)
    await first.app.close()
    second = await start_rig(make_config(tmp_path))
    try:
        core = second.app.core
        assert await rules_messages.check_rules_messages(core) == []  # the console cannot
        caps = dataclasses.replace(core.caps("console"), checks_posts=True)
        core.capabilities = {**core.capabilities, "console": caps}
        [check] = await rules_messages.check_rules_messages(core)
        assert isinstance(check, CheckMessage)
        assert (check.room.platform, check.room.id, check.message_id) == (
            "console", "recovery", "b1",
        )
        # the adapter's answer, if it is gone, is the delete the bot missed: posted again
        again = await core.handle(MessageDeleted(check.room, "b1", second.clock.now()))
        assert [type(a) for a in again] == [PostToRoom]
    finally:
        await second.app.close()


async def test_changed_text_edits_the_rules_message_once(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies", RULES)
    first = await start_rig(make_config(tmp_path))
    await first.say(":join alice", ":press alice Agree")
    await first.app.close()
    policy_file.write_text(RULES.replace(REMINDER, "New words, it stays in the room."))
    second = await start_rig(make_config(tmp_path))
    try:
        edited = second.out.getvalue()
        assert edited.count("(edits message b1)") == 1
        assert "New words" in edited and REMINDER not in edited
        # alice agreed to the old text only: her posts wait for the new agreement
        assert "hidden" in await second.say("alice: hi")
    finally:
        await second.app.close()
    third = await start_rig(make_config(tmp_path))
    try:
        assert third.out.getvalue() == ""  # edited once, not at every start
    finally:
        await third.app.close()


async def test_reload_edits_and_a_deleted_rules_message_comes_back(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies", RULES)
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(RULES.replace(REMINDER, "Reloaded words stay here."))
        reloaded = await rig.say("mod: /policy reload")
        assert reloaded.count("(edits message b1)") == 1 and "Reloaded words" in reloaded
        before = len(rig.out.getvalue())
        room = Room("console", "recovery", "recovery")
        await rig.app.runtime.on_event(MessageDeleted(room, "b1", rig.clock.now()))
        again = rig.out.getvalue()[before:]
        assert again.count("Confidentiality reminder for this room:") == 1
        assert "(edits message" not in again  # a new post, not an edit of the deleted one
        stored = await rig.app.store.rules_message("console", "recovery", "circle")
        assert stored is not None and stored.message_id == "b2"
        # switching the policy back to private messages removes the rules message
        policy_file.write_text(POLICY)
        removed = await rig.say("mod: /policy reload")
        assert "[#recovery] (a message was hidden from the room)" in removed
        assert await rig.app.store.rules_messages() == []
    finally:
        await rig.app.close()


async def test_rules_message_goes_up_in_a_room_switched_to(tmp_path: Path) -> None:
    rig = await started(tmp_path, RULES.replace("name: recovery", "name: inner"))
    try:
        assert rig.out.getvalue() == ""  # #recovery is not covered
        out = await rig.say(":room inner")
        assert out.startswith("[console] now in #inner\n[#inner] confidant: Confidentiality")
        assert await rig.say(":room recovery", ":room inner") == "[console] now in #recovery\n" \
            "[console] now in #inner\n"
    finally:
        await rig.app.close()


# -- fallbacks when private messages are refused -------------------------------------------------


async def test_fallback_private_thread(tmp_path: Path) -> None:
    rig = await started(tmp_path, with_fallback("private_thread"))
    try:
        out = await rig.say(":dms-closed erin", ":join erin")
        assert out.startswith(
            "[#recovery, private thread with erin] confidant → @erin: I could not reach you "
            "privately, so here is this room's reminder in a thread only you and I can see."
        )
        assert REMINDER in out and "[private" not in out
        assert await rig.app.store.pending_reminders() == []  # counted as delivered
        # a post before agreeing is explained in the private thread too, never in the room
        held = await rig.say("erin: something private")
        assert "(erin's message was hidden from the room)" in held
        assert "[#recovery, private thread with erin] confidant → @erin: please read" in held
        assert "something private" not in held
    finally:
        await rig.app.close()


async def test_fallback_room_mention_deleted_after_the_policy_time(tmp_path: Path) -> None:
    rig = await started(
        tmp_path, with_fallback("room_mention", "  fallback_delete_after_minutes: 5\n")
    )
    try:
        out = await rig.say(":dms-closed erin", ":join erin")
        assert out.startswith("[#recovery] confidant → @erin: I could not reach you privately")
        assert "    (deleted after 5 minutes)\n" in out
        shown = await rig.say("mod: /policy show")
        assert "delivery: private (fallback: room_mention, deleted after 5 minutes)" in shown
    finally:
        await rig.app.close()


async def test_fallback_next_interaction_rides_on_the_next_reply_once(tmp_path: Path) -> None:
    rig = await started(tmp_path, with_fallback("next_interaction"))
    try:
        assert await rig.say(":dms-closed erin", ":join erin") == ""  # nothing in the room
        first = await rig.say("erin: /help")
        assert first.startswith("[only erin sees, #recovery] Commands you can use:")
        assert "I could not reach you privately, so here is the reminder for recovery." in first
        assert REMINDER in first
        second = await rig.say("erin: /help")
        assert REMINDER not in second and "Commands you can use:" in second
        # a periodic tick does not retry the refused private message either
        await rig.clock.advance(3600)
        before = len(rig.out.getvalue())
        await rig.app.runtime.tick()
        assert rig.out.getvalue()[before:] == ""
    finally:
        await rig.app.close()


async def test_next_interaction_does_not_touch_members_who_got_the_message(
    tmp_path: Path,
) -> None:
    rig = await started(tmp_path, with_fallback("next_interaction"))
    try:
        assert "[private → frank]" in await rig.say(":join frank")
        assert REMINDER not in await rig.say("frank: /help")
    finally:
        await rig.app.close()


# -- choices as a building block -----------------------------------------------------------------


async def test_select_renders_as_text_and_a_pick_reaches_its_handler(tmp_path: Path) -> None:
    rig = await started(tmp_path, POLICY)
    picks: list[ChoiceMade] = []

    async def on_mood(event: ChoiceMade) -> list[Action]:
        picks.append(event)
        reply = f"noted: {', '.join(event.values)}"
        return [ReplyToInvoker(event.room, event.member, reply, event.reply_handle)]

    rig.app.core.add_choice("confidant:mood:", on_mood)
    try:
        room = Room("console", "recovery", "recovery")
        select = Select(
            "confidant:mood:week1",
            (Option("good", "Good"), Option("hard", "A hard week")),
            placeholder="How was your week?",
        )
        await rig.app.runtime.execute([PostToRoom(room, "Check-in", select=select)])
        assert rig.out.getvalue().endswith(
            "[#recovery] confidant: Check-in\n    [select: Good, A hard week]\n"
        )
        answer = await rig.say(":press carol a hard week")
        assert answer == "[only carol sees, #recovery] noted: hard\n"
        [pick] = picks
        assert (pick.choice_id, pick.values, pick.member.id) == ("confidant:mood:week1",
                                                               ("hard",), "carol")
        gone = await rig.say(":press carol confidant:old:thing")
        assert gone == (
            "[only carol sees, #recovery] This button is no longer in use. Nothing was recorded.\n"
        )
    finally:
        await rig.app.close()


async def test_a_platform_that_cannot_report_ids_still_posts_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = ConsoleAdapter._post_to_room

    async def without_ids(self: ConsoleAdapter, action: PostToRoom) -> None:
        await original(self, dataclasses.replace(action, report_id=False))

    monkeypatch.setattr(ConsoleAdapter, "_post_to_room", without_ids)
    first = await started(tmp_path, RULES)
    await first.app.close()
    assert first.out.getvalue().count("Confidentiality reminder for this room:") == 1
    second = await start_rig(make_config(tmp_path))
    try:
        assert second.out.getvalue() == ""
        stored = await second.app.store.rules_message("console", "recovery", "circle")
        assert stored is not None and stored.posted and stored.message_id is None
    finally:
        await second.app.close()
