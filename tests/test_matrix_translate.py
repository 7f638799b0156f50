"""The Matrix adapter's pure modules on recorded event shapes, without a homeserver.

Why: these functions decide whether a join reminds someone, what text the leak check sees and
whether a member may post. A homeserver test would hit each rule once at best; recorded payloads
(the JSON Synapse sends in /sync, shapes from the Matrix spec) hit every edge in milliseconds.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.matrix.powers import (
    CannotChangeLevel,
    powers_of,
    send_levels,
    user_level,
    with_posting,
)
from adapters.matrix.translate import (
    PLATFORM,
    event_time,
    member_event,
    membership_transition,
    message_event,
    parse_link,
    parse_links,
    permalink,
    strip_reply_fallback,
)
from bot.events import (
    Member,
    MemberJoined,
    MemberLeft,
    MessageEdited,
    MessagePosted,
    MessageRef,
    Room,
)

BOT = "@confidant:example.org"
ALICE = "@alice:example.org"
MOD = "@mod:example.org"
ROOM_ID = "!covered:example.org"
V12_ROOM_ID = "!31hneApxJ_1o-63DmFrpeqnkFfWppnzWso1JvH3ogLM"  # room v12: no ":server" part
ROOM = Room(PLATFORM, ROOM_ID, name="Recovery circle")
TS = 1_735_689_600_123  # 2025-01-01T00:00:00.123Z
AT = datetime(2025, 1, 1, 0, 0, 0, 123_000, tzinfo=UTC)


# -- recorded shapes ------------------------------------------------------------------------------


def member_payload(
    membership: str,
    *,
    previous: str | None,
    user: str = ALICE,
    sender: str | None = None,
    displayname: str | None = "Alice",
    prev_displayname: str | None = "Alice",
    reason: str | None = None,
) -> dict[str, Any]:
    """An m.room.member event as Synapse puts it in a /sync timeline (prev_content in unsigned)."""
    content: dict[str, Any] = {"membership": membership}
    if displayname is not None and membership == "join":
        content["displayname"] = displayname
    if reason is not None:
        content["reason"] = reason
    unsigned: dict[str, Any] = {"age": 1234}
    if previous is not None:
        prev_content: dict[str, Any] = {"membership": previous}
        if prev_displayname is not None and previous == "join":
            prev_content["displayname"] = prev_displayname
        unsigned |= {
            "prev_content": prev_content,
            "prev_sender": user,
            "replaces_state": "$previousMemberEvent",
        }
    return {
        "type": "m.room.member",
        "state_key": user,
        "sender": sender or user,
        "content": content,
        "event_id": "$memberEvent",
        "origin_server_ts": TS,
        "unsigned": unsigned,
    }


def message_payload(
    body: str | None,
    *,
    sender: str = ALICE,
    event_id: str = "$message",
    formatted_body: str | None = None,
    relates_to: dict[str, Any] | None = None,
    new_content: dict[str, Any] | None = None,
    msgtype: str = "m.text",
) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": msgtype}
    if body is not None:
        content["body"] = body
    if formatted_body is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = formatted_body
    if relates_to is not None:
        content["m.relates_to"] = relates_to
    if new_content is not None:
        content["m.new_content"] = new_content
    return {
        "type": "m.room.message",
        "sender": sender,
        "content": content,
        "event_id": event_id,
        "origin_server_ts": TS,
        "room_id": ROOM_ID,
        "unsigned": {"age": 42},
    }


def posted(source: dict[str, Any], body: str | None = None) -> MessagePosted:
    event = message_event(ROOM, source, BOT, body=body)
    assert isinstance(event, MessagePosted), event
    return event


# -- membership -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "current", "expected"),
    [
        (None, "join", "join"),  # a first join has no prev_content
        ("invite", "join", "join"),
        ("leave", "join", "join"),  # a rejoin is a join again (the core decides re-reminding)
        ("knock", "join", "join"),
        ("join", "join", None),  # display name or avatar change
        ("join", "leave", "leave"),
        ("join", "ban", "leave"),
        ("invite", "leave", None),  # a declined or withdrawn invite never was membership
        ("invite", "ban", None),
        ("leave", "ban", None),
        ("ban", "leave", None),  # an unban gives nothing back
        (None, "invite", None),
        ("leave", "leave", None),
        (None, None, None),
    ],
)
def test_membership_transitions(
    previous: str | None, current: str | None, expected: str | None
) -> None:
    assert membership_transition(previous, current) == expected


def test_invite_then_join_is_a_join_with_name_and_server_time() -> None:
    event = member_event(ROOM, member_payload("join", previous="invite"), BOT)
    assert event == MemberJoined(ROOM, Member(PLATFORM, ALICE, "Alice"), AT)


def test_first_join_without_prev_content_is_a_join() -> None:
    event = member_event(ROOM, member_payload("join", previous=None), BOT)
    assert isinstance(event, MemberJoined)
    assert event.member.id == ALICE


def test_display_name_change_is_not_a_join() -> None:
    source = member_payload("join", previous="join", displayname="Alice A.", prev_displayname="A")
    assert member_event(ROOM, source, BOT) is None


def test_leaving_is_a_leave() -> None:
    event = member_event(ROOM, member_payload("leave", previous="join"), BOT)
    assert event == MemberLeft(ROOM, Member(PLATFORM, ALICE), AT)


def test_kick_by_a_moderator_is_the_member_leaving() -> None:
    source = member_payload("leave", previous="join", sender=MOD, reason="spam")
    event = member_event(ROOM, source, BOT)
    assert isinstance(event, MemberLeft)
    assert event.member.id == ALICE  # the kicked member (state_key), not the kicker


def test_ban_is_a_leave() -> None:
    source = member_payload("ban", previous="join", sender=MOD, reason="broke the promise")
    event = member_event(ROOM, source, BOT)
    assert isinstance(event, MemberLeft)
    assert event.member.id == ALICE


def test_rejected_invite_is_not_a_leave() -> None:
    assert member_event(ROOM, member_payload("leave", previous="invite"), BOT) is None


def test_the_bots_own_membership_is_ignored() -> None:
    assert member_event(ROOM, member_payload("join", previous="invite", user=BOT), BOT) is None
    assert member_event(ROOM, member_payload("leave", previous="join", user=BOT), BOT) is None


def test_non_member_events_and_broken_member_events_are_ignored() -> None:
    message = message_payload("hello")
    assert member_event(ROOM, message, BOT) is None
    no_state_key = member_payload("join", previous="invite")
    del no_state_key["state_key"]
    assert member_event(ROOM, no_state_key, BOT) is None
    no_content = member_payload("join", previous="invite")
    del no_content["content"]
    assert member_event(ROOM, no_content, BOT) is None


def test_event_time_uses_the_server_timestamp_and_falls_back_to_now() -> None:
    assert event_time({"origin_server_ts": TS}) == AT
    before = datetime.now(UTC)
    fallback = event_time({"origin_server_ts": "yesterday"})
    assert before <= fallback <= datetime.now(UTC)


# -- messages ---------------------------------------------------------------------------------


def test_plain_message() -> None:
    event = posted(message_payload("I have been sober for a year"))
    assert event == MessagePosted(
        ROOM, Member(PLATFORM, ALICE), "$message", "I have been sober for a year", AT
    )


def test_decrypted_body_overrides_the_content_body() -> None:
    """nio hands the decrypted text separately; the source may still be the ciphertext's."""
    source = message_payload(None)
    assert posted(source, body="decrypted text").text == "decrypted text"


