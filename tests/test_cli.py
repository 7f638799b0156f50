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
