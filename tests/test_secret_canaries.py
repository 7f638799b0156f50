"""Secrets and canaries, as a whole: the platform credentials, the deployment key and what
members write never reach a log record (any logger, DEBUG), an error message, a moderator
alert, an export to someone else, the audit log or the database files.

The scenario runs with canary values for everything secret: the Matrix password and access
token and the Discord token in the config, a key file whose 32 bytes we chose, a canary
sentence said in the confidential room (tests.test_leak_canary's) and a canary check-in
answer. The live variants (tests/matrix_live, tests/discord_live) do the same against
Synapse and the Discord fake; ``bot.redact`` is tested here too.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import redact
from bot.cli import main as cli_main
from bot.config import ConfigError, load_config
from bot.keys import KeyFileError, load_or_create_key
from tests.checkin_rig import CHECKIN_POLICY, dm, private_to
from tests.conftest import start_rig, write_policy
from tests.test_leak_canary import CANARY as ROOM_CANARY
from tests.test_leak_canary import leaked_words

KEY = bytes.fromhex("5ca1ab1ec0ffee00d15ea5e50ddba115facade00b16b00b57e57ab1ef00dcafe")
DISCORD_TOKEN = "MTA5Nzc.canary-discord-token.Zq7Wd1x"
MATRIX_PASSWORD = "canary-matrix-password-Qx81vR"
MATRIX_TOKEN = "syt_Y2FuYXJ5_canaryMatrixAccessToken_Lm02"
ANSWER = "canary-answer-okapi-9931"
QUOTE = f"you won't believe what she said: {ROOM_CANARY.lower()}!"


def key_forms(key: bytes = KEY) -> list[str]:
    """The key as it could show up in text: hex either case, base64 both alphabets."""
    b64 = [base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()]
    return [key.hex(), key.hex().upper(), *b64, *(b.rstrip("=") for b in b64)]


SECRETS = [DISCORD_TOKEN, MATRIX_PASSWORD, MATRIX_TOKEN, *key_forms()]


def leaks(text: str, *, answers: bool = True) -> list[str]:
    """Every canary found in ``text``: secrets, the room sentence's words, the answer."""
    found = [s for s in SECRETS if s in text] + leaked_words(text)
    return found + ([ANSWER] if answers and ANSWER in text else [])


def raw_leaks(data: bytes) -> list[str]:
    found = leaks(data.decode("utf-8", errors="replace"))
    return found + (["key bytes"] if KEY in data else [])


def test_the_canary_checks_can_fail() -> None:
    assert leaks(f"x {DISCORD_TOKEN} y") == [DISCORD_TOKEN]
    assert leaks(base64.b64encode(KEY).decode()) != []
    assert leaks(KEY.hex().upper()) != []
    assert leaks("... marmalade ...") == ["marmalade"]
    assert leaks(ANSWER) == [ANSWER] and leaks(ANSWER, answers=False) == []
    assert raw_leaks(b"\x00" + KEY + b"\x00") == ["key bytes"]


CONFIG = f"""\
database: confidant.db
key_file: confidant.key
policy_dir: policies
log_level: DEBUG
adapters:
  console:
    enabled: true
  matrix:
    homeserver: https://matrix.example.org
    user_id: "@confidant:example.org"
    access_token: ${{MATRIX_TOKEN}}
  discord:
    token: "{DISCORD_TOKEN}"
"""


def write_key(path: Path, key: bytes = KEY, mode: int = 0o600) -> None:
    path.write_text(key.hex() + "\n", encoding="ascii")
    path.chmod(mode)


def canary_config(tmp: Path):  # type: ignore[no-untyped-def]
    (tmp / "config.yaml").write_text(CONFIG, encoding="utf-8")
    write_key(tmp / "confidant.key")
    write_policy(tmp / "policies", CHECKIN_POLICY)
    return load_config(tmp / "config.yaml", env={"MATRIX_TOKEN": MATRIX_TOKEN})


LIBRARY_LOGGERS = ("aiosqlite", "asyncio", "nio", "discord", "aiohttp", "peewee", "confidant")


def capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    """Every record of every logger at DEBUG, the libraries' included."""
    caplog.set_level(logging.DEBUG)
    for name in LIBRARY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)


