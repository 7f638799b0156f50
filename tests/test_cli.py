"""The installed ``confidant`` command, run as a separate process like an admin runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import POLICY, write_policy

ROOT = Path(__file__).resolve().parents[1]


def confidant(*args: str, cwd: Path, stdin: str = "", env_extra: dict[str, str] | None = None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(ROOT)},
    )


def _config(tmp: Path) -> Path:
    path = tmp / "config.yaml"
    path.write_text(
        "database: data/confidant.db\nkey_file: data/confidant.key\npolicy_dir: policies\n"
        "adapters:\n  console:\n    enabled: true\n"
    )
    return path


def test_check_passes_on_good_and_fails_with_file_line(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies")
    _config(tmp_path)
    good = confidant("check", "--config", "config.yaml", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "OK: config" in good.stdout and "1 policies (circle)" in good.stdout
    write_policy(tmp_path / "policies", POLICY.replace("delivery: private", "delivery: daily"))
    bad = confidant("check", "--config", "config.yaml", cwd=tmp_path)
    assert bad.returncode == 1
    first = bad.stderr.splitlines()[0]
    assert first.startswith("policies/circle.yaml:13:13: ")
    assert "'daily' is not one of: private, room, both" in first


def test_check_on_the_embedded_default(tmp_path: Path) -> None:
    result = confidant("check", cwd=tmp_path, env_extra={"CONFIDANT_STATE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "OK: config" in result.stdout


def test_console_script_and_restart_in_new_processes(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies")
    _config(tmp_path)
    script = tmp_path / "session.txt"
    script.write_text("# a scripted session\n:join alice\n:join bob\nbob: /agree\n")
    first = confidant("console", "--config", "config.yaml", "--script", str(script), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("[private → ") == 2
    assert "[only bob sees, #recovery] Thank you." in first.stdout
    # a new process on the same database: no reminder is sent twice, agreements remembered
    second = confidant(
        "console",
        "--config",
        "config.yaml",
        cwd=tmp_path,
        stdin=":join alice\n:join bob\nbob: back again\n:join carol\n",
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("[private → ") == 1
    assert "[private → carol] Welcome to recovery." in second.stdout
    assert "hidden" not in second.stdout


def test_console_with_no_config_uses_the_default_policy(tmp_path: Path) -> None:
    result = confidant(
        "console",
        cwd=tmp_path,
        stdin=":join alice\nalice: /rules\n",
        env_extra={"CONFIDANT_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 0, result.stderr
    assert "[private → alice] Welcome to recovery." in result.stdout
    assert "[only alice sees, #recovery] Confidentiality reminder" in result.stdout
    assert (tmp_path / "state" / "confidant.db").exists()
    assert (tmp_path / "state" / "confidant.key").stat().st_mode & 0o777 == 0o600


def test_the_bot_process_runs_without_the_extras_it_never_uses() -> None:
    """``confidant`` marks PyNaCl and cffi absent (bot/lean.py): the Matrix and Discord
    adapters still import, and check-in answers still seal and open through PyCryptodome's
    ctypes path."""
    probe = (
        "import sys\n"
        "from bot.lean import keep_out_unused_extras\n"
        "keep_out_unused_extras()\n"
        "import adapters.matrix.client, adapters.discord, ops.status_server\n"
        "from bot.checkins.sealing import Sealer\n"
        "sealer = Sealer(bytes(range(32)))\n"
        "assert sealer.open(3, 'mood', sealer.seal(3, 'mood', 'ünïcode')) == 'ünïcode'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('nacl', 'cffi', "
        "'_cffi_backend', 'pycparser') and sys.modules[m] is not None))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_check_policy_files_alone_without_a_config(tmp_path: Path) -> None:
    """A moderator checks an edit before handing it over; conflicts between the files given
    are found too."""
    drafts = tmp_path / "drafts"
    write_policy(drafts)
    write_policy(drafts, POLICY.replace("name: circle", "name: other"), name="other.yaml")
    both = confidant("check", "drafts/circle.yaml", "drafts/other.yaml", cwd=tmp_path)
    assert both.returncode == 1
    lines = both.stderr.splitlines()
    assert any(line.startswith("drafts/other.yaml:") for line in lines), both.stderr
    assert "recovery" in both.stderr and lines[-1] == "1 error(s); nothing was changed."
    one = confidant("check", "drafts/circle.yaml", cwd=tmp_path)
    assert (one.returncode, one.stdout, one.stderr) == (0, "OK: 1 policies (circle)\n", "")
    folder = confidant("check", "drafts", cwd=tmp_path)
    assert folder.returncode == 1 and "drafts/other.yaml:" in folder.stderr
    missing = confidant("check", "drafts/gone.yaml", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("drafts/gone.yaml:1:1: cannot read the file: No such file")


def test_check_reports_config_and_policy_errors_in_one_run(tmp_path: Path) -> None:
    """A missing environment variable no longer hides every policy error behind it."""
    write_policy(tmp_path / "policies", POLICY.replace("delivery: private", "delivery: daily"))
    (tmp_path / "config.yaml").write_text(
        "database: state\nkey_file: confidant.key\nadapters:\n  console:\n  discord:\n"
        "    token: ${CONFIDANT_TEST_UNSET_TOKEN}\n"
    )
    (tmp_path / "state").mkdir()
    checked = confidant("check", "--config", "config.yaml", cwd=tmp_path)
    assert checked.returncode == 1
    assert checked.stderr.splitlines() == [
        f"config.yaml:1:11: the database path {tmp_path / 'state'} is a folder; name a file "
        f"inside it, like {tmp_path / 'state' / 'confidant.db'}",
        "config.yaml:6:12: environment variable CONFIDANT_TEST_UNSET_TOKEN is not set",
        "policies/circle.yaml:13:13: 'daily' is not one of: private, room, both, rules_message",
        "3 error(s); nothing was changed.",
    ]


def test_run_refuses_unusable_state_paths_with_the_lines_check_prints(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies")
    (tmp_path / "config.yaml").write_text(
        "database: data/confidant.db\nkey_file: data/confidant.db\nadapters:\n  console:\n"
    )
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "other.yaml").write_text(
        "adapters:\n  discord:\n    token: ${CONFIDANT_TEST_UNSET_TOKEN}\n  console:\n"
        "database: elsewhere\n"
    )
    for config in ("config.yaml", "other.yaml"):
        checked = confidant("check", "--config", config, cwd=tmp_path)
        ran = confidant("run", "--config", config, cwd=tmp_path, stdin="")
        assert checked.returncode == ran.returncode == 1, ran.stderr
        assert "Traceback" not in ran.stderr
        assert ran.stderr.splitlines() == checked.stderr.splitlines()[:-1]
        assert f"{config}:" in ran.stderr
    assert len(ran.stderr.splitlines()) == 2  # other.yaml: the variable and the folder
    assert not (tmp_path / "data").exists()  # nothing was created


def test_check_warns_about_rooms_on_a_platform_that_is_not_run(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies")
    write_policy(
        tmp_path / "policies",
        POLICY.replace("name: circle", "name: carers").replace(
            "  - platform: console\n    name: recovery\n",
            '  - platform: discord\n    id: "412345678901234567"\n',
        ),
        name="carers.yaml",
    )
    _config(tmp_path)
    checked = confidant("check", "--config", "config.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.splitlines() == [
        "warning: policies/carers.yaml: the policy 'carers' names Discord rooms (under "
        "rooms), but no Discord adapter runs, so nothing reaches them; add 'discord:' under "
        "'adapters:' in the config, or remove those rooms"
    ]
    assert "OK: config config.yaml, 2 policies (carers, circle)" in checked.stdout
    # with --config, the files given are checked in place of the policy folder
    only = confidant("check", "--config", "config.yaml", "policies/circle.yaml", cwd=tmp_path)
    assert (only.returncode, only.stderr) == (0, "")
    assert only.stdout == "OK: config config.yaml, 1 policies (circle)\n"
