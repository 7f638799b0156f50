"""The administrator's config file: where state lives and which chat platforms to join.

It shares the policy loader's YAML handling, so admins get the same ``file:line:col``
messages as moderators. Secrets come from the environment via ``${VAR}`` references that are
expanded inside parsed text values only, never in the raw file: an environment value can
then never change the YAML structure (a password containing ``": "`` or ``"#"`` stays a
password). Secrets are held as :class:`~bot.secret.SecretStr` so they stay out of reprs and
logs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from bot.policy.errors import PolicyError, PolicyLoadError
from bot.policy.frozen import (
    BeforeValidator,
    Field,
    Model,
    ValidationInfo,
    field_validator,
    model_validator,
)
from bot.policy.loader import POLICY_SUFFIXES, display_path, read_limited, to_errors
from bot.policy.model import problem
from bot.policy.validate import validate_document
from bot.policy.yamlpos import START, Document, Pos, Problem, parse_yaml
from bot.secret import SecretStr
from bot.store.url import PostgresUrl, looks_like_postgres

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["logfmt", "json"]

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"
SECRET_KEYS = frozenset({"password", "access_token", "token"})

_MAX_NESTING = 10
_REF_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)
_MATRIX_USER_RE = re.compile(r"^@[^:\s]+:\S+$")
_SNOWFLAKE_RE = re.compile(r"^[0-9]{1,20}$")


class ConfigError(PolicyLoadError):
    """A config file problem; a PolicyLoadError so one handler can report both kinds."""


def substitute_env(value: str, env: Mapping[str, str]) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; ``$${`` stands for a literal ``${``.

    Like the shell's ``:-``, the default also applies when the variable is set but empty, and
    a default may itself hold references (``${DATA:-${HOME}/confidant}``), expanded only when
    it is used.
    """
    return _expand(value, env, 0)


def _expand(value: str, env: Mapping[str, str], depth: int) -> str:
    if depth > _MAX_NESTING:
        raise ValueError(
            f"variable references are nested more than {_MAX_NESTING} deep; simplify them"
        )
    parts: list[str] = []
    index = 0
    while index < len(value):
        if value.startswith("$${", index):
            parts.append("${")
            index += 3
        elif value.startswith("${", index):
            end = _closing_brace(value, index + 2)
            if end is None:
                raise ValueError("'${' is never closed with '}'; write ${NAME} or ${NAME:-default}")
            parts.append(_reference(value[index + 2 : end], env, depth))
            index = end + 1
        else:
            parts.append(value[index])
            index += 1
    return "".join(parts)


def _closing_brace(value: str, index: int) -> int | None:
    """The ``}`` that closes a reference whose name starts at ``index``; references inside
    a default nest, other braces do not (as in the shell)."""
    depth = 0
    while index < len(value):
        if value.startswith("$${", index):
            index += 3
            continue
        if value.startswith("${", index):
            depth, index = depth + 1, index + 2
            continue
        if value[index] == "}":
            if depth == 0:
                return index
            depth -= 1
        index += 1
    return None


def _reference(inner: str, env: Mapping[str, str], depth: int) -> str:
    ref = _REF_RE.match(inner)
    if ref is None:
        raise ValueError(
            f"'${{{inner}}}' is not a valid variable reference; write ${{NAME}} or "
            "${NAME:-default}"
        )
    name, default = ref.group(1), ref.group(2)
    found = env.get(name)
    if default is not None and not found:
        return _expand(default, env, depth + 1)
    if found is None:
        raise ValueError(f"environment variable {name} is not set")
    return found


def _resolve_path(value: Any, info: ValidationInfo) -> Any:
    """Relative paths are relative to the config file, so the bot can start from anywhere."""
    return _resolve(value, Path((info.context or {}).get("base_dir") or Path.cwd()))


def _resolve(value: Any, base: Path) -> Any:
    if isinstance(value, str):
        if not value.strip():
            raise problem("must not be empty")
        if "\0" in value:  # no file system accepts it; opening the file would fail later
            raise problem("a file path cannot contain the NUL character")
        value = Path(value)
    if isinstance(value, Path):
        try:
            expanded = value.expanduser()
        except RuntimeError:  # "~name" of a user this machine does not have
            raise problem(f"cannot find the home folder that '{value.parts[0]}' names") from None
        return Path(os.path.normpath(base / expanded))
    return value


