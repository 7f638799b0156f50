"""The admin config: environment secrets, paths relative to the file, and located errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import ConfigError, default_config, load_config, read_config, substitute_env
from bot.policy import PolicyLoadError, load_policy_dir
from bot.secret import SecretStr
from bot.state_paths import state_path_errors

ROOT = Path(__file__).resolve().parents[1]

MATRIX = (
    "adapters:\n"
    "  matrix:\n"
    "    homeserver: https://matrix.example.org\n"
    '    user_id: "@confidant:example.org"\n'
    "    password: ${CONFIDANT_MATRIX_PASSWORD}\n"
)
ENV = {"CONFIDANT_MATRIX_PASSWORD": "correct horse"}


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(directory: Path, text: str, name: str = "config.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def errors(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, env if env is not None else ENV)
    return [str(e) for e in caught.value.errors]


def test_env_substitution_in_values(in_tmp: Path) -> None:
    config = load_config(write(in_tmp, MATRIX), ENV)
    assert config.adapters.matrix is not None
    assert config.adapters.matrix.password is not None
    assert config.adapters.matrix.password.get_secret_value() == "correct horse"
    assert config.adapters.matrix.access_token is None


@pytest.mark.parametrize(
    ("template", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("pre-${A}-${B}", {"A": "1", "B": "2"}, "pre-1-2"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-fallback}", {"A": ""}, "fallback"),
        ("${A:-fallback}", {"A": "set"}, "set"),
        ("${A:-}", {}, ""),
        ("${A:-has:-colons}", {}, "has:-colons"),
        ("cost $5 and $${A}", {}, "cost $5 and ${A}"),
        ("no variables", {}, "no variables"),
        # a default that holds references, as the shell expands it
        ("${A:-${B}/x}", {"B": "/srv"}, "/srv/x"),
        ("${A:-${B}/x}", {"A": "/a", "B": "/srv"}, "/a"),
        ("${A:-${B}/x}", {"A": "/a"}, "/a"),  # an unused default is not expanded
        ("${A:-${B:-${C}}/y}", {"C": "/c"}, "/c/y"),
        ("${A:-{x}}", {}, "{x}"),
        ("${A:-a}b}", {}, "ab}"),
        ("${A:-$${B}}", {}, "${B}"),
    ],
)
def test_substitute_env(template: str, env: dict[str, str], expected: str) -> None:
    assert substitute_env(template, env) == expected


def test_nested_defaults_are_bounded_and_located(in_tmp: Path) -> None:
    deep = "${A:-" * 12 + "x" + "}" * 12
    path = write(in_tmp, f"database: ${{DB:-${{MISSING}}/x.db}}\nkey_file: {deep}\n" + MATRIX)
    assert errors(path) == [
        "config.yaml:1:11: environment variable MISSING is not set",
        "config.yaml:2:11: variable references are nested more than 10 deep; simplify them",
    ]


def test_env_values_never_change_the_yaml_structure(in_tmp: Path) -> None:
    tricky = "p: #not-a-comment\n  log_level: DEBUG"
    config = load_config(write(in_tmp, MATRIX), {"CONFIDANT_MATRIX_PASSWORD": tricky})
    assert config.adapters.matrix is not None
    assert config.adapters.matrix.password is not None
    assert config.adapters.matrix.password.get_secret_value() == tricky
    assert config.log_level == "INFO"


def test_keys_are_not_substituted(in_tmp: Path) -> None:
    path = write(in_tmp, "${KEY}: x\n" + MATRIX)
    assert errors(path, {**ENV, "KEY": "database"}) == ["config.yaml:1:1: unknown key '${KEY}'"]


def test_missing_env_var_is_located(in_tmp: Path) -> None:
    path = write(in_tmp, MATRIX + "  discord:\n    token: 'Bot ${CONFIDANT_DISCORD_TOKEN}'\n")
    assert errors(path, {}) == [
        "config.yaml:5:15: environment variable CONFIDANT_MATRIX_PASSWORD is not set",
        "config.yaml:7:12: environment variable CONFIDANT_DISCORD_TOKEN is not set",
    ]


def test_malformed_references(in_tmp: Path) -> None:
    path = write(in_tmp, "database: ${1BAD}\nkey_file: ${OPEN\n" + MATRIX)
    assert errors(path) == [
        "config.yaml:1:11: '${1BAD}' is not a valid variable reference; write ${NAME} or "
        "${NAME:-default}",
        "config.yaml:2:11: '${' is never closed with '}'; write ${NAME} or ${NAME:-default}",
    ]


def test_relative_paths_are_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc" / "confidant"
    etc.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(
        etc,
        "database: data/confidant.db\n"
        "key_file: /var/lib/confidant/confidant.key\n"
        "policy_dir: ../policies\n" + MATRIX + "    store_dir: ~/matrix-store\n",
    )
    config = load_config(path, ENV)
    assert config.database == etc / "data" / "confidant.db"
    assert config.key_file == Path("/var/lib/confidant/confidant.key")
    assert config.policy_dir == tmp_path / "etc" / "policies"
    assert config.adapters.matrix is not None
    assert config.adapters.matrix.store_dir == tmp_path / "home" / "matrix-store"
    assert config.source == str(path)
    assert all(p.is_absolute() for p in (config.database, config.key_file, config.policy_dir))


def test_defaults_for_omitted_keys(in_tmp: Path) -> None:
    config = load_config(write(in_tmp, "adapters:\n  console: {}\n"), {})
    assert config.database == in_tmp.resolve() / "confidant.db"
    assert config.key_file == in_tmp.resolve() / "confidant.key"
    assert config.policy_dir == in_tmp.resolve() / "policies"
    assert config.log_level == "INFO"
    assert config.adapters.console is not None
    assert config.adapters.console.enabled is True
    assert (config.adapters.matrix, config.adapters.discord) == (None, None)
    assert config.source == "config.yaml"


def test_secrets_stay_out_of_repr_and_str(in_tmp: Path) -> None:
    path = write(
        in_tmp,
        MATRIX + "  discord:\n    token: ${CONFIDANT_DISCORD_TOKEN}\n",
    )
    config = load_config(path, {**ENV, "CONFIDANT_DISCORD_TOKEN": "discord-sekrit"})
    assert isinstance(config.adapters.discord and config.adapters.discord.token, SecretStr)
    for rendered in (repr(config), str(config), repr(config.adapters), config.model_dump_json()):
        assert "correct horse" not in rendered
        assert "discord-sekrit" not in rendered
    assert config.adapters.discord is not None
    assert config.adapters.discord.token.get_secret_value() == "discord-sekrit"


def test_secret_values_are_not_quoted_in_errors(in_tmp: Path) -> None:
    path = write(in_tmp, "adapters:\n  discord:\n    token: 8675309\n")
    assert errors(path) == ["config.yaml:3:12: expected text, got a number"]


def test_values_from_the_environment_say_so_instead_of_remove_the_quotes(in_tmp: Path) -> None:
    path = write(
        in_tmp,
        "log_level: ${LEVEL}\n"
        "adapters:\n"
        "  console:\n"
        "    enabled: ${CONSOLE_ON}\n"
        "  matrix:\n"
        "    homeserver: ${HOMESERVER:-matrix.example.org}\n"
        '    user_id: "@confidant:example.org"\n'
        "    password: ${CONFIDANT_MATRIX_PASSWORD}\n"
        "    spare_private_chats: ${SPARE}\n",
    )
    found = errors(path, {**ENV, "LEVEL": "debug", "CONSOLE_ON": "true", "SPARE": "3"})
    assert found == [
        "config.yaml:1:12: 'debug' is not one of: DEBUG, INFO, WARNING, ERROR (the value came "
        "from the environment variable LEVEL)",
        "config.yaml:4:14: expected true or false, got 'true' (the value came from the "
        "environment variable CONSOLE_ON, and the environment holds only text: write true or "
        "false here instead)",
        "config.yaml:6:17: 'matrix.example.org' is not a homeserver address; write it like "
        "https://matrix.example.org (the value came from the environment variable HOMESERVER "
        "or its default)",
        "config.yaml:9:26: expected a whole number, got '3' (the value came from the "
        "environment variable SPARE, and the environment holds only text: write a whole "
        "number here instead)",
    ]
    assert not any("remove the quotes" in line for line in found)
    # written in the file itself, quotes are still the likely mistake
    quoted = write(in_tmp, 'adapters:\n  console:\n    enabled: "true"\n')
    assert errors(quoted) == [
        "config.yaml:3:14: expected true or false, got 'true' (remove the quotes)"
    ]


def test_an_empty_console_section_means_the_defaults(in_tmp: Path) -> None:
    """Like ``status:``, and like ``console: {}``; it used to read as no console at all."""
    for text in ("adapters:\n  console:\n", "adapters:\n  console:\nstatus:\n"):
        config = load_config(write(in_tmp, text), {})
        assert config.adapters.console is not None and config.adapters.console.enabled
        assert config.status.enabled


def test_config_mistakes_are_all_reported(in_tmp: Path) -> None:
    path = write(
        in_tmp,
        "databse: x.db\n"
        "log_level: info\n"
        "adapters:\n"
        "  console: {enabled: yes}\n"
        "  matrix:\n"
        "    homeserver: matrix.example.org\n"
        '    user_id: "@confidant:example.org"\n'
        "  discord:\n"
        "    token: abc\n"
        "    guild_ids: [123]\n",
    )
    assert errors(path) == [
        "config.yaml:1:1: unknown key 'databse' (did you mean 'database'?)",
        "config.yaml:2:12: 'info' is not one of: DEBUG, INFO, WARNING, ERROR",
        "config.yaml:4:22: expected true or false, got 'yes'",
        "config.yaml:6:17: 'matrix.example.org' is not a homeserver address; write it like "
        "https://matrix.example.org",
        "config.yaml:10:17: expected text, got the number 123 (put it in quotes to make it text)",
    ]


def test_matrix_needs_exactly_one_credential(in_tmp: Path) -> None:
    both = write(in_tmp, MATRIX + "    access_token: ${TOKEN}\n")
    assert errors(both, {**ENV, "TOKEN": "t"}) == [
        "config.yaml:3:5: give exactly one of 'password' or 'access_token' for Matrix"
    ]
    neither = write(in_tmp, MATRIX.replace("    password: ${CONFIDANT_MATRIX_PASSWORD}\n", ""))
    assert errors(neither) == [
        "config.yaml:3:5: give exactly one of 'password' or 'access_token' for Matrix"
    ]


def test_some_platform_is_required(in_tmp: Path) -> None:
    assert errors(write(in_tmp, "adapters:\n  console: {enabled: false}\n")) == [
        "config.yaml:2:3: no chat platform is configured; add 'console', 'matrix' or 'discord'"
    ]
    assert errors(write(in_tmp, "log_level: INFO\n")) == [
        "config.yaml:1:1: missing required key 'adapters'"
    ]


def test_config_error_is_a_policy_load_error(in_tmp: Path) -> None:
    with pytest.raises(PolicyLoadError):
        load_config(write(in_tmp, "adapters: [\n"), {})
    with pytest.raises(ConfigError) as caught:
        load_config(in_tmp / "missing.yaml", {})
    (error,) = caught.value.errors
    assert (error.path, error.line, error.column) == ("missing.yaml", 1, 1)
    assert error.message.startswith("cannot read the file")


def test_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    env = {"CONFIDANT_MATRIX_PASSWORD": "pw", "CONFIDANT_DISCORD_TOKEN": "token"}
    config = load_config(ROOT / "config.example.yaml", env)
    assert config.source == "config.example.yaml"
    assert config.database == ROOT / "confidant.db"
    assert config.policy_dir == ROOT / "policies"
    assert config.adapters.matrix is not None
    assert config.adapters.matrix.homeserver == "https://matrix.example.org"
    assert config.adapters.matrix.store_dir == ROOT / "matrix-store"
    assert config.adapters.discord is not None
    assert config.adapters.discord.guild_ids == ()
    with pytest.raises(ConfigError) as caught:
        load_config(ROOT / "config.example.yaml", {})
    assert [e.message for e in caught.value.errors] == [
        "environment variable CONFIDANT_MATRIX_PASSWORD is not set",
        "environment variable CONFIDANT_DISCORD_TOKEN is not set",
    ]


def test_default_config(tmp_path: Path) -> None:
    config = default_config(tmp_path / "state")
    assert config.database == tmp_path / "state" / "confidant.db"
    assert config.key_file == tmp_path / "state" / "confidant.key"
    assert config.policy_dir == ROOT / "bot" / "defaults"
    assert config.adapters.console is not None and config.adapters.console.enabled
    assert (config.adapters.matrix, config.adapters.discord) == (None, None)
    policies = load_policy_dir(config.policy_dir)
    assert policies.for_room("console", "recovery", name="recovery") is not None


def _denying(*folders: Path):  # type: ignore[no-untyped-def]
    """An access check as a user who may not write in ``folders`` (tests run as any user,
    root included, so permissions are not asked of the file system here)."""
    return lambda path, mode: not (mode & os.W_OK and path in folders)


def test_state_folders_that_cannot_be_written_are_reported_at_their_keys(in_tmp: Path) -> None:
    (in_tmp / "locked").mkdir()
    (in_tmp / "locked" / "confidant.key").write_text("00" * 32 + "\n")
    path = write(
        in_tmp,
        "database: locked/confidant.db\nkey_file: locked/confidant.key\nadapters:\n  console:\n",
    )
    _, places, problems = read_config(path, {})
    assert places is not None and problems == []
    found = [str(e) for e in state_path_errors(places, _denying(in_tmp / "locked"))]
    # The existing key file only has to be read; the database's folder must be writable.
    assert found == [
        f"config.yaml:1:11: this user cannot write in the folder {in_tmp / 'locked'}, so the "
        "database cannot be created"
    ]
    deeper = write(
        in_tmp,
        "database: locked/more/confidant.db\nkey_file: locked/new/confidant.key\n"
        "adapters:\n  console:\n",
    )
    _, places, _ = read_config(deeper, {})
    assert places is not None
    assert [str(e) for e in state_path_errors(places, _denying(in_tmp / "locked"))] == [
        f"config.yaml:1:11: the folder {in_tmp / 'locked' / 'more'} does not exist, and this "
        f"user cannot create it ({in_tmp / 'locked'} is not writable)",
        f"config.yaml:2:11: the folder {in_tmp / 'locked' / 'new'} does not exist, and this "
        f"user cannot create it ({in_tmp / 'locked'} is not writable)",
    ]
    # a folder that does not exist yet but can be made is fine: the bot makes it
    assert state_path_errors(places) == []


def test_state_paths_are_checked_when_other_keys_fail(in_tmp: Path) -> None:
    (in_tmp / "state").mkdir()
    path = write(in_tmp, "database: state\n" + MATRIX)
    config, places, problems = read_config(path, {})
    assert config is None
    assert [str(e) for e in problems] == [
        "config.yaml:6:15: environment variable CONFIDANT_MATRIX_PASSWORD is not set"
    ]
    assert places is not None and places.paths["policy_dir"] == in_tmp / "policies"
    assert [e.line for e in state_path_errors(places)] == [1]
