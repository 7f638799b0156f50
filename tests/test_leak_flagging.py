"""Leak flagging end to end: the console, a real SQLite store, and core events built directly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.actions import AlertModerators, DeleteMessage, SendPrivate
from bot.clock import FakeClock
from bot.events import Member, MessageDeleted, MessageEdited, MessagePosted, MessageRef, Room
from tests.conftest import ConsoleRig
from tests.leak_rig import (
    LEAK_POLICY,
    QUOTE,
    SHARED,
    SHARED_WORDS,
    alerts,
    leak_rig,
    policy_with,
)

LOBBY = Room("console", "lobby", "lobby")
OTHER_SHARED = (
    "my job interview went badly because I could not stop shaking and I think everyone in "
    "the room could see it"
)
OTHER_QUOTE = "apparently the job interview went badly because I could not stop shaking and I think"
RECOVERY = Room("console", "recovery", "recovery")


async def share(rig: ConsoleRig, text: str = SHARED, who: str = "alice") -> str:
    return await rig.say(":room recovery", f"{who}: {text}")


async def quote_in_lobby(rig: ConsoleRig, text: str = QUOTE, who: str = "bob") -> str:
    return await rig.say(":room lobby", f"{who}: {text}")


def posted(
    room: Room, message_id: str, text: str = "", who: str = "bob", **refs: object
) -> MessagePosted:
    at = FakeClock().now()
    return MessagePosted(room, Member("console", who), message_id, text, at, **refs)  # type: ignore[arg-type]


async def test_quote_elsewhere_is_flagged_without_its_text(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        out = await quote_in_lobby(rig)
        [alert] = alerts(out)
        assert alert.startswith("[alert → #mods] Possible leak from recovery (flag 1): a quote")
        assert "in lobby, message m2, posted by bob" in alert
        assert "matching fingerprint" in alert
        assert "[private → bob] Your message in lobby seems to repeat something from recovery" in (
            out
        )
        for word in SHARED_WORDS:
            assert word not in out
        [flag] = await rig.app.store.open_flags()
        assert (flag.room_id, flag.source_room_id, flag.signal) == ("lobby", "recovery", "quote")
        assert flag.matched >= 1 and flag.poster_id == "bob"


async def test_quote_in_the_same_room_and_own_words_raise_nothing(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        assert await quote_in_lobby(rig, who="alice") == "[console] now in #lobby\n"
        assert await rig.say(":room recovery", f"bob: {QUOTE}") == "[console] now in #recovery\n"
        assert await rig.app.store.open_flags() == []


async def test_quote_between_two_confidential_rooms_is_flagged(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        out = await rig.say(":room women", f"bob: {QUOTE}")
        assert len(alerts(out)) == 1 and "from recovery" in out and "in women" in out


async def test_short_messages_match_whole_only_when_enabled(tmp_path: Path) -> None:
    short = "my dog died yesterday morning"
    async with leak_rig(tmp_path / "off") as rig:
        await share(rig, short)
        assert alerts(await quote_in_lobby(rig, short)) == []
    whole = policy_with("whole_message: true\nmin_tokens_whole: 4")
    async with leak_rig(tmp_path / "on", whole) as rig:
        await share(rig, short)
        [alert] = alerts(await quote_in_lobby(rig, "My dog died, yesterday morning!"))
        assert "the whole short message matches one there" in alert
        assert alerts(await quote_in_lobby(rig, "my cat died yesterday morning")) == []


async def test_structural_signals_point_into_a_confidential_room(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        await share(rig)  # the bot knows the room (by name) once something was said there
        source = MessageRef("console", "recovery", "m1")
        cases = {
            "forward": posted(LOBBY, "x1", "look", forward_of=source),
            "link": posted(LOBBY, "x2", "see this", links=(source,)),
            "reply": posted(LOBBY, "x3", "right", reply_to=source),
        }
        for signal, event in cases.items():
            actions = await core.handle(event)
            [alert] = [a for a in actions if isinstance(a, AlertModerators)]
            assert (alert.platform, alert.room_selector) == ("console", "mods")
            assert "certain" in alert.text and f"message {event.message_id}" in alert.text
            assert [
                f.signal
                for f in await rig.app.store.flags_for_copy("console", "lobby", event.message_id)
            ] == [signal]
            # the poster is reminded once for copies posted within minutes of each other
            reminded = any(isinstance(a, SendPrivate) for a in actions)
            assert reminded == (signal == "forward")


async def test_structural_signals_from_elsewhere_or_inside_raise_nothing(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        await share(rig)
        await rig.say(":room lobby", "bob: hello there")
        elsewhere = MessageRef("console", "lobby", "m2")
        assert await core.handle(posted(RECOVERY, "y1", "hm", forward_of=elsewhere)) == []
        assert await core.handle(posted(LOBBY, "y2", "hm", links=(elsewhere,))) == []
        inside = MessageRef("console", "recovery", "m1")
        assert await core.handle(posted(RECOVERY, "y3", "agreed", reply_to=inside)) == []
        assert await rig.app.store.open_flags() == []


async def test_moderator_commands_are_refused_to_members(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        await quote_in_lobby(rig)
        for command in ("/flags", "/flag resolve 1", "/flag false-positive 1", "/audit"):
            out = await rig.say(f"carol: {command}")
            name = command.split()[0]
            assert out == f"[only carol sees, #lobby] Only moderators can use {name}.\n"
        assert [f.status for f in await rig.app.store.open_flags()] == ["open"]
        assert await rig.app.store.audit_entries() == []


async def test_flags_resolve_and_audit(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        await quote_in_lobby(rig)
        listed = await rig.say(":room mods", "mod: /flags")
        assert "1: from recovery, quote in lobby (message m2) by bob" in listed
        assert "Flag 1 is resolved." in await rig.say("mod: /flag resolve 1")
        assert "No open leak flags." in await rig.say("mod: /flags")
        assert "There is no open flag 1" in await rig.say("mod: /flag resolve 1")
        audit = await rig.say("mod: /audit")
        assert "console:mod flag resolve (flag 1)" in audit
        assert "console:mod flags (1 open flags shown)" in audit
        entries = await rig.app.store.audit_entries()
        assert entries[0][3] == "audit"


async def test_false_positive_stops_the_phrase(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        assert len(alerts(await quote_in_lobby(rig))) == 1
        out = await rig.say(":room mods", "mod: /flag false-positive 1")
        assert "Flag 1 is marked a false positive" in out
        assert alerts(await quote_in_lobby(rig, who="dave")) == []
        assert await rig.app.store.stoplist()
    async with leak_rig(tmp_path) as rig:  # the stop list outlives a restart
        assert alerts(await quote_in_lobby(rig, who="erin")) == []


async def test_retention_purge_forgets_old_fingerprints(tmp_path: Path) -> None:
    clock = FakeClock()
    async with leak_rig(tmp_path, clock=clock) as rig:
        await share(rig)
        assert len(await rig.app.store.fingerprints()) > 0
        await clock.advance(timedelta(days=29))
        await rig.app.runtime.tick()
        assert len(await rig.app.store.fingerprints()) > 0
        await clock.advance(timedelta(days=2))
        await rig.app.runtime.tick()
        assert await rig.app.store.fingerprints() == []
        watch = rig.app.core.leaks
        assert watch is not None
        assert all(e.index.posting_count == 0 for e in watch.engines.engines.values())
        assert alerts(await quote_in_lobby(rig)) == []


async def test_erase_removes_a_members_fingerprints(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        other = (
            "Yesterday the counsellor said my panic attacks come from the accident in the old mine"
        )
        await share(rig)
        await share(rig, other, who="carol")
        watch = rig.app.core.leaks
        assert watch is not None
        removed = await watch.erase_member("console", "alice")
        assert removed > 0
        assert {f.room_key for f in await rig.app.store.fingerprints()} == {"console:recovery"}
        assert alerts(await quote_in_lobby(rig)) == []
        assert len(alerts(await quote_in_lobby(rig, other))) == 1  # carol's words still count
        assert await watch.erase_member("console", "alice") == 0


async def test_restart_keeps_the_index(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
    async with leak_rig(tmp_path) as rig:
        assert len(alerts(await quote_in_lobby(rig))) == 1


async def test_edit_refingerprints_the_confidential_message(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        await core.handle(posted(RECOVERY, "c1", SHARED, who="alice"))
        new_text = "Actually I want to talk about the garden project and the tomatoes we planted"
        await core.handle(
            MessageEdited(RECOVERY, Member("console", "alice"), "c1", new_text, rig.clock.now())
        )
        assert alerts(await quote_in_lobby(rig)) == []
        assert len(alerts(await quote_in_lobby(rig, "so: " + new_text))) == 1
        await core.handle(MessageDeleted(RECOVERY, "c1", rig.clock.now()))
        assert await rig.app.store.fingerprints() == []
        assert alerts(await quote_in_lobby(rig, "again " + new_text)) == []


async def test_a_flag_on_an_edited_or_deleted_copy_is_updated(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        await share(rig)
        first = await core.handle(posted(LOBBY, "q1", QUOTE))
        assert sum(isinstance(a, AlertModerators) for a in first) == 1
        edited = await core.handle(
            MessageEdited(LOBBY, Member("console", "bob"), "q1", QUOTE + " wow", rig.clock.now())
        )
        assert edited == []  # no second alert, no second reminder
        [flag] = await rig.app.store.flags_for_copy("console", "lobby", "q1")
        assert flag.copy_state == "edited"
        await core.handle(MessageDeleted(LOBBY, "q1", rig.clock.now()))
        [flag] = await rig.app.store.flags_for_copy("console", "lobby", "q1")
        assert flag.copy_state == "deleted" and flag.status == "open"


async def test_an_edit_that_adds_a_link_into_a_confidential_room_is_flagged(
    tmp_path: Path,
) -> None:
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        await share(rig)
        assert await core.handle(posted(LOBBY, "e1", "hm")) == []
        source = MessageRef("console", "recovery", "m1")
        bob = Member("console", "bob")
        edited = await core.handle(
            MessageEdited(LOBBY, bob, "e1", "see this", rig.clock.now(), links=(source,))
        )
        [alert] = [a for a in edited if isinstance(a, AlertModerators)]
        assert "a link to a message in it" in alert.text and alert.source_room == source
        [flag] = await rig.app.store.flags_for_copy("console", "lobby", "e1")
        assert (flag.signal, flag.copy_state) == ("link", "edited")
        # the same link edited again is the same flag, and no second alert
        again = await core.handle(
            MessageEdited(LOBBY, bob, "e1", "see this!", rig.clock.now(), links=(source,))
        )
        assert again == []


async def test_relayed_posts_are_words_but_the_relay_is_no_one_to_write_to(
    tmp_path: Path,
) -> None:
    async with leak_rig(tmp_path) as rig:
        core = rig.app.core
        at = rig.clock.now()
        sunny = Member("console", "hook1", "Sunny", is_bot=True)
        relayed_share = MessagePosted(RECOVERY, sunny, "r1", SHARED, at, relayed=True)
        assert await core.handle(relayed_share) == []  # fingerprinted, never gated
        bobbie = Member("console", "hook2", "Bobbie", is_bot=True)
        actions = await core.handle(MessagePosted(LOBBY, bobbie, "r2", QUOTE, at, relayed=True))
        [alert] = [a for a in actions if isinstance(a, AlertModerators)]
        assert "posted by Bobbie (posted through a relay" in alert.text
        assert not any(isinstance(a, SendPrivate) for a in actions)
        [flag] = await rig.app.store.flags_for_copy("console", "lobby", "r2")
        assert (flag.signal, flag.poster_id) == ("quote", "hook2")
        # a bot that relays no one stays ignored, however much it quotes
        robot = Member("console", "robot", "robot", is_bot=True)
        assert await core.handle(MessagePosted(LOBBY, robot, "r3", QUOTE, at)) == []


async def test_chinese_quote_is_flagged(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        said = "我上个星期又复发了，因为我妹妹说她再也不想见到我，我一直睡不着。"
        await share(rig, said, who="li")
        # a whole sentence: 22 Han characters weigh the 11 words of a shingle
        quote = "你们听说了吗：我上个星期又复发了，因为我妹妹说她再也不想见到我，我一直睡不着"
        [alert] = alerts(await quote_in_lobby(rig, quote))
        assert "from recovery" in alert
        assert "妹妹" not in alert


async def test_private_messages_are_checked_only_when_the_policy_says_so(tmp_path: Path) -> None:
    async with leak_rig(tmp_path / "off") as rig:
        await share(rig)
        assert alerts(await rig.say(f":dm bob {QUOTE}")) == []
    on = policy_with("scan_private_messages: true")
    async with leak_rig(tmp_path / "on", on) as rig:
        await share(rig)
        [alert] = alerts(await rig.say(f":dm bob {QUOTE}"))
        assert "in private chat with bob" in alert


async def test_delete_copy_removes_it_where_the_platform_can(tmp_path: Path) -> None:
    policy = policy_with("actions:\n  delete_copy: true\n  remind_poster: false")
    async with leak_rig(tmp_path, policy) as rig:
        await share(rig)
        out = await quote_in_lobby(rig)
        assert "[#lobby] (bob's message was hidden from the room)" in out
        assert "The copy was removed from the room." in out
        assert "[private → bob]" not in out
        actions = await rig.app.core.handle(posted(LOBBY, "z1", QUOTE, who="dave"))
        [delete] = actions
        assert isinstance(delete, DeleteMessage)
        # the alert says "removed" only once the copy is gone, and says otherwise if not
        [removed] = delete.then
        [standing] = delete.otherwise
        assert isinstance(removed, AlertModerators) and isinstance(standing, AlertModerators)
        assert "The copy was removed from the room." in removed.text
        assert "removed" not in standing.text


async def test_leaks_can_be_switched_off(tmp_path: Path) -> None:
    async with leak_rig(tmp_path, policy_with("enabled: false")) as rig:
        await share(rig)
        assert await rig.app.store.fingerprints() == []
        assert alerts(await quote_in_lobby(rig)) == []
        assert LEAK_POLICY in policy_with("enabled: false")


async def test_hold_for_review_takes_the_copy_down_and_tells_the_poster_the_outcome(
    tmp_path: Path,
) -> None:
    policy = policy_with("actions:\n  hold_for_review: true")
    async with leak_rig(tmp_path, policy) as rig:
        await share(rig)
        out = await quote_in_lobby(rig)
        assert "[#lobby] (bob's message was hidden from the room)" in out
        assert "taken down until a moderator has looked at it" in out
        assert all(word not in out for word in SHARED_WORDS)
        [first] = await rig.app.store.open_flags()
        reviewed = await rig.say(":room lobby", f"mod: /flag false-positive {first.id}")
        assert "[private → bob] A moderator looked at your message in lobby" in reviewed
        assert "found nothing confidential" in reviewed
        # (the false positive stopped those words) another share, quoted: kept down this time
        await share(rig, OTHER_SHARED, who="carol")
        await quote_in_lobby(rig, OTHER_QUOTE, who="dave")
        [second] = await rig.app.store.open_flags()
        kept = await rig.say(":room lobby", f"mod: /flag resolve {second.id}")
        assert "[private → dave] A moderator looked at your message in lobby" in kept
        assert "stays removed" in kept
        assert all(word not in reviewed + kept for word in (*SHARED_WORDS, "interview"))


async def test_without_hold_a_review_sends_the_poster_nothing(tmp_path: Path) -> None:
    async with leak_rig(tmp_path) as rig:
        await share(rig)
        await quote_in_lobby(rig)
        [flag] = await rig.app.store.open_flags()
        out = await rig.say(":room lobby", f"mod: /flag resolve {flag.id}")
        assert "[private → bob]" not in out
