"""The embedded default's demo without a homeserver: what the bootstrap script tells the hints,
the printed hints themselves, state files of an earlier demo, and the default policy's demo
rooms. The homeserver side is tests/matrix_live/test_embedded.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.matrix.embedded import (
    ACCOUNTS,
    COMMAND_ENV,
    SUPPORTER,
    DemoState,
    EmbeddedMatrix,
    add_member,
)
from adapters.matrix.homeserver import HomeserverError, LocalSynapse
from bot import room_admin
from bot.actions import JoinRoom, LeaveRoom
from bot.config import DEFAULTS_DIR
from bot.events import InvitedToRoom, Member, Room
from bot.policy import load_policy_dir
from tests.conftest import make_config, start_rig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POLICY = DEFAULTS_DIR / "default-policy.yaml"


def fake_clone(tmp_path: Path) -> Path:
    """The bootstrap script beside an installed .venv whose ``confidant`` only reports how it
    was started: the script's own logic runs, nothing is installed."""
    clone = tmp_path / "clone"
    bin_dir = clone / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(ROOT / "confidant", clone / "confidant")
    (clone / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name in ("python", "confidant"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} typed=${{{COMMAND_ENV}-unset}} args=$*"\n')
        tool.chmod(0o755)
    later = os.stat(clone / "pyproject.toml").st_mtime + 10
    for extras in ("homeserver", "base", "test"):
        stamp = clone / ".venv" / f".installed-{extras}"
        stamp.touch()
        os.utime(stamp, (later, later))
    return clone


def test_the_bootstrap_script_tells_confidant_how_it_was_typed(tmp_path: Path) -> None:
    clone = fake_clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != COMMAND_ENV}

    def started(*argv: str, cwd: Path) -> str:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert started("./confidant", "run", cwd=clone) == "confidant typed=./confidant args=run"
    assert started("./confidant", "demo", "add-member", "bob", cwd=clone) == (
        "confidant typed=./confidant args=demo add-member bob"
    )
    assert started("sh", "confidant", cwd=clone).startswith("confidant typed=./confidant ")
    assert started("clone/confidant", "run", cwd=tmp_path).startswith(
        "confidant typed=clone/confidant "
    )
    # the test suite's own processes are not told anything
    assert started("./confidant", "test", cwd=clone).startswith("python typed=unset ")


def login_text(tmp_path: Path) -> str:
    demo = DemoState.generate()
    embedded = EmbeddedMatrix(
        config=None,  # type: ignore[arg-type]  # the text never reads it
        synapse=LocalSynapse(tmp_path / "homeserver"),  # never started
        state_dir=tmp_path,
        passwords={name: demo.passwords[name] for name in demo.accounts[1:]},
    )
    return embedded.login_text


def test_the_hints_use_the_command_as_typed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(COMMAND_ENV, "./confidant")
    typed = login_text(tmp_path)
    for hint in ("demo add-member NAME", "run --config config.yaml", "console"):
        assert f"./confidant {hint}" in typed
    assert "`./confidant run` reuses it" in typed
    monkeypatch.setenv(COMMAND_ENV, "/home/me/my clone/confidant")
    assert "'/home/me/my clone/confidant' demo add-member NAME" in login_text(tmp_path)
    monkeypatch.delenv(COMMAND_ENV)
    installed = login_text(tmp_path)
    assert "  confidant demo add-member NAME" in installed and "./confidant" not in installed


def test_the_hints_list_every_demo_account_and_room(tmp_path: Path) -> None:
    text = login_text(tmp_path)
    for expected in (
        "Moderator:   @mod:localhost",
        "Supporter:   @supporter:localhost",
        "Member:      @alice:localhost",
        "Member:      @sam:localhost",
        "#recovery:localhost",
        "#lobby:localhost",
        "#mods:localhost",
        "#supporters:localhost",
        "!checkin",
        "!claim",
    ):
        assert expected in text, expected
    assert "@confidant:localhost" not in text  # the bot's password is never shown