def test_the_bots_own_messages_are_ignored() -> None:
    assert message_event(ROOM, message_payload("!rules", sender=BOT), BOT) is None


def test_messages_without_text_are_ignored() -> None:
    redacted = message_payload(None)
    redacted["content"] = {}
    assert message_event(ROOM, redacted, BOT) is None
    assert message_event(ROOM, message_payload(None), BOT) is None


# -- replies ----------------------------------------------------------------------------------

REPLY_TO = {"m.in_reply_to": {"event_id": "$original"}}


def test_reply_fallback_is_stripped() -> None:
    source = message_payload(
        "> <@bob:example.org> I relapsed last week\n\nThank you for telling us",
        relates_to=REPLY_TO,
        formatted_body=(
            '<mx-reply><blockquote>In reply to <a href="https://matrix.to/#/@bob:example.org">'
            "@bob:example.org</a><br>I relapsed last week</blockquote></mx-reply>"
            "Thank you for telling us"
        ),
    )
    event = posted(source)
    assert event.text == "Thank you for telling us"
    assert event.reply_to == MessageRef(PLATFORM, ROOM_ID, "$original")


def test_multi_line_reply_fallback_is_stripped_and_the_reply_keeps_its_paragraphs() -> None:
    body = (
        "> <@bob:example.org> first line\n"
        "> second line\n"
        ">\n"
        "> fourth line after an empty quoted line\n"
        "\n"
        "my answer\n\nand a second paragraph\n> with my own quote"
    )
    event = posted(message_payload(body, relates_to=REPLY_TO))
    assert event.text == "my answer\n\nand a second paragraph\n> with my own quote"


