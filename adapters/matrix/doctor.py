"""``confidant doctor`` on Matrix: plain REST calls (whoami, joined rooms, alias lookups, room
state), never a sync, never a join, never a message.

It signs in the least intrusive way it can: with the device the bot saved in its store
(``session.json``, read only: no sync token is written over the running bot's), else with the
configured access token, else with the password; a device a password login creates is
logged out again at the end, so no device of doctor's is left on the account. Encryption
stays off in this client: it reads state events, which are never encrypted.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING, Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedRoomsResponse,
    LoginResponse,
    RoomGetStateResponse,
    RoomResolveAliasResponse,
    WhoamiResponse,
)

from bot import redact
from bot.doctor import Finding, PlatformFacts, RoomFacts
from bot.events import SEND, Lack, Room

from .powers import powers_of, user_level
from .read_gate import check_settings
from .session import SessionState
from .translate import PLATFORM

if TYPE_CHECKING:
    from bot.config import Config, MatrixConfig
    from bot.policy import PolicySet, RoomRef

REQUEST_TIMEOUT_S = 30
NOT_JOINED_FIX = (
    "invite the bot to the room (it accepts invites to rooms its policies name while it "
    "runs), or correct the room in the policy"
)
_LEVEL_RE = re.compile(r"power level (\d+)")


async def inspect(config: Config, policies: PolicySet) -> PlatformFacts:
    section = config.adapters.matrix
    assert section is not None
    client = AsyncClient(
        section.homeserver,
        section.user_id,
        config=AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            request_timeout=REQUEST_TIMEOUT_S,
            max_limit_exceeded=3,
            max_timeouts=1,
        ),
    )
    logged_in_here = False
    try:
        how, fix = _sign_in_saved(client, section)
        if how is None:
            if section.access_token is not None:
                client.access_token = section.access_token.get_secret_value()
                how, fix = "the configured access token", "check adapters.matrix.access_token"
            else:
                assert section.password is not None
                response = await client.login(
                    section.password.get_secret_value(), device_name=f"{section.device_name} doctor"
                )
                if not isinstance(response, LoginResponse):
                    return _unreached(
                        f"the homeserver refused the password of {section.user_id} "
                        f"({getattr(response, 'status_code', '')})",
                        "check adapters.matrix.user_id and password",
                    )
                logged_in_here = True
                how, fix = "the configured password", "check adapters.matrix.password"
        redact.protect(client.access_token)
        who = await client.whoami()
        if not isinstance(who, WhoamiResponse) or who.user_id != section.user_id:
            return _unreached(f"the homeserver refused {how} for {section.user_id}", fix)
        return await _facts(client, section.user_id, how, policies)
    except OSError as error:  # aiohttp's connection errors
        return _unreached(
            f"could not reach {section.homeserver} ({type(error).__name__})",
            "check adapters.matrix.homeserver and this machine's connection to it",
        )
    finally:
        if logged_in_here:
            with contextlib.suppress(OSError):
                await client.logout()  # deletes the device this login made
        await client.close()


def _sign_in_saved(client: AsyncClient, section: MatrixConfig) -> tuple[str | None, str]:
    """The bot's own saved device, read from its session file and never written."""
    state = SessionState.load(section.store_dir / "session.json")
    if not (state.access_token and state.device_id and state.user_id == section.user_id):
        return None, ""
    redact.protect(state.access_token)
    client.restore_login(state.user_id, state.device_id, state.access_token)
    return (
        f"the bot's saved device {state.device_id}",
        f"the session saved in {section.store_dir} is no longer valid: stop the bot, remove "
        "session.json there and start it again to sign in anew",
    )


def _unreached(text: str, fix: str) -> PlatformFacts:
    return PlatformFacts(PLATFORM, [Finding.problem(text, fix)], reached=False)


def _refs(policies: PolicySet) -> list[RoomRef]:
    refs: list[RoomRef] = []
    for policy in policies.policies:
        refs += [*policy.rooms, *policy.alerts, *policy.watch]
        if policy.checkins is not None and policy.checkins.supporters_room is not None:
            refs.append(policy.checkins.supporters_room)
    return [ref for ref in refs if ref.platform == PLATFORM]