def test_an_earlier_demo_gets_the_supporter_and_keeps_its_passwords(tmp_path: Path) -> None:
    path = tmp_path / "embedded-matrix.json"
    old = {"confidant": "b0t", "mod": "m0d", "alice": "al1ce", "sam": "s4m"}
    path.write_text(
        json.dumps({"version": 1, "passwords": old, "registered": list(old), "rooms": {}})
    )
    demo = DemoState.load(path)
    assert demo is not None
    assert {name: demo.passwords[name] for name in old} == old
    assert set(ACCOUNTS) <= demo.passwords.keys() and demo.passwords[SUPPORTER]
    assert SUPPORTER not in demo.registered  # registered on the next run
    demo.added.append("dana")
    demo.passwords["dana"] = "d4na"
    demo.save(path)
    again = DemoState.load(path)
    assert again is not None and again.added == ["dana"] and again.accounts[-1] == "dana"
    assert again.passwords[SUPPORTER] == demo.passwords[SUPPORTER]


async def test_add_member_refuses_before_touching_anything(tmp_path: Path) -> None:
    with pytest.raises(HomeserverError, match="lowercase letters"):
        await add_member(tmp_path, "Dana")
    with pytest.raises(HomeserverError, match="bot's account"):
        await add_member(tmp_path, "confidant")
    with pytest.raises(HomeserverError, match="run` once first"):
        await add_member(tmp_path, "dana")
    assert list(tmp_path.iterdir()) == []


def test_the_default_policy_has_the_demo_rooms_checkins_and_a_supporter() -> None:
    (policy,) = load_policy_dir(DEFAULTS_DIR).policies
    covered = [ref.alias for ref in policy.rooms if ref.platform == "matrix"]
    assert "#recovery:localhost" in covered
    checkins = policy.checkins
    assert checkins is not None and checkins.crisis.resources and checkins.crisis.thresholds
    assert checkins.is_supporter("matrix", "@supporter:localhost")
    assert checkins.supporters_room is not None
    assert checkins.supporters_room.alias == "#supporters:localhost"


def test_the_lobby_is_watched_not_covered() -> None:
    """The demo lobby is a watch-only room: quotes of the circle are flagged there, and it
    has no reminder or gate of its own."""
    (policy,) = load_policy_dir(DEFAULTS_DIR).policies
    lobby = [ref.alias for ref in policy.watch if ref.platform == "matrix"]
    covered = [ref.alias for ref in policy.rooms if ref.platform == "matrix"]
    assert lobby == ["#lobby:localhost"] and "#lobby:localhost" not in covered


async def test_the_bot_accepts_invites_to_the_demo_rooms_only(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    shutil.copy(DEFAULT_POLICY, tmp_path / "policies" / DEFAULT_POLICY.name)
    rig = await start_rig(make_config(tmp_path))
    try:
        mod = Member("matrix", "@mod:localhost")

        async def invited(alias: str) -> type:
            room = Room("matrix", f"!{alias[1:].split(':')[0]}:localhost", aliases=(alias,))
            event = InvitedToRoom(room, mod, datetime.now(UTC))
            [action] = await room_admin.on_invite(rig.app.core, event)
            return type(action)

        for alias in (
            "#recovery:localhost",
            "#mods:localhost",
            "#lobby:localhost",
            "#supporters:localhost",
        ):
            assert await invited(alias) is JoinRoom, alias
        assert await invited("#elsewhere:localhost") is LeaveRoom
    finally:
        await rig.app.close()


async def test_in_the_terminal_room_a_crisis_shows_resources_and_promises_no_supporter(
    tmp_path: Path,
) -> None:
    """The default policy's supporters are on the demo homeserver: ``confidant console``
    alone could never reach them, so it shows the resources and offers no contact."""
    (tmp_path / "policies").mkdir()
    shutil.copy(DEFAULT_POLICY, tmp_path / "policies" / DEFAULT_POLICY.name)
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":join alice", "alice: /agree", "alice: /checkin", ":dm alice agree")
        out = await rig.say(":dm alice 1")
        assert "112" in out and "https://findahelpline.com" in out
        assert "peer supporter" not in out and "Question 2 of 3" in out
        assert await rig.app.store.member_escalations("console", "alice") == []
    finally:
        await rig.app.close()