def test_emote_reply_fallback_is_stripped() -> None:
    body = "> * <@bob:example.org> waves\n\nhello Bob"
    assert posted(message_payload(body, relates_to=REPLY_TO)).text == "hello Bob"


def test_reply_without_a_fallback_keeps_its_text() -> None:
    """Matrix 1.13 dropped reply fallbacks, so newer clients send the bare reply."""
    event = posted(message_payload("just the reply", relates_to=REPLY_TO))
    assert event.text == "just the reply"
    assert event.reply_to == MessageRef(PLATFORM, ROOM_ID, "$original")


def test_a_quote_in_a_message_that_is_not_a_reply_is_kept() -> None:
    body = "> what someone said elsewhere\n\nmy comment"
    event = posted(message_payload(body))
    assert event.text == body
    assert event.reply_to is None


def test_a_members_own_quote_in_a_fallbackless_reply_is_kept() -> None:
    body = "> we promised to keep this between us\n\nI am quoting this on purpose"
    assert posted(message_payload(body, relates_to=REPLY_TO)).text == body


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("no quote here", "no quote here"),
        ("> <@a:b> quoted\n\nreply", "reply"),
        ("> <@a:b> quoted\nreply right after", "reply right after"),
        ("> <@a:b> only a fallback", ""),
        ("", ""),
    ],
)
def test_strip_reply_fallback(body: str, expected: str) -> None:
    assert strip_reply_fallback(body) == expected


# -- edits --------------------------------------------------------------------------------------


def test_edit_gives_the_new_text_and_the_edited_message() -> None:
    source = message_payload(
        "* I meant to say this",
        event_id="$edit",
        relates_to={"rel_type": "m.replace", "event_id": "$original"},
        new_content={"msgtype": "m.text", "body": "I meant to say this"},
    )
    event = message_event(ROOM, source, BOT, body="* I meant to say this")
    assert event == MessageEdited(
        ROOM, Member(PLATFORM, ALICE), "$original", "I meant to say this", AT
    )


def test_edit_of_a_reply_has_no_fallback_in_the_new_text() -> None:
    source = message_payload(
        "* > <@bob:example.org> quoted\n\nfixed reply",
        relates_to={"rel_type": "m.replace", "event_id": "$reply"},
        new_content={"msgtype": "m.text", "body": "> <@bob:example.org> quoted\n\nfixed reply"},
    )
    event = message_event(ROOM, source, BOT)
    assert isinstance(event, MessageEdited)
    assert event.text == "fixed reply"


def test_edit_without_a_target_is_ignored() -> None:
    source = message_payload("* x", relates_to={"rel_type": "m.replace"}, new_content={"body": "x"})
    assert message_event(ROOM, source, BOT) is None


def test_the_bots_own_edits_are_ignored() -> None:
    source = message_payload(
        "* x",
        sender=BOT,
        relates_to={"rel_type": "m.replace", "event_id": "$original"},
        new_content={"body": "x"},
    )
    assert message_event(ROOM, source, BOT) is None


# -- threads ----------------------------------------------------------------------------------


def test_thread_message_refers_to_the_thread_root() -> None:
    source = message_payload(
        "in the thread", relates_to={"rel_type": "m.thread", "event_id": "$root"}
    )
    event = posted(source)
    assert event.reply_to == MessageRef(PLATFORM, ROOM_ID, "$root")
    assert event.text == "in the thread"


def test_thread_message_with_the_reply_fallback_of_thread_aware_clients_keeps_its_text() -> None:
    source = message_payload(
        "second message in the thread",
        relates_to={
            "rel_type": "m.thread",
            "event_id": "$root",
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": "$latestInThread"},
        },
    )
    event = posted(source)
    assert event.text == "second message in the thread"
    assert event.reply_to is not None
    assert event.reply_to.room_id == ROOM_ID


def test_thread_fallback_reply_points_at_the_thread_root() -> None:
    source = message_payload(
        "> quoting the root\n\nmy thought",
        relates_to={
            "rel_type": "m.thread",
            "event_id": "$root",
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": "$latestInThread"},
        },
    )
    event = posted(source)
    assert event.reply_to == MessageRef(PLATFORM, ROOM_ID, "$root")
    assert event.text == "> quoting the root\n\nmy thought"


