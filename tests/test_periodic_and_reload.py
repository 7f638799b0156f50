"""Periodic in-room re-reminders and live policy reload that keeps the last good policy."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest

from bot.policy import PolicyLoadError, load_policy_dir
from bot.policy_holder import PolicyHolder, directory_fingerprint
from tests.conftest import POLICY, make_config, start_rig, write_policy

REPEAT = POLICY.replace(
    "  require_agreement: true\n",
    "  require_agreement: false\n  repeat:\n    every_days: 7\n    every_messages: 3\n",
)


async def test_every_n_messages(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", REPEAT)
    rig = await start_rig(make_config(tmp_path))
    try:
        assert await rig.say("a: one", "b: two") == ""
        third = await rig.say("a: three")
        assert third.startswith("[#recovery] confidant: A regular reminder of this room's promise:")
        assert await rig.say("a: four", "b: five") == ""
        assert "regular reminder" in await rig.say("a: six")
    finally:
        await rig.app.close()


async def test_every_n_days_fires_once_per_period(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", REPEAT)
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":join alice")  # the room becomes known; its clock starts now
        before = len(rig.out.getvalue())
        await rig.clock.advance(timedelta(days=6, hours=23))
        await rig.app.runtime.tick()
        assert rig.out.getvalue()[before:] == ""
        await rig.clock.advance(timedelta(hours=2))
        await rig.app.runtime.tick()
        await rig.app.runtime.tick()  # a second tick in the same period sends nothing more
        fired = rig.out.getvalue()[before:]
        assert fired.count("A regular reminder") == 1
    finally:
        await rig.app.close()


async def test_broken_edit_keeps_last_good_policy_and_alerts(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: sometimes"))
        before = len(rig.out.getvalue())
        await rig.app.runtime.poll_policies()
        alert = rig.out.getvalue()[before:]
        assert alert.startswith("[alert → #mods] Policy reload failed; the last good policies")
        assert "\n    circle.yaml:13:13:" in alert and "policies/" not in alert
        # the last good policy still protects the room
        joined = await rig.say(":join alice")
        assert "[private → alice] Welcome to recovery." in joined
        # the same broken file is reported once, not on every poll
        before = len(rig.out.getvalue())
        await rig.app.runtime.poll_policies()
        assert rig.out.getvalue()[before:] == ""
        # fixing it is picked up live
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: room"))
        await rig.app.runtime.poll_policies()
        out = await rig.say(":join bob")
        assert "[#recovery] confidant → @bob: Confidentiality reminder" in out
        assert "[private → bob]" not in out
    finally:
        await rig.app.close()


async def test_moderator_reload_reports_errors(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(POLICY.replace("reminder:", "remider:"))
        out = await rig.say("mod: /policy reload")
        assert "[only mod sees, #recovery] Policy reload failed" in out
        assert "\n    circle.yaml:" in out and "policies/" not in out
        assert "did you mean 'reminder'" in out
        entries = await rig.app.store.audit_entries()
        assert [(e[2], e[3]) for e in entries] == [("mod", "policy reload")]
    finally:
        await rig.app.close()


def test_failure_notices_name_files_within_the_policy_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server runs elsewhere (cwd is not beside the policy folder), so the log names the
    files by their full paths; what moderators read names them as they see them, within the
    policy folder, in the error and in what it says of another file."""
    folder = tmp_path / "srv" / "policies"
    policy_file = write_policy(folder)
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    holder = PolicyHolder.load(folder)
    policy_file.write_text(POLICY.replace("delivery: private", "delivery: sometimes"))
    result = holder.reload()
    assert result.errors[0].startswith(f"{folder}/circle.yaml:13:13: ")  # the log's form
    [circle] = holder.current.policies
    [broken] = result.notices_of(circle)
    assert broken.startswith("circle.yaml:13:13: ")
    # a second policy for the same room: its error names the first file, within the folder
    policy_file.write_text(POLICY)
    write_policy(folder, POLICY.replace("name: circle", "name: grief"), "grief.yaml")
    result = holder.reload()
    assert any(f"{folder}/circle.yaml:" in e for e in result.errors)
    [clash] = [n for n in result.notices if n.startswith("grief.yaml:")]
    assert "circle.yaml:" in clash
    assert all(str(tmp_path) not in notice for notice in result.notices)
    assert len(result.notices) == len(result.errors)


async def test_a_fixed_policy_is_confirmed_to_the_moderators_told_of_the_failure(
    tmp_path: Path,
) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: sometimes"))
        await rig.app.runtime.poll_policies()
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: never"))
        await rig.app.runtime.poll_policies()  # failed again: told again, still one room
        before = len(rig.out.getvalue())
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: room"))
        await rig.app.runtime.poll_policies()
        confirmed = rig.out.getvalue()[before:]
        assert confirmed == (
            "[alert → #mods] Policies reloaded: the policy files load without errors again "
            "and are in use now.\n"
        )
        # said once: a later good edit is no news to the moderators' room
        before = len(rig.out.getvalue())
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: both"))
        await rig.app.runtime.poll_policies()
        assert "[alert → #mods]" not in rig.out.getvalue()[before:]
    finally:
        await rig.app.close()


