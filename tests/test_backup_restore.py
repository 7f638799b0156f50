"""``confidant backup`` and ``restore``: an online copy of a database the bot is writing,
the key file with it, checked on the way back, private files throughout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import select
import sqlite3
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import psycopg
import pytest

from bot.checkins.sealing import Sealer
from bot.maintenance import wrong_user
from bot.store.archive import DATABASE, KEY, MANIFEST, BackupError, restore_backup
from bot.store.backup import database_in_use, online_copy
from bot.store.postgres import apply_pg_migrations
from tests.checkin_rig import CHECKIN_POLICY, checkin_rig, dm, private_to
from tests.conftest import make_config, write_policy
from tests.pg_server import drop_database, new_database
from tests.test_cli import ROOT, confidant
from tests.test_migrations_upgrade import (
    LATEST,
    PG_MIGRATIONS,
    ROWS,
    _ordered,
    build_at,
    columns,
    fill,
    pg_columns,
    pg_fill,
    pg_tables,
    tables,
)

NOTE = "walked by the river after the meeting"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def count(database: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(database)) as db:  # closed: it would count as a bot
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def prepare(place: Path) -> Path:
    """A deployment directory: the check-in policy and a config.yaml; returns the config."""
    write_policy(place / "policies", CHECKIN_POLICY)
    make_config(place)
    return place / "config.yaml"


async def alice_checks_in(rig) -> None:  # type: ignore[no-untyped-def]
    await rig.say(":room recovery", ":join alice", "alice: /agree", ":join bob")
    await rig.say("alice: /checkin", *dm("alice", "agree", "4", "y", "friends", NOTE))


async def write_while(proc: asyncio.subprocess.Process, rig) -> int:  # type: ignore[no-untyped-def]
    """Members join and agree until the backup process ends (bounded in count and time)."""
    deadline = time.monotonic() + 60
    written = 0
    while proc.returncode is None and written < 5000 and time.monotonic() < deadline:
        await rig.say(f":join m{written}", f"m{written}: /agree")
        written += 1
    return written


async def test_backup_while_running_then_restore_elsewhere(tmp_path: Path) -> None:
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    prepare(live)
    archive = tmp_path / "backups" / "confidant.tar"
    archive.parent.mkdir()
    async with checkin_rig(live) as rig:
        await alice_checks_in(rig)
        database = rig.app.store.path
        before = count(database, "agreements")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "backup", "--config", str(live / "config.yaml"),
            str(archive), cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        written = await write_while(proc, rig)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        after = count(database, "agreements")
        original_key = rig.app.key
    assert proc.returncode == 0, err.decode()
    assert written > 0 and after == before + written  # the bot kept writing throughout
    assert f"to {archive}" in out.decode() and "0600" in out.decode()
    assert err.decode() == ""  # not a terminal: no progress bar
    assert mode(archive) == 0o600
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted([MANIFEST, DATABASE, KEY])

    config = prepare(fresh)
    result = confidant("restore", "--config", str(config), str(archive), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Restored" in result.stdout
    restored_db, restored_key = fresh / "confidant.db", fresh / "confidant.key"
    assert mode(restored_db) == 0o600 and mode(restored_key) == 0o600
    # a consistent moment between the first and the last write, never half of one
    assert before <= count(restored_db, "agreements") <= after
    with contextlib.closing(sqlite3.connect(restored_db)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    async with checkin_rig(fresh) as restored:
        assert restored.app.key == original_key
        out = await restored.say(":room recovery", ":join alice", ":mod mod", "mod: /agreements")
        assert "[private → alice]" not in out  # reminded before the backup: not again
        assert " alice (" in out and "not agreed: bob" in out  # by version, with when
        [checkin] = await restored.app.store.member_checkins("console", "alice", 5)
        answers = await restored.app.store.checkin_answers(checkin.id)
        sealer = Sealer(restored.app.key)
        assert sealer.open(checkin.id, "note", answers[-1].sealed) == NOTE  # type: ignore[arg-type]
        assert NOTE in private_to("alice", await restored.say(*dm("alice", "/mydata")))


def test_online_copy_is_one_consistent_moment(tmp_path: Path) -> None:
    """Writes landing between the copy's steps are not in the copy, and it never restarts."""
    source, target = tmp_path / "source.db", tmp_path / "copy.db"
    with contextlib.closing(sqlite3.connect(source)) as db, db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE rows (n INTEGER, pad BLOB)")
        db.executemany("INSERT INTO rows VALUES (?, ?)", ((n, bytes(200)) for n in range(20_000)))
    writer = sqlite3.connect(source, isolation_level=None)
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) <= 20:  # bounded: a copy that restarts on every write would never end
            writer.execute("INSERT INTO rows VALUES (?, ?)", (-len(seen), bytes(200)))

    try:
        pages = online_copy(source, target, progress)
    finally:
        writer.close()
    assert len(seen) >= 5  # really copied in steps, with writes between them
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)  # never restarted
    assert seen[-1] == (pages, pages)
    assert mode(target) == 0o600
    with contextlib.closing(sqlite3.connect(target)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT COUNT(*), MIN(n) FROM rows").fetchone() == (20_000, 0)
    assert count(source, "rows") == 20_000 + min(len(seen), 20)


async def test_restore_refuses_while_running_and_over_existing_data(tmp_path: Path) -> None:
    config = prepare(tmp_path)
    archive = tmp_path / "confidant.tar"
    async with checkin_rig(tmp_path) as rig:
        await alice_checks_in(rig)
        assert (
            confidant("backup", "--config", str(config), str(archive), cwd=tmp_path).returncode == 0
        )
        assert database_in_use(rig.app.store.path)
        forced = confidant(
            "restore", "--force", "--config", str(config), str(archive), cwd=tmp_path
        )
        assert forced.returncode == 1
        assert "Confidant seems to be running" in forced.stderr
        await rig.say(":join carol")  # after the backup: a restore would take this back
    assert not database_in_use(tmp_path / "confidant.db")
    plain = confidant("restore", "--config", str(config), str(archive), cwd=tmp_path)
    assert plain.returncode == 1 and "--force" in plain.stderr
    assert count(tmp_path / "confidant.db", "memberships") == 3  # untouched
    forced = confidant("restore", "--force", "--config", str(config), str(archive), cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert count(tmp_path / "confidant.db", "memberships") == 2  # alice and bob, not carol
    assert not list(tmp_path.glob("confidant.db-*"))  # no stale WAL replayed over it


def _archive(tmp_path: Path) -> Path:
    """A real backup of a small deployment, taken through the CLI with no bot running."""
    config = prepare(tmp_path / "src")
    script = tmp_path / "session.txt"
    script.write_text(":join alice\nalice: /agree\n", encoding="utf-8")
    made = confidant("console", "--config", str(config), "--script", str(script), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    archive = tmp_path / "good.tar"
    result = confidant("backup", "--config", str(config), str(archive), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return archive


def _flip_byte_in_database(good: bytes, archive: Path) -> bytes:
    with tarfile.open(archive) as tar:
        member = tar.getmember(DATABASE)
    at = member.offset_data + member.size // 2
    return good[:at] + bytes([good[at] ^ 0x01]) + good[at + 1 :]


def _without_manifest(tmp_path: Path, archive: Path) -> bytes:
    other = tmp_path / "no-manifest.tar"
    with tarfile.open(archive) as source, tarfile.open(other, "w") as tar:
        member = source.getmember(DATABASE)
        tar.addfile(member, source.extractfile(member))
    return other.read_bytes()


def test_damaged_archives_are_refused_and_nothing_is_restored(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    good = archive.read_bytes()
    damaged = {
        "flipped byte": (_flip_byte_in_database(good, archive), "does not match the checksum"),
        "truncated": (good[: len(good) // 2], "damaged or truncated"),
        "not a tar": (b"confidant.db\n" * 100, "damaged or truncated"),
        "no manifest": (_without_manifest(tmp_path, archive), "not a Confidant backup"),
        "wrong manifest": (
            good.replace(b'"confidant-backup"', b'"confidant-bakcup"', 1),
            "manifest is damaged",
        ),
    }
    target = tmp_path / "target"
    for case, (body, message) in damaged.items():
        bad = tmp_path / f"{case}.tar"
        bad.write_bytes(body)
        with pytest.raises(BackupError, match=message):
            restore_backup(bad, target / "confidant.db", target / "confidant.key")
        assert not (target / "confidant.db").exists(), case
        assert not (target / "confidant.key").exists(), case
        assert not list(target.glob(".confidant-*")), case  # scratch files cleaned up
    # and through the command: a clear error, exit 1
    config = prepare(target)
    (tmp_path / "bad.tar").write_bytes(damaged["flipped byte"][0])
    result = confidant("restore", "--config", str(config), str(tmp_path / "bad.tar"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("confidant: ") and "archive is damaged" in result.stderr
    assert "Traceback" not in result.stderr
    # the good one restores
    assert restore_backup(archive, target / "confidant.db", target / "confidant.key").manifest


def test_backup_refuses_to_overwrite_and_names_files_in_a_directory(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    config = tmp_path / "src" / "config.yaml"
    again = confidant("backup", "--config", str(config), str(archive), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr
    folder = tmp_path / "nightly"  # does not exist yet: a trailing / asks for a directory
    into = confidant("backup", "--config", str(config), f"{folder}/", cwd=tmp_path)
    assert into.returncode == 0, into.stderr
    [made] = folder.glob("confidant-backup-*.tar")
    assert mode(made) == 0o600 and mode(folder) == 0o700
    second = confidant("backup", "--config", str(config), str(folder), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert len(list(folder.glob("confidant-backup-*.tar"))) == 2  # never one over another


def test_embedded_default_state_dir_without_config(tmp_path: Path) -> None:
    state, elsewhere = tmp_path / "state", tmp_path / "elsewhere"
    env = {"CONFIDANT_STATE_DIR": str(state)}
    made = confidant("console", cwd=tmp_path, stdin=":join alice\nalice: /agree\n", env_extra=env)
    assert made.returncode == 0, made.stderr
    backup = confidant("backup", str(tmp_path / "b.tar"), cwd=tmp_path, env_extra=env)
    assert backup.returncode == 0, backup.stderr
    assert str(state / "confidant.db") in backup.stdout
    env = {"CONFIDANT_STATE_DIR": str(elsewhere)}
    restore = confidant("restore", str(tmp_path / "b.tar"), cwd=tmp_path, env_extra=env)
    assert restore.returncode == 0, restore.stderr
    assert (elsewhere / "confidant.key").read_bytes() == (state / "confidant.key").read_bytes()
    assert count(elsewhere / "confidant.db", "agreements") == 1


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    _archive(tmp_path)
    config = tmp_path / "src" / "config.yaml"
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "backup", "--config", str(config),
             str(tmp_path / "tty.tar")],
            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE, stderr=follower,
        )  # fmt: skip
        os.close(follower)
        shown = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=60) == 0
        assert proc.stdout is not None
        assert b"Backed up" in proc.stdout.read()
        proc.stdout.close()
    finally:
        os.close(leader)
    assert b"\rbacking up the database [" in shown and b"100% (" in shown and b" pages)" in shown
    # ``_archive`` ran the same command without a terminal: no bar there
    plain = confidant("backup", "--config", str(config), str(tmp_path / "p.tar"), cwd=tmp_path)
    assert plain.returncode == 0 and plain.stderr == ""


def test_restore_and_migrate_write_state_only_as_its_owner(tmp_path: Path) -> None:
    """Run as root on a state directory of the ``confidant`` user, they would leave files the
    bot cannot open; so another user than the directory's owner is refused."""
    database = tmp_path / "state" / "confidant.db"
    assert wrong_user(database, os.geteuid()) is None  # nothing there yet: nothing to spoil
    database.parent.mkdir()
    owner = database.parent.stat().st_uid
    assert wrong_user(database, owner) is None
    problem = wrong_user(database, owner + 1)
    assert problem is not None
    assert str(database.parent) in problem and "run this as" in problem


# -- both backends: PostgreSQL's tables travel in the same archive ----------------------------

SECRET = "unused-but-secret-4417"  # the test server trusts its socket; never printed


def with_password_ref(url: str) -> str:
    """The test URL as an admin writes it: the password a ``${VAR}`` reference."""
    base, _, query = url.partition("?")
    return base.replace("postgres:@", "postgres:${CONFIDANT_DB_PASSWORD}@") + "?" + query


def pg_contents(url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(url) as db:
        return {
            table: _ordered(
                db.execute(f"SELECT {','.join(pg_columns(db, table))} FROM {table}").fetchall()
            )
            for table in pg_tables(db)
        }


def deployment(place: Path, database: Path | str) -> Path:
    """A config for ``database`` (a file, or a URL whose password is a ``${VAR}``) with the
    policies and a key file beside it; returns the config."""
    write_policy(place / "policies", CHECKIN_POLICY)
    shown = database if isinstance(database, Path) else with_password_ref(database)
    (place / "config.yaml").write_text(
        f"database: {shown}\nkey_file: confidant.key\npolicy_dir: policies\n"
        "adapters:\n  console:\n    enabled: true\n"
    )
    return place / "config.yaml"


def put_key(place: Path, key: bytes = bytes(range(32))) -> None:
    (place / "confidant.key").write_text(key.hex() + "\n")
    (place / "confidant.key").chmod(0o600)


async def seeded(database: Path | str, version: int = LATEST) -> None:
    """Every table of ``database`` at ``version`` with the realistic rows of ROWS."""
    if isinstance(database, Path):
        await build_at(database, version)
        fill(database)
    else:
        await apply_pg_migrations(database, PG_MIGRATIONS[:version], "2026-02-01T00:00:00Z")
        pg_fill(database)


def contents(database: Path | str) -> dict[str, list[tuple[object, ...]]]:
    if not isinstance(database, Path):
        return {t: r for t, r in pg_contents(database).items() if t != "schema_migrations"}
    with contextlib.closing(sqlite3.connect(database)) as db:
        return {
            t: _ordered(db.execute(f"SELECT {','.join(columns(db, t))} FROM {t}").fetchall())
            for t in tables(db)
        }


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = confidant(*args, cwd=cwd, env_extra={"CONFIDANT_DB_PASSWORD": SECRET})
    assert SECRET not in result.stdout + result.stderr
    return result


async def test_backup_then_restore_every_table_on_either_backend(
    tmp_path: Path, database: Path | str, request: pytest.FixtureRequest
) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir()
    target.mkdir()
    await seeded(database)
    put_key(source)
    config = deployment(source, database)
    archive = tmp_path / "b.tar"
    backup = run("backup", "--config", str(config), str(archive), cwd=tmp_path)
    assert backup.returncode == 0, backup.stderr
    unit = "pages" if isinstance(database, Path) else "rows"
    assert f"(schema {LATEST}, " in backup.stdout and f" {unit}) and " in backup.stdout
    assert mode(archive) == 0o600
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == sorted([MANIFEST, DATABASE, KEY])
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    assert manifest["schema_version"] == LATEST

    server = None if isinstance(database, Path) else request.getfixturevalue("pg_server")
    fresh = target / "confidant.db" if server is None else new_database(server)  # a new one
    try:
        restored_config = deployment(target, fresh)
        restore = run("restore", "--config", str(restored_config), str(archive), cwd=tmp_path)
        assert restore.returncode == 0, restore.stderr
        assert f"(schema {LATEST})" in restore.stdout
        assert contents(fresh) == contents(database)  # every row of every table
        assert (target / "confidant.key").read_bytes() == (source / "confidant.key").read_bytes()
        again = run("restore", "--config", str(restored_config), str(archive), cwd=tmp_path)
        assert again.returncode == 1 and "--force" in again.stderr
    finally:
        if server is not None:
            drop_database(server, str(fresh))


async def test_restore_on_postgresql_refuses_a_running_bot_and_damage_and_loses_nothing(
    tmp_path: Path, pg_database: str
) -> None:
    sqlite_archive = _archive(tmp_path)  # alice agreed; a SQLite deployment's backup
    place = tmp_path / "pg"
    place.mkdir()
    await seeded(pg_database)
    put_key(place)
    config = deployment(place, pg_database)
    before = contents(pg_database)
    plain = run("restore", "--config", str(config), str(sqlite_archive), cwd=tmp_path)
    assert plain.returncode == 1 and "--force" in plain.stderr and "rows)" in plain.stderr
    assert contents(pg_database) == before

    with psycopg.connect(pg_database) as held:  # a running Confidant holds connections
        held.execute("SELECT 1")
        busy = run("restore", "--force", "--config", str(config), str(sqlite_archive),
                   cwd=tmp_path)  # fmt: skip
    assert busy.returncode == 1 and "Confidant seems to be running" in busy.stderr
    assert contents(pg_database) == before

    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(_flip_byte_in_database(sqlite_archive.read_bytes(), sqlite_archive))
    bad = run("restore", "--force", "--config", str(config), str(damaged), cwd=tmp_path)
    assert bad.returncode == 1 and "archive is damaged" in bad.stderr
    assert contents(pg_database) == before

    # told to, the SQLite deployment's archive replaces it all (schema, rows and key)
    forced = run("restore", "--force", "--config", str(config), str(sqlite_archive),
                 cwd=tmp_path)  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    now = contents(pg_database)
    assert len(now["agreements"]) == 1 and now["fingerprints"] == []
    assert (place / "confidant.key").read_bytes() == (
        tmp_path / "src" / "confidant.key"
    ).read_bytes()


async def test_a_restore_that_fails_midway_keeps_the_postgresql_data(
    tmp_path: Path, pg_database: str
) -> None:
    archive = _archive(tmp_path)
    await seeded(pg_database)
    before = contents(pg_database)

    def fail(done: int, total: int) -> None:
        raise OSError("the connection dropped")

    with pytest.raises(OSError, match="connection dropped"):
        restore_backup(archive, pg_database, tmp_path / "k.key", force=True, progress=fail)
    assert contents(pg_database) == before and not (tmp_path / "k.key").exists()


async def test_a_postgresql_backup_is_one_moment_with_its_progress(
    tmp_path: Path, pg_database: str
) -> None:
    """The bot writes between the copy's batches; the archive holds the moment it began,
    and the progress climbs in rows to the total."""
    from bot.store.transfer import postgres_to_sqlite

    await seeded(pg_database)
    with psycopg.connect(pg_database) as db:
        db.cursor().executemany(
            "INSERT INTO memberships VALUES ('console', 'recovery', %s, '2026-03-01', NULL)",
            [(f"m{n}",) for n in range(12_000)],
        )
    writer = psycopg.connect(pg_database, autocommit=True)
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) <= 10:  # bounded
            writer.execute(
                "INSERT INTO memberships VALUES ('console', 'recovery', %s, '2026-03-02', NULL)",
                (f"late{len(seen)}",),
            )

    try:
        rows = postgres_to_sqlite(pg_database, tmp_path / "copy.db", progress)
    finally:
        writer.close()
    assert len(seen) >= 3 and seen[-1] == (rows, rows)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert mode(tmp_path / "copy.db") == 0o600
    late = min(len(seen), 10)
    assert len(contents(pg_database)["memberships"]) == 12_000 + len(ROWS["memberships"]) + late
    assert count(tmp_path / "copy.db", "memberships") == 12_000 + len(ROWS["memberships"])
    with contextlib.closing(sqlite3.connect(tmp_path / "copy.db")) as copy:
        assert not copy.execute("SELECT 1 FROM memberships WHERE member_id LIKE 'late%'").fetchall()
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_a_postgresql_database_newer_than_the_code_is_not_backed_up(
    tmp_path: Path, pg_database: str
) -> None:
    await seeded(pg_database)
    with psycopg.connect(pg_database) as db:
        db.execute(
            "INSERT INTO schema_migrations VALUES (%s, %s, '2026-03-01')",
            (LATEST + 1, f"{LATEST + 1:04d}_from_the_future.sql"),
        )
    put_key(tmp_path)
    config = deployment(tmp_path, pg_database)
    backup = run("backup", "--config", str(config), str(tmp_path / "b.tar"), cwd=tmp_path)
    assert backup.returncode == 1 and "newer than this Confidant" in backup.stderr
    assert "Traceback" not in backup.stderr and not (tmp_path / "b.tar").exists()