def test_explicit_reply_inside_a_thread_refers_to_the_answered_message() -> None:
    source = message_payload(
        "> <@bob:example.org> that\n\nanswer",
        relates_to={
            "rel_type": "m.thread",
            "event_id": "$root",
            "is_falling_back": False,
            "m.in_reply_to": {"event_id": "$answered"},
        },
    )
    event = posted(source)
    assert event.reply_to == MessageRef(PLATFORM, ROOM_ID, "$answered")
    assert event.text == "answer"


# -- permalinks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "room", "event"),
    [
        (
            "https://matrix.to/#/!room:example.org/$event?via=example.org",
            "!room:example.org",
            "$event",
        ),
        ("https://matrix.to/#/!room:example.org", "!room:example.org", None),
        ("https://matrix.to/#/!room:example.org?via=example.org", "!room:example.org", None),
        (
            "https://matrix.to/#/%21room%3Aexample.org/%24event?via=example.org",
            "!room:example.org",
            "$event",
        ),
        ("https://matrix.to/#/#recovery:example.org", "#recovery:example.org", None),
        ("https://matrix.to/#/%23recovery%3Aexample.org/$ev", "#recovery:example.org", "$ev"),
        ("https://matrix.to/#/!room:example.org:8448/$event", "!room:example.org:8448", "$event"),
        ("HTTPS://MATRIX.TO/#/!room:example.org/$event", "!room:example.org", "$event"),
        ("http://matrix.to/#/!room:example.org/$event", "!room:example.org", "$event"),
        ("https://matrix.to/#/!room:example.org/$event.", "!room:example.org", "$event"),
        ("matrix:roomid/room:example.org/e/event?via=example.org", "!room:example.org", "$event"),
        ("matrix:roomid/room:example.org", "!room:example.org", None),
        ("matrix:roomid/room%3Aexample.org/e/ev%2Bent", "!room:example.org", "$ev+ent"),
        ("matrix:r/recovery:example.org/e/event", "#recovery:example.org", "$event"),
        ("matrix:r/recovery:example.org?action=join", "#recovery:example.org", None),
        ("MATRIX:r/recovery:example.org", "#recovery:example.org", None),
    ],
)
def test_parse_link(link: str, room: str, event: str | None) -> None:
    assert parse_link(link) == MessageRef(PLATFORM, room, event)


@pytest.mark.parametrize(
    "junk",
    [
        "https://matrix.to/#/",
        "https://matrix.to/",
        "https://matrix.to/#/@alice:example.org",  # a user, not a room
        "https://matrix.to/#/$event:example.org",
        "https://matrix.to/#/room:example.org/$event",  # no sigil
        "https://matrix.to/#/#nocolon",
        "matrix:",
        "matrix:roomid",
        "matrix:roomid/",
        "matrix:u/alice:example.org",
        "matrix:x/room:example.org/e/event",
        "matrix:r/nocolon",
    ],
)
def test_junk_links_do_not_parse_as_rooms(junk: str) -> None:
    assert parse_link(junk) is None


def test_an_event_marker_without_an_event_links_to_the_room() -> None:
    ref = parse_link("matrix:r/recovery:example.org/e/")
    assert ref == MessageRef(PLATFORM, "#recovery:example.org", None)


V12_LINKS = [
    (f"https://matrix.to/#/{V12_ROOM_ID}/$event?via=example.org", "$event"),
    (f"https://matrix.to/#/{V12_ROOM_ID}", None),
    (f"https://matrix.to/#/%21{V12_ROOM_ID[1:]}/%24event", "$event"),
    (f"matrix:roomid/{V12_ROOM_ID[1:]}/e/event?via=example.org", "$event"),
]


@pytest.mark.parametrize(("link", "event"), V12_LINKS)
def test_parse_link_v12_room_ids(link: str, event: str | None) -> None:
    assert parse_link(link) == MessageRef(PLATFORM, V12_ROOM_ID, event)


def test_links_in_body_and_html_are_found_once_each_in_order() -> None:
    first = "https://matrix.to/#/!room:example.org/$first?via=example.org"
    source = message_payload(
        f"see {first}, and matrix:r/recovery:example.org/e/second. Also "
        "https://matrix.to/#/@alice:example.org and https://example.org/#/!x:y",
        formatted_body=(
            f'see <a href="{first}&amp;via=other.org">this</a>, and '
            '<a href="matrix:r/recovery:example.org/e/second">that</a>; '
            "(https://matrix.to/#/!third:example.org)"
        ),
    )
    assert posted(source).links == (
        MessageRef(PLATFORM, "!room:example.org", "$first"),
        MessageRef(PLATFORM, "#recovery:example.org", "$second"),
        MessageRef(PLATFORM, "!third:example.org", None),
    )