async def test_a_good_reload_with_no_failure_before_confirms_nothing(tmp_path: Path) -> None:
    policy_file = write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        before = len(rig.out.getvalue())
        policy_file.write_text(POLICY.replace("delivery: private", "delivery: room"))
        await rig.app.runtime.poll_policies()
        assert "[alert → #mods]" not in rig.out.getvalue()[before:]
    finally:
        await rig.app.close()


CARERS = POLICY.replace("name: circle", "name: carers").replace("name: recovery", "name: carers")


async def test_a_policy_file_that_would_be_skipped_never_drops_its_policy(tmp_path: Path) -> None:
    """Renaming a file to .YAML, or swapping it for a link to nowhere, used to load the other
    policies without it: its room silently lost its reminder on the next reload."""
    policy_dir = tmp_path / "policies"
    write_policy(policy_dir)
    carers = write_policy(policy_dir, CARERS, name="carers.yaml")
    rig = await start_rig(make_config(tmp_path))
    try:
        for broken in ("carers.YAML", "link"):
            carers.unlink()
            if broken == "link":
                carers.symlink_to(policy_dir / "drafts" / "carers.yaml")
            else:
                write_policy(policy_dir, CARERS, name=broken)
            before = len(rig.out.getvalue())
            await rig.app.runtime.poll_policies()
            alert = rig.out.getvalue()[before:]
            assert alert.startswith("[alert → #mods] Policy reload failed"), alert
            # named within the policy folder, as moderators see it
            shown = "\n    carers.YAML:1:1: " if broken != "link" else "\n    carers.yaml:1:1: "
            assert shown in alert, alert
            assert [p.name for p in rig.app.core.policies.current.policies] == ["carers", "circle"]
            if broken != "link":
                (policy_dir / broken).unlink()
                write_policy(policy_dir, CARERS, name="carers.yaml")
                await rig.app.runtime.poll_policies()
    finally:
        await rig.app.close()


def test_a_pipe_named_like_a_policy_is_refused_not_read(tmp_path: Path) -> None:
    """Opening a pipe would wait forever for a writer; it is refused at 1:1 instead."""
    policy_dir = tmp_path / "policies"
    write_policy(policy_dir)
    os.mkfifo(policy_dir / "pipe.yaml")
    assert directory_fingerprint(policy_dir)  # does not block either
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(policy_dir, display_root=tmp_path)
    assert [str(e) for e in caught.value.errors] == [
        "policies/pipe.yaml:1:1: this is not a regular file (a pipe or a device?); "
        "replace it with a file"
    ]


async def test_rooms_on_a_platform_not_run_are_a_warning_once_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_policy(tmp_path / "policies")
    discord = POLICY.replace("name: circle", "name: carers").replace(
        "  - platform: console\n    name: recovery\n",
        '  - platform: discord\n    id: "412345678901234567"\n',
    )
    write_policy(tmp_path / "policies", discord, name="carers.yaml")
    caplog.set_level(logging.INFO)
    rig = await start_rig(make_config(tmp_path))
    try:
        (tmp_path / "policies" / "carers.yaml").write_text(discord + "# edited\n")
        await rig.app.runtime.poll_policies()  # a reload does not repeat it
        await rig.say(":join alice")
    finally:
        await rig.app.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "policies/carers.yaml: the policy 'carers' names Discord rooms (under rooms), but "
        "no Discord adapter runs, so nothing reaches them; add 'discord:' under 'adapters:' "
        "in the config, or remove those rooms"
    ]
    assert getattr(warnings[0], "event", None) == "platform_not_running"


def test_an_unreadable_policy_file_is_refused_and_noticed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests may run as root, who reads every file, so the refusal is simulated at open()."""
    policy_dir = tmp_path / "policies"
    write_policy(policy_dir)
    locked = write_policy(policy_dir, POLICY.replace("name: circle", "name: locked"), "l.yaml")
    before = directory_fingerprint(policy_dir)
    real_open = Path.open

    def refusing(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name == locked.name:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing)
    assert directory_fingerprint(policy_dir) != before  # a reload will look
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(policy_dir, display_root=tmp_path)
    assert [str(e) for e in caught.value.errors] == [
        "policies/l.yaml:1:1: cannot read the file: Permission denied"
    ]


def test_a_policy_folder_that_cannot_be_listed_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy_dir = tmp_path / "policies"
    write_policy(policy_dir)
    real_iterdir = Path.iterdir

    def refusing(self: Path):  # type: ignore[no-untyped-def]
        if self == policy_dir:
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refusing)
    assert directory_fingerprint(policy_dir)
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(policy_dir, display_root=tmp_path)
    assert [str(e) for e in caught.value.errors] == [
        "policies:1:1: cannot list the policy folder: Permission denied"
    ]