async def _facts(client: AsyncClient, me: str, how: str, policies: PolicySet) -> PlatformFacts:
    facts = PlatformFacts(
        PLATFORM, [Finding.fine(f"signed in as {me} with {how}")], missing_fix=NOT_JOINED_FIX
    )
    joined_response = await client.joined_rooms()
    if not isinstance(joined_response, JoinedRoomsResponse):
        facts.connection.append(
            Finding.problem("the homeserver did not list the bot's rooms", "try again later")
        )
        facts.reached = False
        return facts
    joined = set(joined_response.rooms)
    states: dict[str, list[dict[str, Any]]] = {}
    refs = _refs(policies)
    by_name = any(ref.name is not None for ref in refs)
    for room_id in sorted(joined) if by_name else ():
        states[room_id] = await _state(client, room_id)
    looked: dict[str, str] = {}  # alias -> room id
    for ref in refs:
        kind, value = ref.selector
        room_id: str | None = value if kind == "id" else None
        if kind == "alias":
            resolved = await client.room_resolve_alias(value)
            if not isinstance(resolved, RoomResolveAliasResponse):
                facts.absent[ref.selector] = Finding.problem(
                    f"the alias {value} does not lead to a room",
                    "check the alias in the policy, or publish it in the room's settings "
                    "(General > Published addresses)",
                )
                continue
            room_id = resolved.room_id
            looked[value] = room_id
        if room_id is not None and room_id not in joined:
            facts.absent[ref.selector] = Finding.problem(
                f"the bot is not in the room {value}", NOT_JOINED_FIX
            )
            continue
        if room_id is not None and room_id not in states:
            states[room_id] = await _state(client, room_id)
    for room_id, events in states.items():
        aliases = tuple(alias for alias, rid in looked.items() if rid == room_id)
        facts.rooms.append(_room_facts(room_id, events, me, aliases))
    return facts


async def _state(client: AsyncClient, room_id: str) -> list[dict[str, Any]]:
    response = await client.room_get_state(room_id)
    return list(response.events) if isinstance(response, RoomGetStateResponse) else []


def _content(events: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    for event in events:
        if event.get("type") == kind and event.get("state_key", "") == "":
            content = event.get("content")
            return content if isinstance(content, dict) else {}
    return None


def _room_facts(
    room_id: str, events: list[dict[str, Any]], me: str, looked_up: tuple[str, ...]
) -> RoomFacts:
    name_content = _content(events, "m.room.name") or {}
    alias_content = _content(events, "m.room.canonical_alias") or {}
    aliases = tuple(
        a
        for a in (alias_content.get("alias"), *(alias_content.get("alt_aliases") or ()), *looked_up)
        if isinstance(a, str)
    )
    name = name_content.get("name") if isinstance(name_content.get("name"), str) else None
    room = Room(PLATFORM, room_id, name or None, tuple(dict.fromkeys(aliases)))
    label = f"{name} ({room_id})" if name else room_id
    levels = _content(events, "m.room.power_levels") or {}
    encrypted = _content(events, "m.room.encryption") is not None
    join_rule = (_content(events, "m.room.join_rules") or {}).get("join_rule", "invite")

    powers = powers_of(levels, me)
    mine = user_level(levels, me)
    send_type = "m.room.encrypted" if encrypted else "m.room.message"
    need_send = _level((levels.get("events") or {}).get(send_type), levels.get("events_default"), 0)
    lacking: tuple[Lack, ...] = ()
    if mine < need_send:
        lacking = (Lack(SEND, f"power level {need_send} to post in {label} (it has {mine})"),)
    gate = tuple(
        Finding.problem(
            f"in {label} the bot lacks {missing}",
            f"raise the bot's power level in {label} to {_needed(missing)} (room settings > "
            "Roles & Permissions)",
        )
        for missing in powers.missing
    )
    notes = (
        Finding.fine(
            "messages here are end-to-end encrypted; the bot reads them with its own device"
            if encrypted
            else "messages here are not end-to-end encrypted"
        ),
    )
    covered_notes = (Finding.fine(f"who may join: {_JOIN_RULES.get(join_rule, join_rule)}"),)
    open_to_members = None
    if join_rule == "public":
        open_to_members = Finding.problem(
            f"anyone on the homeserver can join {label} and read the alerts and contact "
            "requests posted there",
            "in the room's settings (Security & Privacy > Access) make it private (invite "
            "only) and invite the moderators",
        )

    def read_gate(history: str, reask: str) -> tuple[Finding, ...]:
        """For a room a read-gated policy covers: the same check the running bot makes."""
        check = check_settings(events, me, label, history=history, reask=reask)
        if not check.problems:
            return (
                Finding.fine(
                    "read gate: nobody joins without an invite, and history is shown as the "
                    "policy asks"
                ),
            )
        return tuple(Finding.problem(f"in {label} {p.what}", p.fix) for p in check.problems)

    return RoomFacts(
        room=room,
        label=label,
        lacking=lacking,
        can_delete=powers.can_delete,
        can_restrict_posting=powers.can_restrict_posting,
        gate=gate,
        notes=notes,
        covered_notes=covered_notes,
        open_to_members=open_to_members,
        read_gate=read_gate,
    )


_JOIN_RULES = {
    "public": "anyone (a public room)",
    "invite": "only people invited",
    "knock": "people who ask and are let in",
    "restricted": "members of the rooms or spaces the room names",
    "knock_restricted": "members of named spaces, or people who ask and are let in",
}


def _level(value: Any, default: Any, fallback: int) -> int:
    for candidate in (value, default):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
    return fallback


def _needed(missing: str) -> str:
    """The level named in one of ``powers_of``'s missing items."""
    found = _LEVEL_RE.search(missing)
    return found.group(1) if found else "that of a moderator"