def test_parse_links_skips_junk_and_duplicates() -> None:
    text = (
        "matrix: https://matrix.to/#/ https://matrix.to/#/!a:b/$c "
        "[same](https://matrix.to/#/!a:b/$c) matrix:roomid/a:b/e/c"
    )
    assert parse_links(text) == (MessageRef(PLATFORM, "!a:b", "$c"),)


def test_a_message_without_links_has_none() -> None:
    assert posted(message_payload("nothing to see, matrix.to is a site")).links == ()


def test_links_in_the_html_reply_fallback_are_not_the_repliers() -> None:
    source = message_payload(
        "> <@bob:example.org> look at https://matrix.to/#/!elsewhere:example.org\n\nok",
        relates_to=REPLY_TO,
        formatted_body=(
            '<mx-reply><blockquote><a href="https://matrix.to/#/!covered:example.org/$original">'
            'In reply to</a> <a href="https://matrix.to/#/@bob:example.org">@bob:example.org</a>'
            "<br>look at https://matrix.to/#/!elsewhere:example.org</blockquote></mx-reply>ok"
        ),
    )
    assert posted(source).links == ()


def test_permalink_round_trips() -> None:
    assert permalink(ROOM_ID) == "https://matrix.to/#/!covered:example.org"
    link = permalink(ROOM_ID, "$event")
    assert link == "https://matrix.to/#/!covered:example.org/$event"
    assert parse_link(link) == MessageRef(PLATFORM, ROOM_ID, "$event")


# -- power levels -----------------------------------------------------------------------------

# What Synapse writes for a public_chat room whose creator gave the bot 50 and let 50 change
# power levels (room v12: the creator is not listed, creators have unlimited power).
LEVELS: dict[str, Any] = {
    "users": {BOT: 50},
    "users_default": 0,
    "events": {
        "m.room.name": 50,
        "m.room.power_levels": 50,
        "m.room.history_visibility": 100,
        "m.room.canonical_alias": 50,
        "m.room.avatar": 50,
        "m.room.tombstone": 150,
        "m.room.server_acl": 100,
        "m.room.encryption": 100,
    },
    "events_default": 0,
    "state_default": 50,
    "ban": 50,
    "kick": 50,
    "redact": 50,
    "invite": 0,
    "historical": 100,
}


def levels(**changes: Any) -> dict[str, Any]:
    content = copy.deepcopy(LEVELS)
    for key, value in changes.items():
        if value is None:
            content.pop(key, None)
        else:
            content[key] = value
    return content


def test_bot_with_enough_power_may_do_everything() -> None:
    powers = powers_of(LEVELS, BOT)
    assert (powers.can_delete, powers.can_restrict_posting, powers.missing) == (True, True, ())


def test_bot_below_redact_may_not_delete() -> None:
    powers = powers_of(levels(redact=75), BOT)
    assert not powers.can_delete
    assert powers.can_restrict_posting
    assert powers.missing == ("power level 75 to remove messages (I have 50)",)


def test_bot_below_the_power_levels_event_level_may_not_restrict() -> None:
    content = levels()
    content["events"]["m.room.power_levels"] = 100
    powers = powers_of(content, BOT)
    assert powers.can_delete
    assert not powers.can_restrict_posting
    assert powers.missing == ("power level 100 to change members' power levels (I have 50)",)


def test_power_levels_event_level_falls_back_to_state_default() -> None:
    content = levels(state_default=60)
    del content["events"]["m.room.power_levels"]
    assert not powers_of(content, BOT).can_restrict_posting
    content["state_default"] = 50
    assert powers_of(content, BOT).can_restrict_posting


def test_bot_at_users_default_cannot_lower_members() -> None:
    """Everyone at the bot's own level cannot be changed by it (Matrix auth rules)."""
    content = levels(users={}, users_default=50)
    powers = powers_of(content, BOT)
    assert powers.can_delete
    assert not powers.can_restrict_posting
    assert powers.missing == ("power level 51 to change members' power levels (I have 50)",)


