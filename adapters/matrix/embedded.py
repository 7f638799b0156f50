"""The embedded Matrix default: what ``confidant run`` starts when it is given no config.

Why this exists: the first thing a new admin does is run ``confidant run`` with nothing set up,
and the most convincing thing they can see is the bot keeping a real Matrix room confidential
in their own Matrix client. So this module turns an empty state directory into a private
homeserver on loopback with a bot, a moderator, a peer supporter, two demo members, the
confidential room, the moderators' room, a lobby watched for quotes of the confidential room
and the supporters' room, and hands back the Config to run plus the text that tells the admin
how to sign in and what to try; ``add_member`` registers more demo members on it. Everything
is created once and recorded, so a second run serves the same accounts and rooms; nothing
here is meant for production, which is why it only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomVisibility,
)

from adapters.matrix.direct import ENCRYPTION_STATE
from adapters.matrix.homeserver import (
    CONFIG_FILE,
    HTTP_TIMEOUT_S,
    PID_FILE,
    HomeserverError,
    LocalSynapse,
    pid_alive,
)
from bot.config import DEFAULTS_DIR, AdaptersConfig, Config, MatrixConfig
from bot.secret import SecretStr

SERVER_NAME = "localhost"
HOMESERVER_DIR = "homeserver"
ACCOUNTS_FILE = "embedded-matrix.json"
STORE_DIR = "matrix-store"
BOT = "confidant"
MODERATOR = "mod"
SUPPORTER = "supporter"  # the policy's peer supporter: gets check-in contact requests
MEMBERS = ("alice", "sam")
ACCOUNTS = (BOT, MODERATOR, SUPPORTER, *MEMBERS)
SUPPORT_ROOM = "recovery"  # the alias the packaged default policy covers
MODS_ROOM = "mods"  # the alias its alerts go to
LOBBY_ROOM = "lobby"  # watched for quotes of the confidential room, nothing else
SUPPORTERS_ROOM = "supporters"  # where check-in contact requests go
ROOMS = (SUPPORT_ROOM, MODS_ROOM, LOBBY_ROOM, SUPPORTERS_ROOM)
SETUP_DEVICE = "confidant-setup"
FORMAT_VERSION = 1
# How the newcomer started Confidant ("./confidant" from the bootstrap script, which sets
# it); the printed hints repeat it so that they can be pasted as they are.
COMMAND_ENV = "CONFIDANT_COMMAND"
# Matrix user id localparts (spec: "User Identifiers"), kept to what a newcomer types.
_NAME_RE = re.compile(r"^[a-z0-9._=-]{1,64}$")

# Synapse merges a power-level override shallowly, so overriding "events" replaces the whole
# default map: every entry Synapse would have set is restated here. The one change is that
# m.room.power_levels needs only 50, so the bot (at 50) can lower and restore the level of
# members who have not agreed yet; its own level and the moderator's stay out of its reach.
SUPPORT_EVENT_LEVELS = {
    "m.room.name": 50,
    "m.room.power_levels": 50,
    "m.room.history_visibility": 100,
    "m.room.canonical_alias": 50,
    "m.room.avatar": 50,
    "m.room.tombstone": 150,
    "m.room.server_acl": 100,
    "m.room.encryption": 100,
}
BOT_LEVEL = 50

# Newcomers see only what is said after they joined: in a support room, earlier stories were
# told to the people who were there, not to whoever joins later.
HISTORY_JOINED = {
    "type": "m.room.history_visibility",
    "state_key": "",
    "content": {"history_visibility": "joined"},
}

LOGIN_TEXT = """\
Confidant is running with its own private Matrix homeserver, reachable from this computer only.

  Homeserver:  {url}
{accounts}
  Rooms:       {support:<22} the confidential room (a reminder, !agree to post)
               {lobby:<22} a lobby watched for quotes of the circle
               {mods:<22} the moderators' room: alerts, moderator commands
               {supporters:<22} the peer supporters' room: contact requests

