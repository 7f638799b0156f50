"""The embedded Matrix default: what ``confidant run`` starts when it is given no config.

Why this exists: the first thing a new admin does is run ``confidant run`` with nothing set up,
and the most convincing thing they can see is the bot keeping a real Matrix room confidential
in their own Matrix client. So this module turns an empty state directory into a private
homeserver on loopback with a bot, a moderator, two demo members, a covered room and a
moderators' room, and hands back the Config to run plus the text that tells the admin how to
sign in. Everything is created once and recorded, so a second run serves the same accounts and
rooms; nothing here is meant for production, which is why it only ever listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    LoginResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomVisibility,
)
from pydantic import SecretStr

from adapters.matrix.direct import ENCRYPTION_STATE
from adapters.matrix.homeserver import HomeserverError, LocalSynapse
from bot.config import DEFAULTS_DIR, AdaptersConfig, Config, MatrixConfig

SERVER_NAME = "localhost"
HOMESERVER_DIR = "homeserver"
ACCOUNTS_FILE = "embedded-matrix.json"
STORE_DIR = "matrix-store"
BOT = "confidant"
MODERATOR = "mod"
MEMBERS = ("alice", "sam")
SUPPORT_ROOM = "recovery"  # the alias the packaged default policy covers
MODS_ROOM = "mods"  # the alias its alerts go to
SETUP_DEVICE = "confidant-setup"
FORMAT_VERSION = 1

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
  Demo room:   {support}   (moderators' room: {mods})

Try it: sign in with any Matrix client on this computer (for example Element Desktop: choose
"Edit" next to the homeserver and enter the address above) as {first_member}, and join
{support}. Confidant sends you a private confidentiality reminder; answer !agree in that
private chat to be allowed to post. !rules shows the reminder again and !help lists the
commands. Sign in as {moderator} to see the moderators' room and use moderator commands.

Everything (homeserver, passwords, the bot's database) is kept in {state}; the next
`confidant run` reuses it. Press Ctrl-C to stop Confidant and the homeserver.

To run Confidant on a real Matrix homeserver or on Discord, copy config.example.yaml to
config.yaml, fill it in and start it with
  confidant run --config config.yaml
To try a policy in a terminal room without any chat server, use  confidant console
"""


class EmbeddedSetupError(HomeserverError):
    """The demo homeserver could not be set up; messages never carry passwords."""


@dataclass
class DemoState:
    """What must survive between runs: the generated passwords and what was already done."""

    passwords: dict[str, str]
    registered: list[str] = field(default_factory=list)
    rooms: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> DemoState | None:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise EmbeddedSetupError(f"{path} is unreadable ({type(error).__name__})") from None
        passwords = raw.get("passwords") if isinstance(raw, dict) else None
        wanted = (BOT, MODERATOR, *MEMBERS)
        if not isinstance(passwords, dict) or not all(
            isinstance(passwords.get(name), str) for name in wanted
        ):
            raise EmbeddedSetupError(f"{path} does not list the demo accounts' passwords")
        registered = raw.get("registered")
        rooms = raw.get("rooms")
        return cls(
            passwords={name: passwords[name] for name in wanted},
            registered=[str(x) for x in registered] if isinstance(registered, list) else [],
            rooms={str(k): str(v) for k, v in rooms.items()} if isinstance(rooms, dict) else {},
        )

    def forget_homeserver(self) -> None:
        """The homeserver was deleted: its accounts and rooms are gone, the passwords stay."""
        self.registered = []
        self.rooms = {}

    @classmethod
    def generate(cls) -> DemoState:
        return cls({name: secrets.token_urlsafe(12) for name in (BOT, MODERATOR, *MEMBERS)})

    def save(self, path: Path) -> None:
        """0600 from the first byte: the file holds passwords, including the bot's."""
        body = {
            "version": FORMAT_VERSION,
            "passwords": self.passwords,
            "registered": self.registered,
            "rooms": self.rooms,
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

    @property
    def homeserver_url(self) -> str:
        return self.synapse.base_url

    @property
    def login_text(self) -> str:
        people = [(MODERATOR, "Moderator"), *((name, "Member") for name in MEMBERS)]
        accounts = "\n".join(
            f"  {role + ':':<12} {self.synapse.user_id(name):<18}  password: {self.passwords[name]}"
            for name, role in people
        )
        return LOGIN_TEXT.format(
            url=self.homeserver_url,
            accounts=accounts,
            support=alias(SUPPORT_ROOM),
            mods=alias(MODS_ROOM),
            first_member=MEMBERS[0],
            moderator=MODERATOR,
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
        if not {SUPPORT_ROOM, MODS_ROOM} <= demo.rooms.keys():
            demo.rooms = await _create_rooms(synapse, demo.passwords[MODERATOR])
            demo.save(accounts_path)
    except BaseException:
        await synapse.stop()
        raise
    return EmbeddedMatrix(
        config=_config(state, synapse, demo.passwords[BOT]),
        synapse=synapse,
        state_dir=state,
        passwords={name: demo.passwords[name] for name in (MODERATOR, *MEMBERS)},
    )


async def _register(synapse: LocalSynapse, demo: DemoState, path: Path) -> None:
    """Only once per account: each registration costs a deliberately slow password hash."""
    for name in (BOT, MODERATOR, *MEMBERS):
        if name in demo.registered:
            continue
        await synapse.register(name, demo.passwords[name])
        demo.registered.append(name)
        demo.save(path)


async def _create_rooms(synapse: LocalSynapse, mod_password: str) -> dict[str, str]:
    """Created by the moderator, as on a real server, so the bot holds only the power a
    moderator chose to give it."""
    bot_id = synapse.user_id(BOT)
    client = AsyncClient(
        synapse.base_url,
        synapse.user_id(MODERATOR),
        config=AsyncClientConfig(encryption_enabled=False, max_limit_exceeded=0, max_timeouts=2),
    )
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
                power_level_override={
                    "users": {bot_id: BOT_LEVEL},
                    "events": SUPPORT_EVENT_LEVELS,
                },
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
        finally:
            # The setup device is of no use to the person who later signs in as the moderator.
            with contextlib.suppress(Exception):
                await client.logout()
    finally:
        await client.close()
    return {SUPPORT_ROOM: support, MODS_ROOM: mods}


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
