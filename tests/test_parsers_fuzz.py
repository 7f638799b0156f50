"""Property tests of everything that reads text a person typed or a platform sent.

Every parser either gives an answer or its documented error (UsageError, ScheduleError,
PolicyLoadError); any other exception is a crash some member could trigger on purpose.
Where ids go into a link and come back out of it, they must come back unchanged. Finally
random lines go through a whole console bot, which must still answer ``/rules``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import string
from datetime import UTC, datetime, time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.console import ConsoleAdapter
from adapters.discord import translate as discord_translate
from adapters.matrix import translate as matrix_translate
from adapters.matrix.client import MatrixAdapter
from bot import schedules
from bot.app import build_registry
from bot.builtin_commands import CHECKIN_SCHEDULE
from bot.clock import FakeClock
from bot.commands import CommandSpec, ParsedCommand, UsageError, bind
from bot.config import MatrixConfig
from bot.events import CommandInvoked, Member, MessagePosted, MessageRef, PrivateReply, Room
from bot.leaks import Fingerprinter, normalize, tokenize
from bot.policy import PolicyLoadError, load_policy_text
from bot.schedules import Schedule, ScheduleError
from tests.checkin_rig import CHECKIN_POLICY
from tests.conftest import make_config, start_rig, write_policy

REGISTRY = build_registry()
SPECS = list(REGISTRY)
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

FAST = settings(max_examples=120, deadline=None)
SLOW = settings(max_examples=60, deadline=None)

any_text = st.text(max_size=200)
# Arguments that survive shell-style splitting unchanged: no quotes, backslashes or spaces.
arg = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.,:;@#!/+=?&%*", min_size=1, max_size=16
)
args = st.lists(arg, max_size=4)
gap = st.sampled_from([" ", "  ", "\t", " \t "])
prefixes = st.one_of(
    st.sampled_from(["/", "!", "!!", ".", "confidant:"]),
    st.text(alphabet=string.punctuation + string.ascii_letters, min_size=1, max_size=3),
)


def command_line(prefix: str, spec: CommandSpec, argv: list[str], sep: str) -> str:
    return prefix + sep.join([spec.name.replace(" ", sep), *argv])


# Small numbers, and numbers past the 64-bit integers the store can look up.
numbers = st.one_of(
    st.integers(-1000, 1000), st.integers(2**63 - 2, 2**80), st.integers(-(2**80), 2 - 2**63)
).map(str)
# What commands are given: every declared choice, numbers of any size, anything at all.
command_args = st.lists(
    st.one_of(
        st.sampled_from(sorted({c for s in SPECS for p in s.params for c in p.choices})),
        numbers,
        arg,
        any_text,
    ),
    max_size=3,
)


# -- the command registry -------------------------------------------------------------------------


@FAST
@given(spec=st.sampled_from(SPECS), argv=args, sep=gap, prefix=prefixes)
def test_every_command_parses_back_with_its_arguments(
    spec: CommandSpec, argv: list[str], sep: str, prefix: str
) -> None:
    line = command_line(prefix, spec, argv, sep)
    assert REGISTRY.parse_text(line, prefix) == ParsedCommand(spec, tuple(argv))
    assert REGISTRY.unknown_command(line, prefix) is None


@FAST
@given(line=any_text, prefix=prefixes)
def test_any_line_is_a_command_or_not_never_a_crash(line: str, prefix: str) -> None:
    parsed = REGISTRY.parse_text(line, prefix)
    unknown = REGISTRY.unknown_command(line, prefix)
    if parsed is not None:
        assert parsed.spec in SPECS and line.startswith(prefix)
        assert unknown is None
    if unknown is not None:
        # one word, or a group's word and a word that names none of its commands
        first, *rest = unknown.split(" ")
        assert first and (not rest or (len(rest) == 1 and REGISTRY.is_group(first) and rest[0]))


@FAST
@given(
    spec=st.sampled_from(SPECS),
    argv=command_args,
    options=st.dictionaries(
        st.sampled_from(["id", "limit", "hours", "name", "x"]), any_text, max_size=2
    ),
)
def test_binding_arguments_fails_only_with_usage_errors(
    spec: CommandSpec, argv: list[str], options: dict[str, str]
) -> None:
    try:
        values = bind(spec, tuple(argv), options)
    except UsageError as error:
        assert str(error)
        return
    assert set(values) == {param.name for param in spec.params}
    for param in spec.params:
        value = values[param.name]
        assert value is None or isinstance(value, param.kind)
        if isinstance(value, int):
            assert abs(value) < 2**63  # the store can look it up


INT_SLOTS = [(s, i) for s in SPECS for i, p in enumerate(s.params) if p.kind is int]
around_the_limit = st.one_of(
    st.integers(-(10**6), 10**6), st.integers(2**62, 2**100), st.integers(-(2**100), -(2**62))
)


@FAST
@given(slot=st.sampled_from(INT_SLOTS), number=around_the_limit)
def test_number_arguments_stay_within_what_the_store_holds(
    slot: tuple[CommandSpec, int], number: int
) -> None:
    spec, index = slot
    before = [p.choices[0] if p.choices else "x" for p in spec.params[:index]]
    # required parameters after the number (the text of "/answer <id> <text>") get a value
    after = [
        p.choices[0] if p.choices else "1" if p.kind is int else "x"
        for p in spec.params[index + 1 :]
        if p.required
    ]
    try:
        values = bind(spec, (*before, str(number), *after))
    except UsageError as error:
        assert abs(number) >= 2**63, error
        return
    assert values[spec.params[index].name] == number
    assert abs(number) < 2**63


# -- the Matrix "!" prefix ------------------------------------------------------------------------


def matrix_adapter(prefix: str) -> MatrixAdapter:
    config = MatrixConfig(
        homeserver="https://matrix.example.org",
        user_id="@confidant:example.org",
        password="not used",
        command_prefix=prefix,
    )
    return MatrixAdapter(config, REGISTRY, FakeClock())


MATRIX_ROOM = Room("matrix", "!circle:example.org", "circle")
MATRIX_DM = Room("matrix", "!dm:example.org", "private chat", is_private_chat=True)
ALICE = Member("matrix", "@alice:example.org")


@FAST
@given(prefix=prefixes, body=any_text, private=st.booleans())
def test_matrix_messages_become_commands_replies_or_posts(
    prefix: str, body: str, private: bool
) -> None:
    room = MATRIX_DM if private else MATRIX_ROOM
    posted = MessagePosted(room, ALICE, "$event", body, AT)
    event = matrix_adapter(prefix)._command_or_message(posted)
    if isinstance(event, CommandInvoked):
        assert body.strip().startswith(prefix)
    elif private:
        assert event == PrivateReply(room, ALICE, body, AT, message_id="$event")
    else:
        assert event is posted


@FAST
@given(prefix=prefixes, spec=st.sampled_from(SPECS), argv=args, sep=gap)
def test_matrix_commands_keep_their_name_and_arguments(
    prefix: str, spec: CommandSpec, argv: list[str], sep: str
) -> None:
    body = command_line(prefix, spec, argv, sep)
    event = matrix_adapter(prefix)._command_or_message(
        MessagePosted(MATRIX_ROOM, ALICE, "$event", body, AT)
    )
    assert isinstance(event, CommandInvoked)
    assert (event.name, event.argv) == (spec.name, tuple(argv))


# -- the console line parser ----------------------------------------------------------------------


console_lines = st.one_of(
    any_text,
    st.builds(lambda u, t: f"{u}: {t}", st.sampled_from(["alice", "mod", "sam"]), any_text),
    st.builds(
        lambda d, t: f":{d} {t}",
        st.sampled_from(
            ["room", "join", "leave", "mod", "dm", "press", "dms-closed", "help", "nope"]
        ),
        any_text,
    ),
)


def test_console_lines_never_crash_the_console() -> None:
    events: list[object] = []

    async def sink(event: object) -> None:
        events.append(event)

    with asyncio.Runner() as runner:
        console = ConsoleAdapter(REGISTRY, FakeClock(), out=io.StringIO())
        runner.run(console.start(sink))

        @SLOW
        @given(lines=st.lists(console_lines, min_size=1, max_size=10))
        def feed(lines: list[str]) -> None:
            for line in lines:
                assert runner.run(console.feed(line)) in (True, False)

        @FAST
        @given(spec=st.sampled_from(SPECS), argv=args, sep=gap, user=st.sampled_from(["a", "bo"]))
        def command(spec: CommandSpec, argv: list[str], sep: str, user: str) -> None:
            runner.run(console.feed(f"{user}: " + command_line("/", spec, argv, sep)))
            last = events[-1]
            assert isinstance(last, CommandInvoked)
            assert (last.invoker.id, last.name, last.argv) == (user, spec.name, tuple(argv))

        feed()
        command()
    assert events


# -- the leak text normaliser ---------------------------------------------------------------------


FINGERPRINTER = Fingerprinter(b"k" * 32)
markup = st.sampled_from(
    [
        "> ",
        "**",
        "_",
        "~~",
        "`",
        "```py\n",
        "||",
        "[",
        "](https://x.example/a(b))",
        "<@123>",
        "<mx-reply>",
        "</mx-reply>",
        "\r\n",
        "\u200b",
        "\ufe0f",
        "\u0651",
        "ǰ",
        "ﬁ",
        "İ",
        "ß",
    ]
)
chat_text = st.one_of(any_text, st.lists(st.one_of(markup, any_text), max_size=12).map("".join))


@FAST
@given(text=chat_text)
def test_normaliser_is_total_and_stable(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once  # a quote of a quote is still the same words
    assert once == " ".join(once.split())
    tokens = tokenize(once)
    assert all(token and not any(c.isspace() for c in token) for token in tokens)
    FINGERPRINTER.fingerprints(text)


# -- link and permalink parsers -------------------------------------------------------------------

server = st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}(:[0-9]{1,5})?", fullmatch=True)
opaque = st.text(alphabet=string.ascii_letters + string.digits + "._=-", min_size=1, max_size=18)
room_id = st.one_of(
    st.builds(lambda o, s: f"!{o}:{s}", opaque, server),
    # room version 12: "!" and a hash, no server
    st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=43, max_size=43).map(
        lambda h: "!" + h
    ),
)
alias = st.builds(lambda o, s: f"#{o}:{s}", opaque, server)
# Room versions 1-2 ("$opaque:server"), 3 (standard base64) and 4+ (URL-safe base64).
event_id = st.one_of(
    st.builds(lambda o, s: f"${o}:{s}", opaque, server),
    st.text(alphabet=string.ascii_letters + string.digits + "+/", min_size=43, max_size=43).map(
        lambda h: "$" + h
    ),
    st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=43, max_size=43).map(
        lambda h: "$" + h
    ),
)
surroundings = st.sampled_from(["{}", "see {} please", "({})", "<{}>", "{}.", "“{}”", "a\n{}\nb"])


@FAST
@given(text=any_text)
def test_matrix_link_parser_is_total(text: str) -> None:
    for ref in matrix_translate.parse_links(text):
        assert ref.platform == "matrix" and ref.room_id[:1] in ("!", "#")
    matrix_translate.parse_link(text)
    matrix_translate.strip_reply_fallback(text)


@FAST
@given(
    room=st.one_of(room_id, alias),
    event=st.none() | event_id,
    via=st.none() | server,
    around=surroundings,
)
def test_matrix_permalink_round_trip(
    room: str, event: str | None, via: str | None, around: str
) -> None:
    link = matrix_translate.permalink(room, event, via)
    assert matrix_translate.parse_links(around.format(link)) == (MessageRef("matrix", room, event),)


@FAST
@given(room=st.one_of(room_id, alias), event=st.none() | event_id, around=surroundings)
def test_matrix_uri_round_trip(room: str, event: str | None, around: str) -> None:
    kind = "roomid" if room.startswith("!") else "r"
    uri = f"matrix:{kind}/{quote(room[1:], safe=':')}"
    if event is not None:
        uri += f"/e/{quote(event[1:], safe=':')}"
    uri += "?via=example.org"
    assert matrix_translate.parse_links(around.format(uri)) == (MessageRef("matrix", room, event),)


@FAST
@given(body=any_text, html=st.none() | any_text, reply=st.booleans())
def test_matrix_message_translation_is_total(body: str, html: str | None, reply: bool) -> None:
    content: dict[str, object] = {"msgtype": "m.text", "body": body}
    if html is not None:
        content["formatted_body"] = html
    if reply:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": "$original"}}
    source = {
        "sender": "@alice:example.org",
        "event_id": "$e",
        "content": content,
        "origin_server_ts": 1_700_000_000_000,
    }
    event = matrix_translate.message_event(MATRIX_ROOM, source, "@confidant:example.org")
    assert isinstance(event, MessagePosted)


snowflake = st.integers(min_value=0, max_value=2**64 - 1)


@FAST
@given(text=any_text)
def test_discord_link_parser_is_total(text: str) -> None:
    for ref in discord_translate.parse_message_links(text):
        assert ref.platform == "discord" and ref.room_id.isdigit()


@FAST
@given(
    guild=st.none() | snowflake,
    channel=snowflake,
    message=snowflake,
    around=surroundings,
    host=st.sampled_from(["discord.com", "ptb.discord.com", "canary.discord.com"]),
)
def test_discord_message_link_round_trip(
    guild: int | None, channel: int, message: int, around: str, host: str
) -> None:
    link = discord_translate.jump_link(guild, channel, str(message))
    link = link.replace("discord.com", host, 1)
    assert discord_translate.parse_message_links(around.format(link + " " + link)) == (
        MessageRef("discord", str(channel), str(message)),
    )


# -- /checkin schedule ----------------------------------------------------------------------------

zones = st.one_of(
    any_text,
    st.sampled_from(
        [
            "Europe/Berlin",
            "UTC",
            "../../etc/passwd",
            "/etc/localtime",
            "Europe",
            "a" * 300,
            "Europe/Berlin\x00",
            "zone.tab",
            "Factory",
            "\ud800",
            " ",
            "",
        ]
    ),
)
days_text = st.one_of(
    any_text,
    st.lists(
        st.sampled_from(["mon", "tue", "Wed", "fri-mon", "weekdays", "daily", ",", "-", "x"]),
        max_size=5,
    ).map(",".join),
)
time_text = st.one_of(
    any_text, st.from_regex(r"[0-9]{1,3}([:.h][0-9]{1,3})? ?(am|pm|a\.m\.|p\.m\.)?", fullmatch=True)
)


@FAST
@given(days=days_text, at=time_text, zone=zones)
def test_schedule_arguments_fail_only_with_schedule_errors(days: str, at: str, zone: str) -> None:
    """What ``/checkin schedule <days> <time> <zone>`` does with its three arguments."""
    try:
        schedule = Schedule(schedules.parse_days(days), schedules.parse_time(at), zone.strip())
    except ScheduleError as error:
        assert str(error)
        return
    assert schedule.days and schedule.local_time.tzinfo is None


@FAST
@given(argv=st.lists(st.text(max_size=30), max_size=5))
def test_schedule_command_arguments_bind_or_explain(argv: list[str]) -> None:
    try:
        values = bind(CHECKIN_SCHEDULE, tuple(argv))
    except UsageError:
        return
    assert all(isinstance(values[name], str) for name in ("days", "time", "zone"))


@FAST
@given(hour=st.integers(0, 23), minute=st.integers(0, 59), style=st.sampled_from(["24", "12"]))
def test_schedule_times_round_trip(hour: int, minute: int, style: str) -> None:
    if style == "24":
        text = f"{hour:02d}:{minute:02d}"
    else:
        text = f"{(hour - 1) % 12 + 1}:{minute:02d}{'pm' if hour >= 12 else 'am'}"
    assert schedules.parse_time(text) == time(hour, minute)


# -- the policy loader ----------------------------------------------------------------------------

yaml_ish = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "rooms:",
                "  - platform: console",
                "    name: r",
                "reminder:",
                "  text: hi",
                "- ",
                "&a ",
                "*a",
                "[",
                "]",
                "{",
                "}",
                "? ",
                ": ",
                "!!int ",
                "!!float ",
                "!x ",
                "---",
                "...",
                "%YAML 1.2",
                "\t",
                "\ufeff",
                "'",
                '"',
                "\\ud800",
                "0x",
                "9" * 30,
                ".nan",
                "<<: *a",
                "#",
                "|",
                ">-",
                "\x85",
                "\u2028",
            ]
        ),
        st.text(max_size=10),
    ),
    max_size=30,
).map(lambda parts: "".join(p if i % 3 else p + "\n" for i, p in enumerate(parts)))


with_surrogates = st.text(st.characters(exclude_categories=()), max_size=100)


@FAST
@given(source=st.one_of(any_text, yaml_ish, st.binary(max_size=300), with_surrogates))
@example(source="rooms: 0x" + "f" * 4000)  # once a ValueError from int-to-text conversion
@example(source="reminder: {text: !!float 0x" + "f" * 300 + "}")  # once an OverflowError
@example(source="reminder: {text: \ud800}")  # once a UnicodeEncodeError
def test_policy_loader_only_ever_raises_policy_load_error(source: str | bytes) -> None:
    try:
        load_policy_text(source, "policies/fuzz.yaml")
    except PolicyLoadError as error:
        assert error.errors
        for item in error.errors:
            assert item.path == "policies/fuzz.yaml" and item.line >= 1 and item.column >= 1
            str(item).encode("utf-8")  # printable to any terminal and log


# -- the whole bot --------------------------------------------------------------------------------

users = st.sampled_from(["alice", "bob", "mod", "sam", "sue"])
member_lines = st.one_of(
    st.builds(lambda u, t: f"{u}: {t}", users, any_text),
    st.builds(
        lambda u, s, a: f"{u}: " + command_line("/", s, a, " "),
        users,
        st.sampled_from(SPECS),
        command_args,
    ),
    st.builds(lambda u, t: f":dm {u} {t}", users, any_text),
    st.builds(
        lambda u, s, a: f":dm {u} " + command_line("/", s, a, " "),
        users,
        st.sampled_from(SPECS),
        command_args,
    ),
    st.builds(lambda d, u: f":{d} {u}", st.sampled_from(["join", "leave", "dms-closed"]), users),
    st.builds(lambda u, t: f":press {u} {t}", users, any_text),
    st.sampled_from([":room supporters", ":room recovery", ":room elsewhere"]),
)


def test_random_members_never_break_the_bot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Random posts, private messages and commands from members, moderators and supporters;
    no handler may fail, and the room's rules are still answered afterwards."""
    write_policy(tmp_path / "policies", CHECKIN_POLICY)
    caplog.set_level(logging.ERROR)
    with asyncio.Runner() as runner:
        rig = runner.run(start_rig(make_config(tmp_path)))
        try:

            @settings(
                max_examples=80,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(lines=st.lists(member_lines, min_size=1, max_size=12))
            @example(lines=[f"mod: /flag resolve {2**70}", f"sam: /claim {2**64}"])
            @example(lines=[f"mod: /audit {-(2**63)}", f":dm alice /checkin snooze {2**90}"])
            def traffic(lines: list[str]) -> None:
                caplog.clear()  # each example judged on its own, so shrinking stays honest
                runner.run(rig.say(*lines))
                failures = [r for r in caplog.records if r.exc_info is not None]
                assert not failures, failures[0].getMessage()
                answer = runner.run(rig.say(":room recovery", "checker: /rules"))
                assert "[only checker sees, #recovery] Confidentiality reminder" in answer
                assert "What is shared here stays here." in answer

            traffic()
        finally:
            runner.run(rig.app.close())