Try it with any Matrix client on this computer (for example Element Desktop: choose "Edit"
next to the homeserver and enter the address above):
  1. Sign in as {first_member} and join {support}. Confidant sends you a private
     confidentiality reminder; answer !agree in that private chat to be allowed to post.
     !rules shows the reminder again; !help lists the commands you can use.
  2. Post a few sentences there (twelve words or more). Sign in as {second_member}, join
     {support} and agree, then join {lobby} and paste {first_member}'s words: the
     moderators' room gets an alert with links to both, never the text.
  3. Send !checkin, agree to the check-in's terms and answer the mood question with 1:
     Confidant shows crisis resources and asks whether a peer supporter may contact you.
     Say yes, and the request appears in {supporters}, where {supporter} (invited
     there) takes it with !claim.
  4. Sign in as {moderator} to read the alerts in {mods} and try !flags and !audit.
  More demo members:  {command} demo add-member NAME   (registers NAME, prints the password)

Everything (homeserver, passwords, the bot's database) is kept in {state}; the next
`{command} run` reuses it. Press Ctrl-C to stop Confidant and the homeserver.

To run Confidant on a real Matrix homeserver or on Discord, copy config.example.yaml to
config.yaml, fill it in and start it with
  {command} run --config config.yaml
To try a policy in a terminal room without any chat server, use  {command} console
"""


class EmbeddedSetupError(HomeserverError):
    """The demo homeserver could not be set up; messages never carry passwords."""


def command_name() -> str:
    """The command as the newcomer typed it: the bootstrap script says how it was started
    (``./confidant``); from an installed environment it is plain ``confidant``."""
    typed = os.environ.get(COMMAND_ENV, "").strip()
    return shlex.quote(typed) if typed else "confidant"


@dataclass
class DemoState:
    """What must survive between runs: the generated passwords and what was already done."""

    passwords: dict[str, str]
    registered: list[str] = field(default_factory=list)
    rooms: dict[str, str] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    """Members added with ``demo add-member``, in the order they were added."""

    @classmethod
    def load(cls, path: Path) -> DemoState | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise EmbeddedSetupError(f"{path} is unreadable ({type(error).__name__})") from None
        passwords = raw.get("passwords") if isinstance(raw, dict) else None
        first = (BOT, MODERATOR, *MEMBERS)  # the accounts every version of the demo had
        if not isinstance(passwords, dict) or not all(
            isinstance(passwords.get(name), str) for name in first
        ):
            raise EmbeddedSetupError(f"{path} does not list the demo accounts' passwords")
        registered = raw.get("registered")
        rooms = raw.get("rooms")
        added = raw.get("added")
        kept = {str(k): v for k, v in passwords.items() if isinstance(v, str)}
        # accounts a later version added (the supporter) get a password on first use
        for name in ACCOUNTS:
            kept.setdefault(name, secrets.token_urlsafe(12))
        return cls(
            passwords=kept,
            registered=[str(x) for x in registered] if isinstance(registered, list) else [],
            rooms={str(k): str(v) for k, v in rooms.items()} if isinstance(rooms, dict) else {},
            added=[str(x) for x in added if str(x) in kept] if isinstance(added, list) else [],
        )

    def forget_homeserver(self) -> None:
        """The homeserver was deleted: its accounts and rooms are gone, the passwords stay."""
        self.registered = []
        self.rooms = {}

    @classmethod
    def generate(cls) -> DemoState:
        return cls({name: secrets.token_urlsafe(12) for name in ACCOUNTS})

    @property
    def accounts(self) -> list[str]:
        return [*ACCOUNTS, *(name for name in self.added if name not in ACCOUNTS)]

    def save(self, path: Path) -> None:
        """0600 from the first byte: the file holds passwords, including the bot's."""
        body = {
            "version": FORMAT_VERSION,
            "passwords": self.passwords,
            "registered": self.registered,
            "rooms": self.rooms,
            "added": self.added,
        }
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


@dataclass
class EmbeddedMatrix:
    """A running demo homeserver and the Config that points the bot at it."""

    config: Config
    synapse: LocalSynapse
    state_dir: Path
    passwords: dict[str, str]
    """Every demo account but the bot's, in the order they are listed."""

    @property
    def homeserver_url(self) -> str:
        return self.synapse.base_url

    @property
    def login_text(self) -> str:
        roles = {MODERATOR: "Moderator", SUPPORTER: "Supporter"}
        accounts = "\n".join(
            f"  {roles.get(name, 'Member') + ':':<12} {self.synapse.user_id(name):<22}"
            f"  password: {password}"
            for name, password in self.passwords.items()
        )
        return LOGIN_TEXT.format(
            url=self.homeserver_url,
            accounts=accounts,
            support=alias(SUPPORT_ROOM),
            mods=alias(MODS_ROOM),
            lobby=alias(LOBBY_ROOM),
            supporters=alias(SUPPORTERS_ROOM),
            first_member=MEMBERS[0],
            second_member=MEMBERS[1],
            moderator=MODERATOR,
            supporter=SUPPORTER,
            command=command_name(),
            state=self.state_dir,
        )

    async def stop(self) -> None:
        await self.synapse.stop()


def alias(localpart: str) -> str:
    return f"#{localpart}:{SERVER_NAME}"


async def prepare_embedded(state_dir: Path) -> EmbeddedMatrix:
    """Start (or restart) the demo homeserver and make sure its accounts and rooms exist.

    The caller owns the returned homeserver: it must ``await stop()`` it. If preparing fails
    half-way, the homeserver is stopped here, so nothing is ever left running.
    """
    state = Path(os.path.abspath(state_dir))
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    accounts_path = state / ACCOUNTS_FILE
    demo = DemoState.load(accounts_path)
    if demo is None:
        if (state / HOMESERVER_DIR / "homeserver.db").exists():
            # The accounts exist with passwords nobody knows any more.
            raise EmbeddedSetupError(
                f"{accounts_path} is missing but the demo homeserver in "
                f"{state / HOMESERVER_DIR} exists; delete that folder to start the demo afresh"
            )
        demo = DemoState.generate()
        demo.save(accounts_path)
    elif not (state / HOMESERVER_DIR / "homeserver.db").exists() and demo.registered:
        # Someone deleted the homeserver to start over: set it up again, and drop the bot's
        # device and keys, which belonged to that homeserver and would only fail to sign in.
        demo.forget_homeserver()
        demo.save(accounts_path)
        shutil.rmtree(state / STORE_DIR, ignore_errors=True)

    synapse = LocalSynapse(state / HOMESERVER_DIR, server_name=SERVER_NAME)
    await synapse.start()
    try:
        await _register(synapse, demo, accounts_path)
        if not set(ROOMS) <= demo.rooms.keys():
            demo.rooms = await _create_rooms(synapse, demo.passwords[MODERATOR])
            demo.save(accounts_path)
    except BaseException:
        await synapse.stop()
        raise
    return EmbeddedMatrix(
        config=_config(state, synapse, demo.passwords[BOT]),
        synapse=synapse,
        state_dir=state,
        passwords={name: demo.passwords[name] for name in demo.accounts if name != BOT},
    )


async def _register(synapse: LocalSynapse, demo: DemoState, path: Path) -> None:
    """Only once per account: each registration costs a deliberately slow password hash."""
    for name in demo.accounts:
        if name in demo.registered:
            continue
        await synapse.register(name, demo.passwords[name])
        demo.registered.append(name)
        demo.save(path)


@dataclass(frozen=True)
class AddedMember:
    user_id: str
    password: str
    homeserver: str
    existed: bool
    """NAME was already a demo account: its password is the one it had."""


async def add_member(state_dir: Path, name: str) -> AddedMember:
    """``confidant demo add-member NAME``: one more demo member, joined to no room.

    Works beside a running ``confidant run`` (it registers on that homeserver) and without
    one (it starts the homeserver just long enough). The password is recorded with the
    others, so the next run lists the member too, and checked by signing in once.
    """
    if not _NAME_RE.match(name):
        raise EmbeddedSetupError(
            f"{name!r} cannot be a Matrix user name here: use lowercase letters, digits "
            "and . _ = - only"
        )
    if name == BOT:
        raise EmbeddedSetupError(f"{name!r} is the bot's account; choose another name")
    state = Path(os.path.abspath(state_dir))
    accounts_path = state / ACCOUNTS_FILE
    demo = DemoState.load(accounts_path)
    homeserver = state / HOMESERVER_DIR
    if demo is None or not (homeserver / "homeserver.db").exists():
        raise EmbeddedSetupError(
            f"there is no demo homeserver in {state} yet: start `{command_name()} run` once first"
        )
    existed = name in demo.passwords and name in demo.registered
    port = _running_port(homeserver)
    synapse = LocalSynapse(homeserver, server_name=SERVER_NAME, port=port)
    if port is None:
        await synapse.start()
    try:
        user_id = synapse.user_id(name)
        if not existed:
            demo.passwords[name] = secrets.token_urlsafe(12)
            if name not in demo.added:
                demo.added.append(name)
            demo.save(accounts_path)  # before registering: a known password is never lost
            await synapse.register(name, demo.passwords[name])
        password = demo.passwords[name]
        if not await asyncio.to_thread(_can_log_in, synapse.base_url, user_id, password):
            if not existed:
                demo.added.remove(name)
                del demo.passwords[name]
                demo.save(accounts_path)
            raise EmbeddedSetupError(
                f"{user_id} already exists on the demo homeserver with a password this demo "
                "does not know; choose another name"
            )
        if not existed:
            demo.registered.append(name)
            demo.save(accounts_path)
        return AddedMember(user_id, demo.passwords[name], synapse.base_url, existed)
    finally:
        if port is None:
            await synapse.stop()


def _running_port(homeserver: Path) -> int | None:
    """The port of the demo homeserver a running ``confidant run`` started, if one is up."""
    try:
        child = int((homeserver / PID_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if not pid_alive(child):
        return None
    try:
        config = yaml.safe_load((homeserver / CONFIG_FILE).read_text(encoding="utf-8"))
        return int(config["listeners"][0]["port"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError, ValueError):
        raise EmbeddedSetupError(
            f"the demo homeserver in {homeserver} is running but its port is unknown"
        ) from None


def _can_log_in(base_url: str, user_id: str, password: str) -> bool:
    """Sign in once and out again, as a client would: proves the printed password works."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
        "initial_device_display_name": SETUP_DEVICE,
    }
    try:
        reply = _post(f"{base_url}/_matrix/client/v3/login", body, None)
    except urllib.error.HTTPError as error:
        if error.code == 403:
            return False
        raise EmbeddedSetupError(f"signing in as {user_id} failed: HTTP {error.code}") from None
    with contextlib.suppress(OSError):
        _post(f"{base_url}/_matrix/client/v3/logout", {}, str(reply.get("access_token", "")))
    return True


def _post(url: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:
        reply = json.loads(response.read() or b"{}")
    return reply if isinstance(reply, dict) else {}


async def _create_rooms(synapse: LocalSynapse, mod_password: str) -> dict[str, str]:
    """Created by the moderator, as on a real server, so the bot holds only the power a
    moderator chose to give it. Rooms an earlier run already made are found by alias."""
    bot_id = synapse.user_id(BOT)
    client = AsyncClient(
        synapse.base_url,
        synapse.user_id(MODERATOR),
        config=AsyncClientConfig(encryption_enabled=False, max_limit_exceeded=0, max_timeouts=2),
    )
    bot_powers = {"users": {bot_id: BOT_LEVEL}, "events": SUPPORT_EVENT_LEVELS}
    try:
        login = await client.login(mod_password, device_name=SETUP_DEVICE)
        if not isinstance(login, LoginResponse):
            raise EmbeddedSetupError(f"the demo moderator could not sign in: {login.message}")
        try:
            support = await _ensure_room(
                client,
                SUPPORT_ROOM,
                name="Recovery circle",
                topic="A demo peer-support room looked after by Confidant",
                preset=RoomPreset.public_chat,
                invite=[bot_id],
                initial_state=[ENCRYPTION_STATE, HISTORY_JOINED],
                power_level_override=bot_powers,
            )
            mods = await _ensure_room(
                client,
                MODS_ROOM,
                name="Moderators",
                topic="Confidant's alerts for the moderators of the demo room",
                preset=RoomPreset.private_chat,
                invite=[bot_id],
                initial_state=[ENCRYPTION_STATE],
                power_level_override=None,
            )
            # Not encrypted, like many public lobbies: Confidant reads it either way.
            lobby = await _ensure_room(
                client,
                LOBBY_ROOM,
                name="Lobby",
                topic="Open chat. Confidant watches it for quotes of the recovery circle",
                preset=RoomPreset.public_chat,
                invite=[bot_id],
                initial_state=[],
                power_level_override=bot_powers,
            )
            supporters = await _ensure_room(
                client,
                SUPPORTERS_ROOM,
                name="Peer supporters",
                topic="Check-in contact requests; take one with !claim",
                preset=RoomPreset.private_chat,
                invite=[bot_id, synapse.user_id(SUPPORTER)],
                initial_state=[ENCRYPTION_STATE],
                power_level_override=None,
            )
        finally:
            # The setup device is of no use to the person who later signs in as the moderator.
            with contextlib.suppress(Exception):
                await client.logout()
    finally:
        await client.close()
    return {
        SUPPORT_ROOM: support,
        MODS_ROOM: mods,
        LOBBY_ROOM: lobby,
        SUPPORTERS_ROOM: supporters,
    }


async def _ensure_room(
    client: AsyncClient,
    localpart: str,
    *,
    name: str,
    topic: str,
    preset: RoomPreset,
    invite: list[str],
    initial_state: list[dict[str, Any]],
    power_level_override: dict[str, Any] | None,
) -> str:
    """Create the room, or find it by its alias when an interrupted earlier run created it.
    Creating first keeps the normal path free of a failed alias lookup (which nio logs)."""
    response = await client.room_create(
        visibility=RoomVisibility.private,
        alias=localpart,
        name=name,
        topic=topic,
        preset=preset,
        federate=False,
        invite=invite,
        initial_state=initial_state,
        power_level_override=power_level_override,
    )
    if isinstance(response, RoomCreateResponse):
        return response.room_id
    if response.status_code == "M_ROOM_IN_USE":
        found = await client.room_resolve_alias(alias(localpart))
        if isinstance(found, RoomResolveAliasResponse):
            return found.room_id
    raise EmbeddedSetupError(
        f"creating {alias(localpart)} failed: {response.status_code} {response.message}"
    )


def _config(state: Path, synapse: LocalSynapse, bot_password: str) -> Config:
    """Built from the models rather than a file: nothing here is for an admin to edit, and a
    file would put the bot's password in a second place."""
    return Config(
        database=state / "confidant.db",
        key_file=state / "confidant.key",
        policy_dir=DEFAULTS_DIR,
        log_level="INFO",
        adapters=AdaptersConfig(
            matrix=MatrixConfig(
                homeserver=synapse.base_url,
                user_id=synapse.user_id(BOT),
                password=SecretStr(bot_password),
                device_name="confidant",
                store_dir=state / STORE_DIR,
            )
        ),
        source="<built-in Matrix demo>",
    )
