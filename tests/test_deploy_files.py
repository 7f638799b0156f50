"""The files in deploy/: hardened systemd units whose commands really exist and run, a
container recipe that matches them, and a server config that loads."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from bot.config import load_config
from tests.test_cli import ROOT, confidant

DEPLOY = ROOT / "deploy"
UNITS = ("confidant.service", "confidant-backup.service", "confidant-backup.timer")
BINARY = "/opt/confidant/venv/bin/confidant"
STATE, ETC = "/var/lib/confidant", "/etc/confidant"

Unit = dict[str, dict[str, list[str]]]


def parse_unit(text: str) -> Unit:
    """systemd's syntax: sections, ``Key=value`` (a key may repeat), comments, ``\\``
    continuations. (configparser refuses repeated keys, which systemd relies on.)"""
    unit: Unit = {}
    section: dict[str, list[str]] | None = None
    logical = re.sub(r"\\\n", " ", text)
    for raw in logical.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], {})
            continue
        assert section is not None, f"{line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"not Key=value: {line!r}"
        section.setdefault(key.strip(), []).append(value.strip())
    return unit


def unit(name: str) -> Unit:
    return parse_unit((DEPLOY / name).read_text(encoding="utf-8"))


def one(section: dict[str, list[str]], key: str) -> str:
    values = section.get(key, [])
    assert len(values) == 1, f"{key}: expected one value, found {values}"
    return values[0]


def subcommands() -> set[str]:
    """The subcommands ``confidant --help`` lists ({run,console,...})."""
    shown = confidant("--help", cwd=ROOT)
    assert shown.returncode == 0, shown.stderr
    found = re.search(r"\{([a-z,-]+)\}", shown.stdout)  # migrate-store: a hyphen
    assert found, shown.stdout
    return set(found.group(1).split(","))


def confidant_lines(service: dict[str, list[str]]) -> list[list[str]]:
    lines = [shlex.split(v) for key in ("ExecStartPre", "ExecStart") for v in service.get(key, [])]
    return [argv for argv in lines if argv[0] == BINARY]


def test_the_service_is_hardened() -> None:
    service = unit("confidant.service")["Service"]
    assert one(service, "User") == "confidant" and one(service, "Group") == "confidant"
    assert one(service, "StateDirectory") == "confidant"
    assert one(service, "StateDirectoryMode") == "0700"
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "ProtectHome") in {"true", "read-only", "tmpfs"}
    for flag in ("NoNewPrivileges", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                 "ProtectKernelModules", "ProtectControlGroups", "RestrictSUIDSGID",
                 "RestrictNamespaces", "LockPersonality"):  # fmt: skip
        assert one(service, flag) == "true", flag
    assert one(service, "RestrictAddressFamilies").split() == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert "@system-service" in service["SystemCallFilter"]
    assert one(service, "CapabilityBoundingSet") == ""  # no capabilities at all
    assert one(service, "Restart") == "on-failure"
    assert one(service, "EnvironmentFile") == f"{ETC}/confidant.env"
    assert one(service, "UMask") == "0077"
    memory = re.fullmatch(r"(\d+)([KMG])", one(service, "MemoryMax"))
    assert memory, "MemoryMax must be a size"
    megabytes = int(memory.group(1)) * {"K": 1 / 1024, "M": 1, "G": 1024}[memory.group(2)]
    assert 128 <= megabytes <= 768  # leaves room for the OS on a 1 GB VPS
    assert unit("confidant.service")["Install"]["WantedBy"] == ["multi-user.target"]


def test_every_confidant_command_in_the_units_exists() -> None:
    known = subcommands()
    seen = []
    for name in ("confidant.service", "confidant-backup.service"):
        for argv in confidant_lines(unit(name)["Service"]):
            command = argv[1]
            assert command in known, f"{name}: `confidant {command}` does not exist"
            helped = confidant(command, "--help", cwd=ROOT)
            assert helped.returncode == 0, helped.stderr
            for option in (a for a in argv[2:] if a.startswith("--")):
                assert option in helped.stdout, f"{name}: {command} has no {option}"
            assert argv[argv.index("--config") + 1] == f"{ETC}/config.yaml"
            seen.append(command)
    assert sorted(seen) == ["backup", "check", "run"]


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / "confidant.env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep and name == name.strip() and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
            pairs[name] = value
    return pairs


def _installed(tmp_path: Path) -> tuple[Path, dict[str, str]]:  # (config, environment)
    """deploy/config.yaml as an admin installs it, with /etc and /var/lib moved into tmp."""
    etc, state = tmp_path / "etc", tmp_path / "state"
    (etc / "policies").mkdir(parents=True)
    state.mkdir()
    shutil.copy(ROOT / "policies" / "recovery-circle.yaml", etc / "policies")
    text = (DEPLOY / "config.yaml").read_text(encoding="utf-8")
    config = etc / "config.yaml"
    config.write_text(text.replace(ETC, str(etc)).replace(STATE, str(state)), encoding="utf-8")
    return config, _env_example()


def test_the_server_config_loads_with_the_env_example_and_keeps_state_in_place() -> None:
    env = _env_example()
    text = (DEPLOY / "config.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    assert used and used <= set(env), f"not in confidant.env.example: {used - set(env)}"
    config = load_config(DEPLOY / "config.yaml", env=env)
    assert config.database == Path(STATE, "confidant.db")
    assert config.key_file == Path(STATE, "confidant.key")
    assert config.policy_dir == Path(ETC, "policies")
    assert config.adapters.matrix is not None and config.adapters.discord is not None
    assert config.adapters.matrix.store_dir.is_relative_to(STATE)  # kept with the state


def test_the_units_commands_run_against_the_installed_layout(tmp_path: Path) -> None:
    """ExecStartPre (check) and the nightly backup, run as written, paths moved to tmp."""
    _, env = _installed(tmp_path)
    state = tmp_path / "state"
    with closing(sqlite3.connect(state / "confidant.db")) as db, db:
        db.execute("CREATE TABLE placeholder (x)")  # any database: backup copies it as it is
    key = state / "confidant.key"
    key.write_text("00" * 32 + "\n")
    key.chmod(0o600)
    commands = {
        name: [argv for argv in confidant_lines(unit(name)["Service"])]
        for name in ("confidant.service", "confidant-backup.service")
    }
    [check] = [argv for argv in commands["confidant.service"] if argv[1] == "check"]
    [backup] = commands["confidant-backup.service"]

    def moved(argv: list[str]) -> list[str]:
        return [a.replace(ETC, str(tmp_path / "etc")).replace(STATE, str(state)) for a in argv]

    checked = confidant(*moved(check)[1:], cwd=tmp_path, env_extra=env)
    assert checked.returncode == 0, checked.stderr
    backed = confidant(*moved(backup)[1:], cwd=tmp_path, env_extra=env)
    assert backed.returncode == 0, backed.stderr
    [archive] = (state / "backups").glob("confidant-backup-*.tar")
    assert archive.stat().st_mode & 0o777 == 0o600
    prune = shlex.split(one(unit("confidant-backup.service")["Service"], "ExecStartPost"))
    assert prune[0] == "/usr/bin/find" and prune[1] == f"{STATE}/backups"
    assert "-delete" in prune and prune[prune.index("-name") + 1] == "confidant-backup-*.tar"


def test_the_backup_timer_and_service() -> None:
    timer = unit("confidant-backup.timer")
    assert timer["Timer"]["OnCalendar"] and one(timer["Timer"], "Persistent") == "true"
    assert one(timer["Install"], "WantedBy") == "timers.target"
    service = unit("confidant-backup.service")["Service"]
    assert one(service, "Type") == "oneshot" and one(service, "User") == "confidant"
    assert one(service, "ProtectSystem") == "strict" and one(service, "NoNewPrivileges") == "true"


def _verify(paths: list[Path]) -> str:
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, paths)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return (result.stdout + result.stderr).strip() + ("" if result.returncode == 0 else " (rc)")


def test_systemd_accepts_the_units_where_systemd_analyze_exists(tmp_path: Path) -> None:
    """Every key parses and every option is one systemd knows (it only warns, so any output
    is a failure). Without systemd-analyze, the structural checks above are what is possible."""
    for name in UNITS:  # always: every line is a key of a known section
        sections = unit(name)
        assert set(sections) <= {"Unit", "Service", "Timer", "Install"}, name
    if shutil.which("systemd-analyze") is None:
        return
    local = []
    executable = Path(sys.executable).with_name("confidant")  # installed into the test venv
    assert executable.exists()
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace(BINARY, str(executable))
        (tmp_path / name).write_text(text, encoding="utf-8")
        local.append(tmp_path / name)
    assert _verify(local) == ""
    for name in ("confidant.service", "confidant-backup.service"):
        review = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", str(tmp_path / name)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        level = re.search(r"Overall exposure level for \S+: ([\d.]+)", review.stdout)
        assert level, review.stdout[-500:] + review.stderr
        assert float(level.group(1)) <= 2.0, f"{name} exposure {level.group(1)}"
    # and the check can fail: a misspelt option is reported
    broken = tmp_path / "broken.service"
    broken.write_text(local[0].read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    assert "Unknown key 'NoNewPrivilege'" in _verify([broken])


def test_the_container_recipe() -> None:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    found: dict[str, list[str]] = {}
    for word, rest in instructions:
        found.setdefault(word, []).append(rest)
    assert found["FROM"] == ["python:3.12-slim"]
    user = found["USER"][-1].split(":")[0]
    assert user not in {"root", "0"} and "useradd --system --uid 10001" in text
    assert any(STATE in volume for volume in found["VOLUME"])
    for copy in found["COPY"]:
        *sources, _ = copy.split()
        assert all((ROOT / source).exists() for source in sources), copy
    [health] = found["HEALTHCHECK"]
    assert "127.0.0.1:9464/healthz" in health
    entry = json.loads(found["ENTRYPOINT"][0]) + json.loads(found["CMD"][0])
    assert entry[0] == "confidant" and entry[1] in subcommands()
    assert entry[entry.index("--config") + 1] == f"{ETC}/config.yaml"


def _clone_without_installs(tmp_path: Path) -> tuple[Path, Path]:
    """The bootstrap script beside a .venv whose python and confidant only log how they were
    called: the script's install logic runs, nothing is installed. (clone, log)"""
    clone, log = tmp_path / "clone", tmp_path / "calls.log"
    bin_dir = clone / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    shutil.copy(ROOT / "confidant", clone / "confidant")
    (clone / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for name in ("python", "confidant"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
        tool.chmod(0o755)
    return clone, log


def test_the_bootstrap_script_installs_once_quietly_and_reuses_wider_installs(
    tmp_path: Path,
) -> None:
    clone, log = _clone_without_installs(tmp_path)

    def started(command: str) -> tuple[list[str], str]:
        """The pip installs one ./confidant COMMAND started, and what it printed."""
        before = log.read_text().splitlines() if log.exists() else []
        done = subprocess.run(
            ["./confidant", command], cwd=clone, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        calls = log.read_text().splitlines()[len(before) :]
        return [c for c in calls if " pip install " in c], done.stderr

    installs, said = started("run")
    assert installs == [f"python -m pip install -qq -e {clone}[homeserver]"]
    assert said == "confidant: installing homeserver dependencies (first run takes a minute)\n"
    # `check` after `run`: the runtime came with the homeserver extra, nothing to install
    assert started("check") == ([], "")
    assert started("run") == ([], "")
    installs, _ = started("test")
    assert installs == [f"python -m pip install -qq -e {clone}[test,homeserver]"]
    assert started("check") == ([], "") and started("run") == ([], "")
    # a changed pyproject.toml is installed again, once (the stamps are made older than it)
    earlier = os.stat(clone / "pyproject.toml").st_mtime - 10
    for stamp in (clone / ".venv").glob(".installed-*"):
        os.utime(stamp, (earlier, earlier))
    installs, _ = started("check")
    assert installs == [f"python -m pip install -qq -e {clone}"]
    assert started("check") == ([], "")
    # every pip call of the script (the fresh venv's pip upgrade too) is quiet: errors only
    script = (ROOT / "confidant").read_text()
    assert script.count("pip install") == script.count("pip install -qq") == 2


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "```sh\n./confidant test\n```" in readme
    assert [line for line in ci if line and not line.startswith(("#", "set ", "cd "))] == [
        "./confidant test"
    ]
