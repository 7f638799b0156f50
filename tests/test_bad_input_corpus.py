"""The bad-input corpus: every malformed or hostile file is refused at its file and line.

Each case under ``tests/corpus`` states its expected errors in its first comment lines (see
``tests/corpus/README.md``); the cases go through the real loaders (``load_policy_dir``,
``load_config``, ``load_or_create_key``) and, for policies, through the hot reload of a
running bot, which must keep serving its last good policy.
"""

from __future__ import annotations

import codecs
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.config import load_config, read_config
from bot.keys import KeyFileError, load_or_create_key
from bot.policy import PolicyError, PolicyLoadError, load_policy_dir
from bot.state_paths import state_path_errors
from tests.conftest import POLICY, make_config, start_rig, write_policy

CORPUS = Path(__file__).resolve().parent / "corpus"
_BOM = b"\xef\xbb\xbf"
_DIRECTIVE = re.compile(r"^# (expect|expect-key|env|chmod|mkdir|symlink|pad-to-bytes): (.*)$")
# "LINE:COL: fragment", or "NAME LINE:COL: fragment" for an entry that cannot hold its own
# header (a link, a folder made by '# mkdir:').
_WHERE = re.compile(r"^(?:(\S+) )?(\d+):(\d+): (.+)$")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Expected:
    """One error a case must produce: where (as the loader names the file) and what."""

    path: str
    line: int
    column: int
    fragment: str


@dataclass(frozen=True)
class Directive:
    name: str
    value: str
    file: str  # the case file it was written in (its name inside the case)


@dataclass(frozen=True)
class Case:
    kind: str  # "policy" or "config"
    name: str
    source: Path  # a file, or a folder of files
    directives: tuple[Directive, ...]

    @property
    def files(self) -> list[Path]:
        if self.source.is_file():
            return [self.source]
        return sorted(p for p in self.source.iterdir() if p.suffix.lower() in _SUFFIXES)

    def values(self, name: str) -> list[Directive]:
        return [d for d in self.directives if d.name == name]

    def expected(self, prefix: str, name: str = "expect") -> list[Expected]:
        """The errors this case must produce, in files shown as ``prefix + file name``."""
        found = []
        for directive in self.values(name):
            match = _WHERE.match(directive.value)
            assert match, f"{self.name}: malformed '# {name}:' line {directive.value!r}"
            file, line, column, fragment = match.groups()
            found.append(
                Expected(prefix + (file or directive.file), int(line), int(column), fragment)
            )
        return found

    def env(self) -> dict[str, str]:
        env = {}
        for directive in self.values("env"):
            name, _, value = directive.value.partition("=")
            env[name] = codecs.decode(value, "unicode_escape") if "\\" in value else value
        return env

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"


def _header(data: bytes) -> list[tuple[str, str]]:
    """The directive lines at the top of a file (or of a whole sidecar)."""
    found = []
    for raw in data.removeprefix(_BOM).split(b"\n"):
        match = _DIRECTIVE.match(raw.rstrip(b"\r").decode("utf-8", "replace"))
        if match is None:
            break
        found.append((match.group(1), match.group(2)))
    return found


def _directives(file: Path) -> list[Directive]:
    sidecar = file.with_name(file.name + ".expect")
    source = sidecar if sidecar.exists() else file
    return [Directive(name, value, file.name) for name, value in _header(source.read_bytes())]


def _collect(kind: str, folder: Path) -> list[Case]:
    cases = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.suffix.lower() in _SUFFIXES)
            directives = tuple(d for file in files for d in _directives(file))
            cases.append(Case(kind, entry.name, entry, directives))
        elif entry.suffix == ".yaml":
            cases.append(Case(kind, entry.stem, entry, tuple(_directives(entry))))
    return cases


POLICY_CASES = _collect("policy", CORPUS / "policies")
CONFIG_CASES = _collect("config", CORPUS / "configs")