class _Frozen(Model):
    """Frozen, and refusing keys it does not declare (a typo is reported, not ignored)."""


def _require_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().strip():
        raise problem("must not be empty")
    return value


class ConsoleConfig(_Frozen):
    """The local console adapter, for trying Confidant out without any chat server."""

    enabled: bool = True


class MatrixConfig(_Frozen):
    homeserver: str
    user_id: str
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "confidant"
    store_dir: Path = Field(default=Path("matrix-store"), validate_default=True)
    command_prefix: str = "!"
    allowed_servers: tuple[str, ...] = ()
    # Encrypted private chats made ahead of need: a newcomer's reminder then skips the
    # homeserver's slow room creation. 0 turns it off.
    spare_private_chats: int = Field(default=2, ge=0, le=50)
    # During a run of joins the spares grow with the recent join rate, up to this many.
    spare_private_chats_max: int = Field(default=20, ge=0, le=200)

    @model_validator(mode="after")
    def _spare_cap(self) -> Self:
        if self.spare_private_chats_max < self.spare_private_chats:
            raise ValueError(
                f"spare_private_chats_max ({self.spare_private_chats_max}) is below "
                f"spare_private_chats ({self.spare_private_chats})"
            )
        return self

    _store_dir = field_validator("store_dir", mode="before")(_resolve_path)
    _secrets = field_validator("password", "access_token")(_require_secret)

    @field_validator("homeserver")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or len(value.split("://", 1)[1]) == 0:
            raise problem(
                f"'{value}' is not a homeserver address; write it like https://matrix.example.org"
            )
        return value.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _user(cls, value: str) -> str:
        if not _MATRIX_USER_RE.match(value):
            raise problem(f"'{value}' is not a Matrix user id (like '@confidant:example.org')")
        return value

    @field_validator("device_name", "command_prefix")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise problem("must not be empty")
        return value

    @field_validator("allowed_servers")
    @classmethod
    def _servers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for server in value:
            if not server or any(c.isspace() for c in server) or "@" in server:
                raise problem(f"'{server}' is not a server name (like 'example.org')")
        return value

    @model_validator(mode="after")
    def _one_credential(self) -> Self:
        if (self.password is None) == (self.access_token is None):
            raise problem("give exactly one of 'password' or 'access_token' for Matrix")
        return self


def _shard_number(value: Any) -> Any:
    """A shard id may come from the environment, which holds only text: a systemd template
    instance passes its name (``confidant@1`` -> ``shard_ids: ["${CONFIDANT_SHARD}"]``)."""
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise problem(f"'{value}' is not a shard number (0, 1, 2, ...)")
        return int(value)
    return value


ShardId = Annotated[int, BeforeValidator(_shard_number)]


class DiscordConfig(_Frozen):
    token: SecretStr
    guild_ids: tuple[str, ...] = ()
    # Discord shards across processes (docs/scaling.md): the shard this process runs and how
    # many the bot has; both or neither. Declared count first: the ids' check reads it.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: tuple[ShardId, ...] | None = Field(default=None, validate_default=True)

    _secrets = field_validator("token")(_require_secret)

    @field_validator("shard_ids")
    @classmethod
    def _shards(cls, value: tuple[int, ...] | None, info: ValidationInfo) -> Any:
        """One shard per process: each runs its own gateway session (a plain discord.py
        client with ``shard_id``), so several shards are several processes (one
        ``confidant@.service`` instance each)."""
        if "shard_count" not in info.data:
            return value  # shard_count itself is wrong and was reported at its line
        count = info.data["shard_count"]
        if value is None:
            if count is not None:
                raise problem(
                    "'shard_count' is set but 'shard_ids' is not; give both (like "
                    "'shard_ids: [0]') or neither"
                )
            return value
        if count is None:
            raise problem(
                "'shard_ids' needs 'shard_count' (how many shards the bot has in all)"
            )
        if len(value) != 1:
            raise problem(
                "list exactly one shard: each process runs one shard (start one process "
                "per shard, e.g. confidant@0 and confidant@1)"
            )
        for shard in value:
            if not 0 <= shard < count:
                raise problem(
                    f"shard {shard} does not exist: shard ids go from 0 to "
                    f"{count - 1} when 'shard_count' is {count}"
                )
        return value

    @property
    def shard(self) -> tuple[int, int] | None:
        """(shard id, shard count) this process runs, or None: unsharded."""
        if self.shard_ids is None or self.shard_count is None:
            return None
        return self.shard_ids[0], self.shard_count

    @field_validator("guild_ids")
    @classmethod
    def _snowflakes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for guild in value:
            if not _SNOWFLAKE_RE.match(guild):
                raise problem(
                    f"'{guild}' is not a Discord server (guild) id; ids are long numbers, "
                    "written in quotes"
                )
        return value


