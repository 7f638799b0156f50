"""Structured logs: every line parses as logfmt or JSON, carries an event name and ids where
it matters, and never what a member wrote, even when an exception quotes it."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import logs
from bot.config import ConfigError, load_config
from tests.checkin_rig import CHECKIN_POLICY, checkin_rig, dm, private_to
from tests.conftest import write_policy
from tests.test_leak_canary import CANARY, leaked_words

ROOT = Path(__file__).resolve().parents[1]
PARSERS: dict[str, Callable[[str], dict[str, object]]] = {
    "logfmt": logs.parse_logfmt,  # type: ignore[dict-item]
    "json": json.loads,
}
# keys a record already has, or that the formatter writes itself
RESERVED = {"ts", "level", "logger", "event", "message", "asctime", "taskName"} | set(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__
)
CANARY_ANSWER = "zanzibar marmalade accordions " + CANARY.split(" ", 3)[3]


@pytest.fixture
def capture() -> Iterator[Callable[[str, str], io.StringIO]]:
    """Configure logging into a buffer; the root logger is put back as it was after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    def configure(fmt: str, level: str = "DEBUG") -> io.StringIO:
        buffer = io.StringIO()
        logs.configure(level, buffer, fmt)  # type: ignore[arg-type]
        return buffer

    yield configure
    root.handlers[:], level = saved
    root.setLevel(level)
    logging.captureWarnings(False)


def parsed(buffer: io.StringIO, fmt: str) -> list[dict[str, object]]:
    lines = buffer.getvalue().splitlines()
    assert lines, "something was logged"
    return [PARSERS[fmt](line) for line in lines]


def with_event(records: list[dict[str, object]], event: str) -> list[dict[str, object]]:
    return [r for r in records if r.get("event") == event]


# -- the whole flow, with a canary in posts and check-in answers ---------------------------


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
async def test_a_console_scenario_logs_events_and_ids_but_no_canary(
    fmt: str, tmp_path: Path, capture: Callable[[str], io.StringIO]
) -> None:
    buffer = capture(fmt)
    async with checkin_rig(tmp_path) as rig:
        out = await rig.say(":room recovery", ":join alice", f"alice: {CANARY}")
        assert "[private → alice]" in out  # the reminder went out
        out = await rig.say(":room lobby", f"bob: you won't believe it: {CANARY.lower()}!")
        # a check-in whose answers carry the canary: one not understood, one a text answer
        out = await rig.say(*dm("alice", "/checkin", "agree", CANARY, "4", "y", "friends"))
        assert "did not understand" in private_to("alice", out)
        out = await rig.say(*dm("alice", CANARY_ANSWER))
        assert "Thank you for checking in" in out
        policy = tmp_path / "policies" / "circle.yaml"
        policy.write_text(CHECKIN_POLICY.replace("stays here.", "stays in the room."))
        await rig.app.runtime.poll_policies()
        policy.write_text("name: [unclosed\n")
        await rig.app.runtime.poll_policies()

    records = parsed(buffer, fmt)
    text = buffer.getvalue()
    assert leaked_words(text) == []
    assert "zanzibar" not in text.casefold()
    for record in records:
        assert {"ts", "level", "logger", "msg"} <= record.keys(), record
        assert str(record["ts"]).endswith("Z") and record["level"] in {
            "debug", "info", "warning", "error", "critical"
        }
    # alice's reminder on joining, and again when the reload changed the text
    reminders = with_event(records, "reminder_sent")
    assert [(r["platform"], r["room"], r["member"]) for r in reminders] == [
        ("console", "recovery", "alice")
    ] * 2
    reminder = reminders[0]
    assert reminder["logger"] == "confidant.core" and reminder["level"] == "info"
    [flag] = with_event(records, "flag_raised")
    assert (flag["room"], flag["source_room"], flag["member"]) == ("lobby", "recovery", "bob")
    [started] = with_event(records, "checkin_started")
    [completed] = with_event(records, "checkin_completed")
    assert str(started["checkin"]) == str(completed["checkin"])
    assert "member" not in started and "member" not in completed  # who checks in is private
    [reloaded] = with_event(records, "policy_reloaded")
    assert reloaded["policies"] == "circle"
    assert with_event(records, "policy_reload_failed")


async def test_the_canary_check_sees_a_leak(
    tmp_path: Path, capture: Callable[[str], io.StringIO]
) -> None:
    """Guard: the scenario's check would catch a canary that did reach a log line."""
    buffer = capture("logfmt")
    logging.getLogger("confidant.core").info("oops %s", CANARY)
    assert leaked_words(buffer.getvalue()) != []


