"""A private Synapse homeserver on loopback, started and stopped from Python.

Why this exists: Confidant's Matrix support is only trustworthy if it is exercised against a real
homeserver, and a new admin should see the bot work before creating an account anywhere. Both
needs are met by one launcher that owns a data directory, writes a locked-down configuration
(loopback only, no federation, no open registration, secrets in 0600 files) and manages the
Synapse process's whole lifetime, so no caller has to know Synapse's config format.

The process core is synchronous (a session-scoped pytest fixture has no event loop); the async
methods run it in a worker thread so an async caller's loop is never blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import http.client
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import yaml

HEALTH_TIMEOUT_S = 60.0
HEALTH_POLL_S = 0.075
STOP_TIMEOUT_S = 15.0
GENERATE_TIMEOUT_S = 120.0
HTTP_TIMEOUT_S = 10.0
LOG_TAIL_BYTES = 4000

CONFIG_FILE = "homeserver.yaml"
SECRET_FILE = "registration_shared_secret"
LOG_CONFIG_FILE = "log.config"
LOG_FILE = "homeserver.log"
PROCESS_LOG_FILE = "process.log"
PID_FILE = "launcher.pid"

_RELAXED = {"per_second": 1000.0, "burst_count": 10000}

# Every rate limiter Synapse 1.163 reads (synapse/config/ratelimiting.py). Keys a given version
# does not know are ignored by Synapse, so listing a few extra is harmless.
RELAXED_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _RELAXED,
    "rc_registration": _RELAXED,
    "rc_registration_token_validity": _RELAXED,
    "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
    "rc_admin_redaction": _RELAXED,
    "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
    "rc_joins_per_room": _RELAXED,
    "rc_key_requests": _RELAXED,
    "rc_3pid_validation": _RELAXED,
    "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
    "rc_third_party_invite": _RELAXED,
    "rc_media_create": _RELAXED,
    "rc_presence": {"per_user": _RELAXED},
    "rc_delayed_event_mgmt": _RELAXED,
    "rc_room_creation": _RELAXED,
    "rc_reports": _RELAXED,
    "rc_user_directory": _RELAXED,
    "rc_profile": _RELAXED,
}


class HomeserverError(RuntimeError):
    """Anything that stops the local homeserver from serving; messages never carry secrets."""


class HomeserverStartError(HomeserverError):
    """Synapse did not become healthy; the message carries its log tail for diagnosis."""


class RegistrationError(HomeserverError):
    """The shared-secret registration endpoint refused a user for a reason other than 'exists'."""


def _port_is_free(port: int) -> bool:
    # SO_REUSEADDR mirrors how Twisted binds, so a port left in TIME_WAIT by our own previous
    # run still counts as free while a live listener does not.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pid_alive(pid: int) -> bool:
    """Zombies count as dead: in containers whose init never reaps, a killed Synapse would
    otherwise look alive forever."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _tail(path: Path, limit: int = LOG_TAIL_BYTES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _log_config(log_path: Path) -> dict[str, Any]:
    """Warnings and errors only: INFO would record every request path, which is noise for an
    admin and needlessly detailed metadata about who talks in which room."""
    return {
        "version": 1,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "formatter": "plain",
                "filename": str(log_path),
                "encoding": "utf8",
            },
        },
        "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }


class LocalSynapse:
    """One Synapse process bound to 127.0.0.1, owning everything under ``data_dir``.

    Restart-safe: the database, signing key, secrets and port live in ``data_dir``, so a later
    instance on the same directory serves the same users and rooms at (if free) the same URL.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        server_name: str = "localhost",
        port: int | None = None,
        relaxed_rate_limits: bool = True,
        bcrypt_rounds: int | None = None,
        extra_config: dict[str, Any] | None = None,
    ) -> None:
        """``bcrypt_rounds`` exists for tests only: Synapse's default (12) costs ~0.25 s per
        registration and per login, which dominates suites that create many users."""
        self._data_dir = Path(data_dir).resolve()
        self._server_name = server_name
        self._requested_port = port
        self._relaxed = relaxed_rate_limits
        self._bcrypt_rounds = bcrypt_rounds
        self._extra_config = dict(extra_config or {})  # e.g. one strict rate limit for a test
        self._proc: subprocess.Popen[bytes] | None = None
        self._proc_log: IO[bytes] | None = None
        self.timings: dict[str, float] = {}
        self._port = port if port is not None else self._initial_port()

    # ----------------------------------------------------------------- public properties

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def server_name(self) -> str:
        return self._server_name

    @property
    def port(self) -> int:
        return self._port

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def config_path(self) -> Path:
        return self._data_dir / CONFIG_FILE

    @property
    def log_path(self) -> Path:
        return self._data_dir / LOG_FILE

    @property
    def process_log_path(self) -> Path:
        return self._data_dir / PROCESS_LOG_FILE

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self._server_name}"

    # ----------------------------------------------------------------- lifecycle (sync core)

    def start_sync(self, *, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        if self.is_running:
            raise HomeserverError("this LocalSynapse is already running")
        self._data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        # The database holds room history; nobody but this user should read the directory.
        os.chmod(self._data_dir, 0o700)
        self._reap_orphan()
        self._ensure_port()
        if not self.config_path.exists():
            self._generate_config()
        self._write_config()

        self._proc_log = self.process_log_path.open("ab")
        began = time.monotonic()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            cwd=self._data_dir,
            stdin=subprocess.DEVNULL,
            stdout=self._proc_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        (self._data_dir / PID_FILE).write_text(f"{self._proc.pid} {os.getpid()}\n")
        try:
            self._wait_healthy(timeout_s)
        except BaseException:
            self.stop_sync()
            raise
        self.timings["start_to_health_s"] = time.monotonic() - began

    def stop_sync(self, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            self._terminate(proc, timeout_s)
        if self._proc_log is not None:
            self._proc_log.close()
            self._proc_log = None
        with contextlib.suppress(FileNotFoundError):
            (self._data_dir / PID_FILE).unlink()

    def __enter__(self) -> Self:
        self.start_sync()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_sync()

    # ----------------------------------------------------------------- lifecycle (async)

    async def start(self, *, timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        # A cancelled await cannot stop the worker thread, which would then leave a Synapse
        # nobody owns; so let the (bounded) start finish, stop it, and only then cancel.
        task = asyncio.ensure_future(asyncio.to_thread(self.start_sync, timeout_s=timeout_s))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await task
            await asyncio.to_thread(self.stop_sync)
            raise

    async def stop(self, *, timeout_s: float = STOP_TIMEOUT_S) -> None:
        await asyncio.to_thread(self.stop_sync, timeout_s=timeout_s)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------------- registration

    def register_sync(self, localpart: str, password: str, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API, which works with open
        registration disabled. Idempotent so fixtures and restarts can call it blindly."""
        secret = self._shared_secret()
        nonce = self._request_json("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce.encode(), localpart.encode(), password.encode()):
            mac.update(part)
            mac.update(b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        try:
            reply = self._request_json("POST", "/_synapse/admin/v1/register", body)
        except urllib.error.HTTPError as err:
            error = _error_body(err)
            if error.get("errcode") == "M_USER_IN_USE":
                return self.user_id(localpart)
            raise RegistrationError(
                f"registering {localpart!r} failed: HTTP {err.code} "
                f"{error.get('errcode', '?')}: {error.get('error', '')}"
            ) from None
        return str(reply["user_id"])

    async def register(self, localpart: str, password: str, admin: bool = False) -> str:
        return await asyncio.to_thread(self.register_sync, localpart, password, admin)

    # ----------------------------------------------------------------- internals

    def _initial_port(self) -> int:
        recorded = self._recorded_port()
        if recorded is not None and _port_is_free(recorded):
            return recorded
        return _free_port()

    def _ensure_port(self) -> None:
        """An explicit port is a promise to the caller, so a busy one is an error; a port we
        chose ourselves is silently replaced if something else took it since construction.
        The recorded port wins when free again (e.g. once an orphan was reaped), so clients
        that stored the URL keep working."""
        if self._requested_port is not None:
            if not _port_is_free(self._port):
                raise HomeserverStartError(f"port {self._port} on 127.0.0.1 is already in use")
            return
        recorded = self._recorded_port()
        if recorded is not None and recorded != self._port and _port_is_free(recorded):
            self._port = recorded
        elif not _port_is_free(self._port):
            self._port = _free_port()

    def _recorded_port(self) -> int | None:
        try:
            config = yaml.safe_load(self.config_path.read_text())
            return int(config["listeners"][0]["port"])
        except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError):
            return None

    def _generate_config(self) -> None:
        began = time.monotonic()
        # cwd matters: the generated log config points at a relative "homeserver.log".
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--generate-config",
                "--data-directory",
                str(self._data_dir),
                "--config-path",
                str(self.config_path),
                "--server-name",
                self._server_name,
                "--report-stats=no",
            ],
            cwd=self._data_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GENERATE_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0 or not self.config_path.exists():
            output = (result.stdout + result.stderr).decode("utf-8", errors="replace")
            raise HomeserverStartError(
                f"synapse --generate-config exited with {result.returncode}:\n"
                f"{output[-LOG_TAIL_BYTES:]}"
            )
        self.timings["generate_config_s"] = time.monotonic() - began

    def _write_config(self) -> None:
        """Rewritten on every start so the file always matches this launcher's settings
        (port, rate limits), whatever an earlier run or version left behind."""
        config = yaml.safe_load(self.config_path.read_text()) or {}
        recorded_name = config.get("server_name")
        if recorded_name not in (None, self._server_name):
            raise HomeserverError(
                f"{self._data_dir} belongs to server {recorded_name!r}, "
                f"not {self._server_name!r}; a homeserver cannot be renamed"
            )
        generated_log_config = config.get("log_config")
        config.update(self._settings())
        config.pop("registration_shared_secret", None)
        for key in RELAXED_RATE_LIMITS:
            config.pop(key, None)
        if self._relaxed:
            config.update(RELAXED_RATE_LIMITS)
        if self._bcrypt_rounds is not None:
            config["bcrypt_rounds"] = self._bcrypt_rounds
        config.update(self._extra_config)

        log_config_path = self._data_dir / LOG_CONFIG_FILE
        self._write_private(log_config_path, yaml.safe_dump(_log_config(self.log_path)))
        if generated_log_config and Path(generated_log_config) != log_config_path:
            with contextlib.suppress(OSError):
                Path(generated_log_config).unlink()
        self._ensure_secret()
        # The config holds macaroon and form secrets, hence 0600 like the shared secret.
        self._write_private(self.config_path, yaml.safe_dump(config, sort_keys=False))

    def _settings(self) -> dict[str, Any]:
        data = self._data_dir
        return {
            "server_name": self._server_name,
            "public_baseurl": f"{self.base_url}/",
            "pid_file": str(data / "homeserver.pid"),
            "listeners": [
                {
                    "port": self._port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(data / "homeserver.db")}},
            "log_config": str(data / LOG_CONFIG_FILE),
            "media_store_path": str(data / "media_store"),
            "registration_shared_secret_path": str(data / SECRET_FILE),
            "enable_registration": False,
            "report_stats": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
        }

    def _ensure_secret(self) -> None:
        path = self._data_dir / SECRET_FILE
        if not path.exists():
            self._write_private(path, secrets.token_urlsafe(48))
        os.chmod(path, 0o600)

    def _shared_secret(self) -> str:
        try:
            return (self._data_dir / SECRET_FILE).read_text().strip()
        except FileNotFoundError:
            raise HomeserverError("no registration secret: start the homeserver first") from None

    @staticmethod
    def _write_private(path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    def _wait_healthy(self, timeout_s: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        for _ in range(math.ceil(timeout_s / HEALTH_POLL_S) + 1):
            code = self._proc.poll()
            if code is not None:
                raise HomeserverStartError(
                    f"Synapse exited with code {code} before becoming healthy.\n{self._log_tails()}"
                )
            if self._health_ok() and self._proc.poll() is None:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(HEALTH_POLL_S)
        raise HomeserverStartError(
            f"Synapse was not healthy within {timeout_s:.0f} s.\n{self._log_tails()}"
        )

    def _health_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/health", timeout=1.0) as resp:
                return bool(resp.status == 200)
        except (OSError, http.client.HTTPException):
            return False

    def _log_tails(self) -> str:
        parts = []
        for path in (self.process_log_path, self.log_path):
            text = _tail(path).strip()
            if text:
                parts.append(f"--- {path.name} (tail) ---\n{text}")
        return "\n".join(parts) or "(no log output)"

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
        # start_new_session made the child a group leader, so its pid is the group id and
        # anything Synapse spawned goes down with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout_s)

    def _reap_orphan(self) -> None:
        """A launcher killed without cleanup leaves Synapse running on our database; a second
        Synapse on the same sqlite file would corrupt it. Kill the orphan, but refuse if the
        launcher that started it is still alive: then the directory is genuinely in use."""
        pid_file = self._data_dir / PID_FILE
        try:
            child, owner = (int(x) for x in pid_file.read_text().split())
        except (OSError, ValueError):
            return
        if not pid_alive(child) or not self._is_our_synapse(child):
            pid_file.unlink(missing_ok=True)
            return
        if pid_alive(owner):
            raise HomeserverError(
                f"{self._data_dir} is in use by Synapse pid {child} (launcher pid {owner})"
            )
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for _ in range(int(STOP_TIMEOUT_S / 0.05) + 1):
            if not pid_alive(child) or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if pid_alive(child):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def _is_our_synapse(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False  # no procfs or gone: never kill what we cannot identify
        return str(self.config_path).encode() in cmdline

    def _request_json(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:
                reply = json.loads(resp.read())
        except urllib.error.HTTPError:
            raise  # callers inspect Matrix error codes
        except (OSError, http.client.HTTPException) as err:
            raise HomeserverError(f"homeserver at {self.base_url} unreachable: {err}") from err
        if not isinstance(reply, dict):
            raise HomeserverError(f"unexpected reply from {path}")
        return reply


def _error_body(err: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        body = json.loads(err.read())
    except (OSError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}