def record_text(record: logging.LogRecord) -> str:
    """All a handler could print of a record: the formatted line with its traceback and
    stack, and every extra field."""
    parts = [logging.Formatter().format(record), str(record.args)]
    parts += [str(v) for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")]
    return "\n".join(parts)


def outside_alices_private_chat(printed: str) -> str:
    """Everything printed except the bot's private messages to alice (her own answers
    may come back to her there)."""
    kept: list[str] = []
    keep = True
    for line in printed.splitlines():
        if line.startswith("["):
            keep = not line.startswith("[private → alice]")
        if keep:
            kept.append(line)
    return "\n".join(kept)


async def test_no_canary_reaches_logs_alerts_exports_audit_or_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    capture_everything(caplog)
    config = canary_config(tmp_path)
    rig = await start_rig(config)
    try:
        assert rig.app.key == KEY  # the canary key is the one in use
        await rig.say(":room recovery", ":join alice", ":join bob", f"alice: {ROOM_CANARY}")
        flagged = await rig.say(":room lobby", f"carol: {QUOTE}")
        assert "[alert → #mods] Possible leak from recovery" in flagged
        # alice's check-in: a crisis answer, a contact request without her answers, a note
        await rig.say(":room recovery", "alice: /checkin")
        await rig.say(*dm("alice", "agree", "1", "yes", "no", "no", "sponsor", ANSWER))
        claimed = await rig.say(":room supporters", "sam: /claim 1")
        assert "Request 1 is yours" in claimed
        bob_export = private_to("bob", await rig.say(*dm("bob", "/mydata")))
        assert '"member"' in bob_export or "confidant-mydata" in bob_export
        moderators = await rig.say(
            ":room mods", "mod: /audit", "mod: /flags", "mod: /checkin stats",
            "mod: /agreements circle",
        )
        assert "Audit log, newest first" in moderators and "Open leak flags" in moderators
        own = await rig.say(*dm("alice", "/mydata", "/checkin history"))
        assert ANSWER in own  # the member's own data does come back to her, privately
        printed = rig.out.getvalue()
    finally:
        await rig.app.close()

    assert leaks(bob_export) == [] and leaks(moderators) == []
    alerts = [line for line in printed.splitlines() if line.startswith("[alert")]
    assert len(alerts) >= 3 and leaks("\n".join(alerts)) == []
    assert leaks(outside_alices_private_chat(printed)) == []
    assert leaks(private_to("alice", printed), answers=False) == []  # no room text, no key
    for path in tmp_path.iterdir():
        if path.name.startswith("confidant.db"):
            assert raw_leaks(path.read_bytes()) == [], path.name
    with sqlite3.connect(tmp_path / "confidant.db") as db:
        audit = db.execute("SELECT * FROM audit_log").fetchall()
    assert len(audit) >= 4 and leaks(repr(audit)) == []
    assert len(caplog.records) > 20, "the scenario logs, so this check means something"
    for record in caplog.records:
        assert leaks(record_text(record)) == [], (record.name, record.levelname)


def test_a_loaded_config_never_shows_its_secrets(tmp_path: Path) -> None:
    config = canary_config(tmp_path)
    assert config.adapters.discord is not None and config.adapters.matrix is not None
    assert config.adapters.discord.token.get_secret_value() == DISCORD_TOKEN  # really loaded
    for shown in (repr(config), str(config), config.model_dump_json(), str(config.model_dump())):
        assert leaks(shown) == []
    assert sorted(redact.config_secrets(config)) == sorted([DISCORD_TOKEN, MATRIX_TOKEN])


@pytest.mark.parametrize(
    "adapters",
    [
        # an error elsewhere in a config that holds the secrets
        f'  discord:\n    token: "{DISCORD_TOKEN}"\n    guild_ids: [general]\n',
        # errors on the secrets themselves
        f"  discord:\n    token: [{DISCORD_TOKEN}]\n",
        f"  discord:\n    token:\n      {DISCORD_TOKEN}: 1\n",
        f'  discord:\n    token: "{DISCORD_TOKEN}\n',
        f"  discord:\n    token: {DISCORD_TOKEN}: oops\n",
        "  matrix:\n    homeserver: https://m.example.org\n    user_id: '@c:m.example.org'\n"
        f"    password: {MATRIX_PASSWORD}\n    access_token: {MATRIX_TOKEN}\n",
        "  matrix:\n    homeserver: https://m.example.org\n    user_id: '@c:m.example.org'\n"
        f"    password: {MATRIX_PASSWORD}\n    access_token: ${{NOT_SET}}\n",
    ],
    ids=["other-error", "list", "mapping", "open-quote", "colon", "two-credentials", "env"],
)
def test_config_errors_never_quote_a_secret(
    tmp_path: Path, adapters: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("log_level: LOUD\nadapters:\n" + adapters, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    errors = "\n".join(str(e) for e in raised.value.errors)
    assert errors and leaks(errors + str(raised.value)) == []
    assert cli_main(["check", "--config", str(path)]) == 1
    shown = capsys.readouterr()
    assert "config.yaml:" in shown.err and leaks(shown.out + shown.err) == []


@pytest.mark.parametrize(
    ("content", "mode"),
    [
        (KEY.hex() + "\n", 0o644),  # readable by others
        (KEY.hex()[:-2] + "zz\n", 0o600),  # not hex
        (KEY.hex() + "00\n", 0o600),  # 33 bytes
        (f"{DISCORD_TOKEN}\n", 0o600),  # someone pasted a token into it
    ],
    ids=["mode", "not-hex", "length", "token"],
)
def test_key_file_errors_never_quote_the_file(tmp_path: Path, content: str, mode: int) -> None:
    path = tmp_path / "confidant.key"
    path.write_text(content, encoding="ascii")
    path.chmod(mode)
    with pytest.raises(KeyFileError) as raised:
        load_or_create_key(path)
    assert str(path) in str(raised.value)
    assert leaks(str(raised.value)) == [] and KEY.hex()[:16] not in str(raised.value)


# -- bot.redact ---------------------------------------------------------------------------


@pytest.fixture
def protected() -> Iterator[redact.SecretRedactor]:
    try:
        yield redact.protect(DISCORD_TOKEN, MATRIX_PASSWORD, KEY, None, "", "short")
    finally:
        redact.unprotect()


def test_secret_forms_cover_how_a_key_is_written() -> None:
    forms = redact.secret_forms(KEY)
    assert set(key_forms()) <= forms
    assert redact.secret_forms("short") == set() and redact.secret_forms(b"\x01\x02") == set()
    assert redact.secret_forms(f"  {DISCORD_TOKEN}\n") == {DISCORD_TOKEN}


def test_protect_redacts_every_logger_and_every_part_of_a_record(
    protected: redact.SecretRedactor, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("", "nio.client.async_client", "confidant.runtime", "aiohttp.client"):
        caplog.set_level(logging.DEBUG, logger=name)  # whatever earlier tests set there
    library = logging.getLogger("nio.client.async_client")  # any logger, any handler
    library.debug("GET /sync?access_token=%s&since=s1", MATRIX_PASSWORD)
    library.info(f"sending with Authorization: Bot {DISCORD_TOKEN}")
    try:
        raise ValueError(f"bad key {base64.b64encode(KEY).decode()} for {DISCORD_TOKEN}")
    except ValueError:
        logging.getLogger("confidant.runtime").exception("action failed")
    logging.getLogger("aiohttp.client").warning("%s", {"key": KEY.hex()}, stack_info=True)
    assert len(caplog.records) == 4
    for record in caplog.records:
        text = record_text(record)
        assert leaks(text) == [], text
    assert "access_token=[redacted]&since=s1" in caplog.records[0].getMessage()
    assert "[redacted]" in (caplog.records[2].exc_text or "")
    assert "action failed" in caplog.text and "ValueError" in caplog.text


def test_a_redactor_on_a_handler_also_covers_extra_fields(
    protected: redact.SecretRedactor,
) -> None:
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    handler.addFilter(protected)
    logger = logging.getLogger("confidant.test-redact")
    logger.addHandler(handler)
    try:
        logger.warning("lost the homeserver", extra={"reason": f"token {DISCORD_TOKEN}"})
    finally:
        logger.removeHandler(handler)
    [record] = seen
    assert record.reason == "token [redacted]"  # type: ignore[attr-defined]


def test_without_protection_the_same_lines_would_leak(caplog: pytest.LogCaptureFixture) -> None:
    """The control for the tests above: it is the redactor that makes them pass."""
    caplog.set_level(logging.DEBUG, logger="nio.client.async_client")
    logging.getLogger("nio.client.async_client").debug("GET /sync?access_token=%s", MATRIX_TOKEN)
    assert leaks(caplog.text) == [MATRIX_TOKEN]


def test_protect_adds_to_one_redactor_and_redacts_later_secrets(
    protected: redact.SecretRedactor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nio")
    assert redact.protect(MATRIX_TOKEN) is protected  # e.g. the token learnt at login
    logging.getLogger("nio").info("restored login with %s", MATRIX_TOKEN)
    assert leaks(caplog.text) == [] and "[redacted]" in caplog.text


def test_nio_quotes_a_malformed_event_and_withheld_details_stop_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A member's client can send an m.room.message whose body is not a string; nio's
    validation warning then quotes the event's content, decrypted text included. Withholding
    the detail on nio's logger keeps the warning and drops the text."""
    from nio.events import Event

    caplog.set_level(logging.WARNING, logger="nio.events.misc")
    logger = logging.getLogger("nio.events.misc")
    wired = [f for f in logger.filters if isinstance(f, redact.WithheldDetail)]
    for existing in wired:  # the Matrix adapter attaches it for the whole process
        logger.removeFilter(existing)
    event = {
        "type": "m.room.message",
        "event_id": "$e1",
        "sender": "@alice:example.org",
        "origin_server_ts": 1,
        "content": {"msgtype": "m.text", "body": [ROOM_CANARY]},
    }
    Event.parse_event(event)
    assert leaked_words(caplog.text), "nio no longer quotes the event: revisit this filter"
    caplog.clear()
    withheld = redact.withhold_details("nio.events.misc", "Error validating event")
    try:
        assert redact.withhold_details("nio.events.misc", "Error validating event") is withheld
        Event.parse_event(event)
    finally:
        logger.removeFilter(withheld)
        for existing in wired:
            logger.addFilter(existing)
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "details withheld" in record.getMessage()
    assert leaked_words(caplog.text) == []


def test_the_cli_never_prints_a_secret_when_the_key_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``confidant run`` with a key file others can read stops with a path, not the key."""
    canary_config(tmp_path)
    (tmp_path / "confidant.key").chmod(0o644)
    env = {**os.environ, "MATRIX_TOKEN": MATRIX_TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(tmp_path / "config.yaml")],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "confidant.key" in result.stdout + result.stderr
    assert leaks(result.stdout + result.stderr) == []


async def test_once_the_app_is_made_a_library_logging_a_secret_is_redacted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The wiring: App.create protects the key and the config's credentials, the Matrix
    adapter withholds nio's quoting warning, and the log handler filters extra fields."""
    from adapters.console import ConsoleAdapter
    from adapters.matrix.client import quiet_payload_logs
    from bot.app import App
    from bot.logs import configure

    redact.unprotect()
    capture_everything(caplog)
    config = canary_config(tmp_path)
    app = await App.create(config, lambda registry, clock: [ConsoleAdapter(registry, clock)])
    try:
        quiet_payload_logs()
        logging.getLogger("nio.responses").debug("GET /sync?access_token=%s", DISCORD_TOKEN)
        logging.getLogger("aiohttp.client").warning("request failed: key=%s", KEY.hex())
        logging.getLogger("nio.events.misc").warning(
            "Error validating event: %s", {"body": ANSWER}
        )
        stream = io.StringIO()
        handler = configure("DEBUG", stream=stream)
        logging.getLogger("confidant.test").info("x", extra={"reason": MATRIX_TOKEN})
        logging.getLogger().removeHandler(handler)
    finally:
        await app.close()
        redact.unprotect()
    texts = [record_text(r) for r in caplog.records] + [stream.getvalue()]
    assert len(caplog.records) >= 4
    assert [leak for text in texts for leak in leaks(text)] == []
    assert "[redacted]" in caplog.text and "details withheld" in caplog.text