# -- the formatters ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_percent_style_calls_and_fields_both_work(
    fmt: str, capture: Callable[[str], io.StringIO]
) -> None:
    buffer = capture(fmt)
    log = logging.getLogger("confidant.test")
    log.info("joined %s after %d tries", "#recovery", 3)
    log.warning(
        "sent", extra=logs.fields("reminder_sent", room="!abc:example.org", member=None, n=2)
    )
    first, second = parsed(buffer, fmt)
    assert first["msg"] == "joined #recovery after 3 tries" and "event" not in first
    assert (second["event"], second["room"], str(second["n"])) == (
        "reminder_sent", "!abc:example.org", "2"
    )
    assert "member" not in second  # None ids are left out
    assert list(second)[:4] == ["ts", "level", "logger", "event"]


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_exceptions_are_logged_by_type_and_place_never_by_message(
    fmt: str, capture: Callable[[str], io.StringIO]
) -> None:
    buffer = capture(fmt)

    def parse_answer(text: str) -> int:
        return int(text)  # the ValueError's message quotes the text

    try:
        parse_answer(CANARY)
    except ValueError:
        logging.getLogger("confidant.runtime").exception("handler failed for PrivateReply")
    [record] = parsed(buffer, fmt)
    assert record["exc_type"] == "ValueError"
    assert "test_structured_logs.py" in str(record["exc_where"])
    assert "parse_answer" in str(record["exc_where"])
    assert leaked_words(buffer.getvalue()) == []
    assert len(buffer.getvalue().splitlines()) == 1  # no multi-line traceback


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_library_loggers_use_the_same_format(
    fmt: str, capture: Callable[[str], io.StringIO]
) -> None:
    buffer = capture(fmt, "INFO")
    for name in ("nio.rooms", "discord.client", "aiohttp.client", "py.warnings"):
        logging.getLogger(name).warning("from %s", name)
    records = parsed(buffer, fmt)
    assert [r["logger"] for r in records] == [
        "nio.rooms", "discord.client", "aiohttp.client", "py.warnings"
    ]
    assert all(r["level"] == "warning" for r in records)


def test_a_multiline_message_stays_one_line(capture: Callable[[str], io.StringIO]) -> None:
    buffer = capture("logfmt")
    logging.getLogger("x").error('line one\nline "two" = \\ end')
    [line] = buffer.getvalue().splitlines()
    assert logs.parse_logfmt(line)["msg"] == 'line one\nline "two" = \\ end'


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["logfmt", "json"]),
    st.dictionaries(
        st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
            lambda k: k not in RESERVED
        ),
        st.text(max_size=30),
        max_size=5,
    ),
)
def test_any_value_round_trips_on_one_line(fmt: str, values: dict[str, str]) -> None:
    formatter = logs.formatter_for(fmt)  # type: ignore[arg-type]
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", (), None)
    for key, value in values.items():
        setattr(record, key, value)
    line = formatter.format(record)
    assert line.splitlines() == [line]  # whatever a reader takes for a line break
    back = PARSERS[fmt](line)
    assert {key: back[key] for key in values} == values


def test_parse_logfmt_refuses_what_is_not_logfmt() -> None:
    for bad in ("just words", 'a="unterminated', 'a="x"b=1', "=1"):
        with pytest.raises(ValueError):
            logs.parse_logfmt(bad)


# -- the config option ---------------------------------------------------------------------


def config_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(body + "adapters:\n  console: {enabled: true}\n", encoding="utf-8")
    return path


def test_log_format_defaults_to_logfmt_and_takes_json(tmp_path: Path) -> None:
    assert load_config(config_file(tmp_path, ""), {}).log_format == "logfmt"
    assert load_config(config_file(tmp_path, "log_format: json\n"), {}).log_format == "json"


def test_a_bad_log_format_is_reported_at_its_line(tmp_path: Path) -> None:
    path = config_file(tmp_path, "log_level: INFO\nlog_format: text\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:2:13: 'text' is not one of: logfmt, json"
    ]


def test_the_console_command_logs_json_when_configured(tmp_path: Path) -> None:
    """The CLI wires log_format through: a real process, its stderr parsed line by line."""
    write_policy(tmp_path / "policies")
    config = config_file(
        tmp_path,
        "database: c.db\nkey_file: c.key\npolicy_dir: policies\nlog_level: INFO\n"
        "log_format: json\n",
    )
    script = tmp_path / "script.txt"
    script.write_text(f":join alice\nalice: {CANARY}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--config", str(config),
         "--script", str(script)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert [r["member"] for r in records if r.get("event") == "reminder_sent"] == ["alice"]
    assert leaked_words(result.stderr) == []