def test_unlisted_bot_in_a_room_with_missing_keys_lacks_everything() -> None:
    """Absent keys take the spec's defaults: redact 50, state_default 50, users_default 0."""
    powers = powers_of({}, BOT)
    assert (powers.can_delete, powers.can_restrict_posting) == (False, False)
    assert powers.missing == (
        "power level 50 to remove messages (I have 0)",
        "power level 50 to change members' power levels (I have 0)",
    )


def test_malformed_levels_are_treated_as_absent() -> None:
    content = levels(users={BOT: True}, redact="0", users_default=None)
    assert user_level(content, BOT) == 0
    assert not powers_of(content, BOT).can_delete


def test_send_levels_cover_plain_and_encrypted_messages() -> None:
    assert send_levels(LEVELS) == (0, 0)
    assert send_levels(levels(events={"m.room.encrypted": 10}, events_default=0)) == (0, 10)
    assert send_levels(levels(events={"m.room.message": 20}, events_default=5)) == (5, 20)
    assert send_levels({}) == (0, 0)


def test_restricting_a_member_sets_one_below_the_send_level() -> None:
    original = copy.deepcopy(LEVELS)
    updated = with_posting(LEVELS, BOT, ALICE, allowed=False)
    assert updated is not None
    assert updated["users"] == {BOT: 50, ALICE: -1}
    assert {k: v for k, v in updated.items() if k != "users"} == {
        k: v for k, v in LEVELS.items() if k != "users"
    }
    assert original == LEVELS  # the input is not mutated


def test_allowing_again_restores_the_send_level_explicitly() -> None:
    restricted = with_posting(LEVELS, BOT, ALICE, allowed=False)
    assert restricted is not None
    allowed = with_posting(restricted, BOT, ALICE, allowed=True)
    assert allowed is not None
    assert allowed["users"] == {BOT: 50, ALICE: 0}


def test_already_as_wanted_is_no_change() -> None:
    assert with_posting(LEVELS, BOT, ALICE, allowed=True) is None
    restricted = with_posting(LEVELS, BOT, ALICE, allowed=False)
    assert restricted is not None
    assert with_posting(restricted, BOT, ALICE, allowed=False) is None
    assert with_posting(LEVELS, BOT, BOT, allowed=False) is None


def test_member_outranking_the_bot_cannot_be_restricted() -> None:
    content = levels(users={BOT: 50, MOD: 50})
    with pytest.raises(CannotChangeLevel):
        with_posting(content, BOT, MOD, allowed=False)
    content = levels(users={BOT: 50, MOD: 100})
    with pytest.raises(CannotChangeLevel):
        with_posting(content, BOT, MOD, allowed=False)


def test_bot_that_may_not_change_levels_raises() -> None:
    content = levels()
    content["events"]["m.room.power_levels"] = 100
    with pytest.raises(CannotChangeLevel):
        with_posting(content, BOT, ALICE, allowed=False)
    with pytest.raises(CannotChangeLevel):
        with_posting(levels(users={}), BOT, ALICE, allowed=True)


def test_encrypted_room_event_level_is_respected_both_ways() -> None:
    content = levels(events={"m.room.power_levels": 50, "m.room.encrypted": 10})
    restricted = with_posting(content, BOT, ALICE, allowed=False)
    assert restricted is not None
    assert restricted["users"][ALICE] == -1  # below the plain message level too
    allowed = with_posting(restricted, BOT, ALICE, allowed=True)
    assert allowed is not None
    assert allowed["users"][ALICE] == 10  # may post encrypted messages again
    assert with_posting(allowed, BOT, ALICE, allowed=True) is None


def test_restriction_follows_a_raised_message_level() -> None:
    content = levels(events={"m.room.power_levels": 50, "m.room.message": 20}, events_default=20)
    restricted = with_posting(content, BOT, ALICE, allowed=False)
    assert restricted is None  # at users_default 0 Alice cannot post anyway
    allowed = with_posting(content, BOT, ALICE, allowed=True)
    assert allowed is not None
    assert allowed["users"][ALICE] == 20


def test_allowing_a_member_who_outranks_the_bot_raises() -> None:
    content = levels(users={BOT: 50, MOD: 60}, events_default=100)
    with pytest.raises(CannotChangeLevel):
        with_posting(content, BOT, MOD, allowed=True)


def test_bot_never_grants_more_than_its_own_level() -> None:
    content = levels(users={BOT: 50, ALICE: -1}, events_default=100)
    allowed = with_posting(content, BOT, ALICE, allowed=True)
    assert allowed is not None
    assert allowed["users"][ALICE] == 50