class AdaptersConfig(_Frozen):
    console: ConsoleConfig | None = None
    matrix: MatrixConfig | None = None
    discord: DiscordConfig | None = None

    @field_validator("console", mode="before")
    @classmethod
    def _console_default(cls, value: Any) -> Any:
        """``console:`` left empty means the defaults, like ``status:`` (and ``console: {}``)."""
        return ConsoleConfig() if value is None else value

    @field_validator("matrix", "discord", mode="before")
    @classmethod
    def _section_given(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty ``matrix:`` or ``discord:`` was meant to run that platform: say what it
        lacks rather than running without it."""
        if value is None:
            needs = {
                "matrix": "'homeserver', 'user_id', and a 'password' or an 'access_token'",
                "discord": "a 'token'",
            }[str(info.field_name)]
            raise problem(f"the '{info.field_name}' section is empty; it needs {needs}")
        return value

    @model_validator(mode="after")
    def _something_enabled(self) -> Self:
        console_on = self.console is not None and self.console.enabled
        if not (console_on or self.matrix or self.discord):
            raise problem("no chat platform is configured; add 'console', 'matrix' or 'discord'")
        return self


class StatusConfig(_Frozen):
    """The /healthz and /metrics endpoint. On by default, on loopback only: it says which
    platforms are connected and how many events went through, which is nobody else's business
    (it never carries ids or text)."""

    enabled: bool = True
    listen: str = "127.0.0.1:9464"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535 or " " in host:
            raise problem(f"'{value}' is not an address to listen on; write it like 127.0.0.1:9464")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


# A wrong value (a list, say) is reported once, as the file path it usually is (the first
# kind), rather than once per kind of database.
DatabaseSetting = Path | PostgresUrl


class Config(_Frozen):
    """Resolved settings: every path is absolute, every secret is a SecretStr."""

    database: DatabaseSetting = Field(default=Path("confidant.db"), validate_default=True)
    """A SQLite file (the embedded default), or a ``postgresql://`` URL when more than one
    process serves the deployment; its password from the environment (``${VAR}``)."""
    key_file: Path = Field(default=Path("confidant.key"), validate_default=True)
    policy_dir: Path = Field(default=Path("policies"), validate_default=True)
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "logfmt"
    adapters: AdaptersConfig
    status: StatusConfig = StatusConfig()
    source: str

    _paths = field_validator("key_file", "policy_dir", mode="before")(_resolve_path)

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, PostgresUrl):
            return value
        if looks_like_postgres(value):
            try:
                return PostgresUrl.parse(value)
            except ValueError as error:
                raise problem(str(error)) from None
        return _resolve_path(value, info)

    @field_validator("status", mode="before")
    @classmethod
    def _status_default(cls, value: Any) -> Any:
        """``status:`` left empty means the defaults, like leaving it out."""
        return StatusConfig() if value is None else value


STATE_KEYS = ("database", "key_file", "policy_dir")


@dataclass(frozen=True)
class ConfigPlaces:
    """Where a config keeps its state and policies, and where in the file it says so.

    Known even when other keys of the file are wrong (a missing environment variable for a
    password), so ``confidant check`` can still read the policies and look at the folders
    in the same run. ``paths`` holds the keys whose value could be resolved.
    """

    source: str
    paths: Mapping[str, Path]
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def error(self, key: str, message: str) -> PolicyError:
        line, column = self.positions.get(key, (1, 1))
        return PolicyError(self.source, line, column, message)


def read_config(
    path: Path, env: Mapping[str, str] | None = None
) -> tuple[Config | None, ConfigPlaces | None, list[PolicyError]]:
    """The config (or None), its places (or None when the file cannot be parsed at all) and
    every problem found; :func:`load_config` for callers that only want a valid config."""
    environ: Mapping[str, str] = os.environ if env is None else env
    shown = display_path(path)
    raw, read_errors = read_limited(path, shown)
    if raw is None:
        return None, None, read_errors
    parsed = parse_yaml(raw, string_hook=lambda value: substitute_env(value, environ))
    problems = list(parsed.problems)
    if parsed.document is None:
        return None, None, to_errors(shown, problems)
    base_dir = Path(os.path.abspath(path)).parent
    config, more = validate_document(
        Config,
        parsed.document,
        injected={"source": shown},
        secret_keys=SECRET_KEYS,
        context={"base_dir": base_dir},
    )
    problems.extend(more)
    places = _places(parsed.document, config, shown, base_dir)
    if "policy_dir" in places.paths and _holds(places.paths["policy_dir"], path):
        problems.append(Problem(_pos(parsed.document, "policy_dir"), _holds_config(path)))
        places = replace(places, paths={k: v for k, v in places.paths.items() if k != "policy_dir"})
    errors = to_errors(shown, problems)
    return (config if not errors else None), places, errors


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the config file, raising ConfigError with every problem found."""
    config, _, errors = read_config(path, env)
    if config is None or errors:
        raise ConfigError(errors)
    return config


def _pos(document: Document, key: str) -> Pos:
    return document.value_pos((key,)) if key in document.data else START


def _places(document: Document, config: Config | None, shown: str, base_dir: Path) -> ConfigPlaces:
    """The state paths of a valid config, or those of an invalid one that resolve alone."""
    positions = {key: (p.line, p.column) for key in STATE_KEYS for p in [_pos(document, key)]}
    if config is not None:
        paths = {key: getattr(config, key) for key in STATE_KEYS}
        # a PostgreSQL server is no path on this machine: nothing of it to check here
        paths = {key: value for key, value in paths.items() if isinstance(value, Path)}
        return ConfigPlaces(shown, paths, positions)
    found: dict[str, Path] = {}
    for key in STATE_KEYS:
        if document.is_flagged((key,)):
            continue
        value = document.data.get(key, Config.model_fields[key].default)
        if looks_like_postgres(value):
            continue
        try:
            resolved = _resolve(value, base_dir)
        except ValueError:
            continue
        if isinstance(resolved, Path):
            found[key] = resolved
    return ConfigPlaces(shown, found, positions)


def _holds(policy_dir: Path, config_file: Path) -> bool:
    """Whether the policy folder would read the config file itself as a policy."""
    if config_file.name.startswith(".") or config_file.suffix.lower() not in POLICY_SUFFIXES:
        return False
    try:
        return os.path.samefile(policy_dir, Path(os.path.abspath(config_file)).parent)
    except OSError:
        return False


def _holds_config(config_file: Path) -> str:
    return (
        f"the policy folder is the folder of this config file, so {config_file.name} would be "
        "read as a policy (and refused as one); give the policies a folder of their own, like "
        "'policy_dir: policies'"
    )


def default_config(state_dir: Path) -> Config:
    """What ``confidant run`` uses without a config file: console only, built-in policy."""
    state = Path(os.path.abspath(state_dir))
    return Config(
        database=state / "confidant.db",
        key_file=state / "confidant.key",
        policy_dir=DEFAULTS_DIR,
        log_level="INFO",
        adapters=AdaptersConfig(console=ConsoleConfig(enabled=True)),
        source="<built-in defaults>",
    )