def _pad(file: Path, size: int) -> None:
    """Grow a file with comment lines: a huge file is made here, never committed."""
    with file.open("ab") as handle:
        missing = size - file.stat().st_size
        line = b"# " + b"padding " * 9 + b"\n"
        handle.write(line * (missing // len(line) + 1))


def _clear(folder: Path) -> None:
    """Empty a policy folder, including the links and folders a case made."""
    for old in folder.iterdir():
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()


def _prepare(case: Case, into: Path) -> None:
    """Apply the case's set-up directives to its copy in ``into``."""
    for directive in case.values("pad-to-bytes"):
        _pad(into / directive.file, int(directive.value))
    for directive in case.values("chmod"):
        name, mode = directive.value.split()
        os.chmod(into / name, int(mode, 8))
    for directive in case.values("mkdir"):
        (into / directive.value).mkdir()
    for directive in case.values("symlink"):
        link, _, target = directive.value.partition(" -> ")
        (into / link).symlink_to(target)


def install_policy_case(case: Case, policy_dir: Path) -> list[Expected]:
    """Copy the case's policy files into ``policy_dir``; the errors to expect there."""
    policy_dir.mkdir(parents=True, exist_ok=True)
    for file in case.files:
        shutil.copyfile(file, policy_dir / file.name)
    _prepare(case, policy_dir)
    return case.expected(f"{policy_dir.name}/")


def install_config_case(case: Case, into: Path) -> Path:
    """Copy the case (a config, or a config and its files) into ``into``; its config path."""
    if case.source.is_file():
        target = into / case.source.name
        shutil.copyfile(case.source, target)
        _prepare(case, into)
        return target
    folder = into / case.name
    shutil.copytree(case.source, folder)
    _prepare(case, folder)
    return folder / "config.yaml"


def assert_reported(errors: tuple[PolicyError, ...], expected: list[Expected]) -> None:
    """Exactly the expected errors: same files, lines and columns, messages containing the
    expected words."""
    shown = "\n".join(str(e) for e in errors)
    actual = sorted((e.path, e.line, e.column, e.message) for e in errors)
    wanted = sorted((x.path, x.line, x.column, x.fragment) for x in expected)
    assert [a[:3] for a in actual] == [w[:3] for w in wanted], shown
    for (*_, message), (*_, fragment) in zip(actual, wanted, strict=True):
        assert fragment in message, shown


@pytest.mark.parametrize("case", POLICY_CASES, ids=str)
def test_policy_case_is_refused_at_its_line(case: Case, tmp_path: Path) -> None:
    expected = install_policy_case(case, tmp_path / "policies")
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_dir(tmp_path / "policies", display_root=tmp_path)
    assert_reported(caught.value.errors, expected)


@pytest.mark.parametrize("case", CONFIG_CASES, ids=str)
def test_config_case_is_refused_at_its_line(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path = install_config_case(case, tmp_path)
    monkeypatch.chdir(config_path.parent)
    env = case.env()
    expected = case.expected("")
    if expected:
        config, places, errors = read_config(config_path, env)
        if not errors:
            # The database and key file are looked at only for otherwise valid configs here,
            # so cases written with server paths (/var/lib/...) do not depend on who runs
            # the suite; `confidant check` looks at them in every case.
            assert places is not None
            errors = state_path_errors(places)
        assert errors, "the case was accepted"
        assert_reported(tuple(errors), expected)
        shown = "\n".join(str(e) for e in errors)
        for secret in (value for value in env.values() if value):
            assert secret not in shown
        return
    config = load_config(config_path, env)
    (wanted,) = case.expected("", "expect-key")  # located in the key file, not the config
    with pytest.raises(KeyFileError) as caught_key:
        load_or_create_key(config.key_file)
    error = caught_key.value
    where = (str(config.key_file), wanted.line, wanted.column)
    assert (error.path, error.line, error.column) == where
    assert str(error).startswith(f"{config.key_file}:{wanted.line}:{wanted.column}: ")
    assert wanted.fragment in error.message
    if config.key_file.is_file():
        content = config.key_file.read_text(errors="replace").strip()
        assert not content or content not in str(error)


def test_corpus_is_large_and_every_case_expects_something() -> None:
    cases = POLICY_CASES + CONFIG_CASES
    assert len(cases) >= 60
    assert len({str(case) for case in cases}) == len(cases)
    for case in cases:
        assert case.values("expect") or case.values("expect-key"), f"{case} expects nothing"
        assert case.files, f"{case} has no files"
    assert len(POLICY_CASES) >= 40 and len(CONFIG_CASES) >= 20
    assert any(not case.source.is_file() for case in POLICY_CASES)  # several-file cases too
    assert sum(bool(case.values("expect-key")) for case in CONFIG_CASES) >= 5


def test_every_corpus_file_belongs_to_a_case() -> None:
    """A sidecar without its file, or a stray file, would silently test nothing."""
    for folder in (CORPUS / "policies", CORPUS / "configs"):
        for entry in folder.iterdir():
            if entry.name.endswith(".expect"):
                assert entry.with_name(entry.name.removesuffix(".expect")).is_file(), entry
            else:
                assert entry.is_dir() or entry.suffix == ".yaml", entry


async def test_hot_reload_rejects_every_policy_case_and_keeps_the_last_good(
    tmp_path: Path,
) -> None:
    """One running bot; each case in turn replaces its policy files. Every one is reported
    to the moderators at its file and line, and members joining in between still get the
    last good policy's reminder."""
    policy_dir = tmp_path / "policies"
    write_policy(policy_dir)
    rig = await start_rig(make_config(tmp_path))
    try:
        for index, case in enumerate(POLICY_CASES):
            _clear(policy_dir)
            expected = install_policy_case(case, policy_dir)
            before = len(rig.out.getvalue())
            await rig.app.runtime.poll_policies()
            alert = rig.out.getvalue()[before:]
            assert alert.startswith(
                "[alert → #mods] Policy reload failed; the last good policies keep running."
            ), case
            for error in expected:
                # moderators read the files named within the policy folder, not the server's path
                within = error.path.removeprefix(f"{policy_dir.name}/")
                assert f"\n    {within}:{error.line}:{error.column}: " in alert, (case, alert)
            member = f"member{index}"
            joined = await rig.say(f":join {member}")
            assert f"[private → {member}] Welcome to recovery." in joined, case
            assert "What is shared here stays here." in joined, case
        _clear(policy_dir)
        write_policy(policy_dir, POLICY.replace("stays here.", "stays here, always."))
        await rig.app.runtime.poll_policies()
        assert "stays here, always." in await rig.say(":join after-the-corpus")
    finally:
        await rig.app.close()
