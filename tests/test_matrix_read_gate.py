"""The Matrix read gate's pure parts: the room's settings against what the policy asks, knocks
read from raw member events, and ``!join`` typed in a private chat."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.matrix.read_gate import (
    JoinAsked,
    check_settings,
    join_request,
    knock,
    pending_knocks,
    settings_changed,
)
from bot.events import AccessRequested, Member, MessagePosted, Room

BOT = "@confidant:example.org"
ROOM = Room("matrix", "!circle:example.org", "Circle")
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def state(
    join_rule: str = "knock",
    visibility: str | None = "joined",
    bot_level: int = 50,
    version: str = "10",
    **levels: int,
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"type": "m.room.create", "state_key": "", "content": {"room_version": version}},
        {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": join_rule}},
        {
            "type": "m.room.power_levels",
            "state_key": "",
            "content": {"users": {BOT: bot_level}, **levels},
        },
    ]
    if visibility is not None:
        events.append(
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": visibility},
            }
        )
    return events


def member(user: str, membership: str, event_id: str, ts: int = 1) -> dict[str, Any]:
    return {
        "type": "m.room.member",
        "state_key": user,
        "sender": user,
        "event_id": event_id,
        "origin_server_ts": ts,
        "content": {"membership": membership, "displayname": user[1:4]},
    }


def test_knock_room_with_joined_history_and_invite_power_is_closed_without_problems() -> None:
    check = check_settings(state(), BOT, "Circle")
    assert check.closed and check.problems == ()
    assert check_settings(state("invite", "invited"), BOT, "Circle").problems == ()


def test_public_or_restricted_join_rule_is_open_and_says_it_holds_back_posting_only() -> None:
    for rule in ("public", "restricted", "knock_restricted"):
        check = check_settings(state(rule), BOT, "Circle")
        assert not check.closed
        problem = str(*check.problems)
        assert f"join rule is '{rule}'" in problem
        assert "as with gate: post" in problem and "'Ask to join' (knock)" in problem


def test_a_private_join_rule_is_closed_to_everyone_and_said_so() -> None:
    check = check_settings(state("private"), BOT, "Circle")
    problem = str(*check.problems)
    assert not check.closed and "cannot let members in" in problem
    assert "without agreeing" not in problem


def test_an_old_room_version_is_told_to_go_private_not_to_knock() -> None:
    problem = str(*check_settings(state("public", version="6"), BOT, "Circle").problems)
    assert "choose 'Private'" in problem


def test_shared_history_is_a_problem_only_under_since_join() -> None:
    for visibility in ("shared", "world_readable", None):  # absent means shared (spec)
        problem = str(*check_settings(state(visibility=visibility), BOT, "Circle").problems)
        assert "would read what was said before they joined" in problem
        assert "Members only (since they joined)" in problem
        assert check_settings(state(visibility=visibility), BOT, "C", history="any").problems == ()


def test_invite_power_always_and_kick_power_only_for_suspend() -> None:
    weak = state(bot_level=0, invite=50, kick=50)
    problem = str(*check_settings(weak, BOT, "Circle").problems)
    assert "cannot invite" in problem and "raise the bot to 50" in problem
    problems = check_settings(weak, BOT, "Circle", reask="suspend").problems
    assert len(problems) == 2 and "cannot remove members" in problems[1].what
    assert check_settings(state(bot_level=0), BOT, "Circle").problems == ()  # invite 0


def test_a_knock_is_an_access_request_and_nothing_else_is() -> None:
    asked = knock(ROOM, member("@ann:example.org", "knock", "$k"), BOT)
    assert asked == AccessRequested(
        ROOM, Member("matrix", "@ann:example.org", "ann"), asked.at, via="knock"
    )
    assert knock(ROOM, member("@ann:example.org", "join", "$j"), BOT) is None
    assert knock(ROOM, member(BOT, "knock", "$b"), BOT) is None
    private = Room("matrix", "!dm:example.org", is_private_chat=True)
    assert knock(private, member("@ann:example.org", "knock", "$k"), BOT) is None


def test_pending_knocks_are_the_last_membership_of_each_member() -> None:
    events = [
        member("@ann:example.org", "knock", "$a1"),
        member("@bob:example.org", "knock", "$b1"),
        member("@bob:example.org", "invite", "$b2"),  # let in already
        member("@cy:example.org", "leave", "$c1"),
        member("@cy:example.org", "knock", "$c2"),  # left, then knocked again
    ]
    ids = [e["event_id"] for e in pending_knocks(ROOM, events, BOT)]
    assert ids == ["$a1", "$c2"]


def _dm(text: str, private: bool = True) -> MessagePosted:
    room = Room("matrix", "!dm:example.org", is_private_chat=private)
    return MessagePosted(room, Member("matrix", "@ann:example.org"), "$m", text, AT)


def test_join_in_a_private_chat_names_a_room_by_alias_id_or_link() -> None:
    for text, target in (
        ("!join #circle:example.org", "#circle:example.org"),
        ("!JOIN   !abc:example.org ", "!abc:example.org"),
        ("!join https://matrix.to/#/%23circle:example.org", "#circle:example.org"),
    ):
        asked = join_request(_dm(text), "!")
        assert isinstance(asked, JoinAsked) and asked.target == target, text
    assert join_request(_dm("!join #circle:example.org", private=False), "!") is None
    assert join_request(_dm("!join"), "!") is None
    assert join_request(_dm("please join #circle:example.org"), "!") is None
    assert join_request(_dm("!join somewhere"), "!") is None


async def test_a_request_for_a_room_no_read_gate_covers_is_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``!join`` of a room the bot does not gate gets an answer, never silence; a knock on
    such a room (the members' business) gets none."""
    from bot.actions import SendPrivate
    from tests.conftest import make_config, start_rig, write_policy

    write_policy(tmp_path / "policies")
    rig = await start_rig(make_config(tmp_path))
    try:
        ann = Member("console", "ann")
        elsewhere = Room("console", "!x:example.org", "Moderators only", ("#else:example.org",))
        (answer,) = await rig.app.core.handle(AccessRequested(elsewhere, ann, AT, via="request"))
        assert isinstance(answer, SendPrivate) and answer.member == ann
        assert "#else:example.org is not a room I let people into" in answer.text
        assert "Moderators only" not in answer.text  # the name is not told to an outsider
        assert await rig.app.core.handle(AccessRequested(elsewhere, ann, AT, via="knock")) == []
    finally:
        await rig.app.close()


def test_join_rule_or_history_changed_by_someone_else_asks_for_a_new_check() -> None:
    def event(kind: str, sender: str = "@mod:example.org", key: str = "") -> dict[str, Any]:
        return {"type": kind, "state_key": key, "sender": sender, "content": {}}

    assert settings_changed(ROOM, event("m.room.join_rules"), BOT)
    assert settings_changed(ROOM, event("m.room.history_visibility"), BOT)
    assert not settings_changed(ROOM, event("m.room.join_rules", sender=BOT), BOT)
    assert not settings_changed(ROOM, event("m.room.power_levels"), BOT)
    assert not settings_changed(ROOM, event("m.room.member", key="@ann:example.org"), BOT)
    private = Room("matrix", "!dm:example.org", is_private_chat=True)
    assert not settings_changed(private, event("m.room.join_rules"), BOT)


# -- the settings problems in the moderators' language ------------------------------------

SPANISH_CIRCLE = """\
name: circulo
language: {lang}
rooms:
  - platform: console
    name: recuperacion
moderators:
  - platform: console
    user: mod
alerts:
  - platform: console
    name: mods
reminder:
  text: Lo que se comparte aquí, se queda aquí.
  gate: read
  reask: suspend
"""
# Every English sentence check_settings can word, by a piece no translation keeps.
ENGLISH = (
    "join rule is",
    "without agreeing",
    "cannot let members in",
    "cannot invite",
    "cannot remove members",
    "history visibility is",
    "before they joined",
    "room settings",
    "Security & Privacy",
    "Roles & Permissions",
    "Who can read history",
    "Members only",
    "or more",
    "Fix:",
    "the bot",
)
# Element's own labels, as Element says them in each language (element-web's
# src/i18n/strings/<lang>.json, room_settings.security and room_settings.permissions).
ELEMENT_LABELS = {
    "es": ("Seguridad y privacidad", "Roles y permisos", "¿Quién puede leer el historial?"),
    "de": ("Sicherheit", "Rollen und Berechtigungen", "Wer kann den bisherigen Verlauf lesen?"),
    "fr": ("Sécurité et vie privée", "Rôles et permissions", "Qui peut lire l'historique ?"),
}


def every_problem(version: str = "10") -> list[Any]:
    """A room with all four problems: open to anyone, shared history, the bot too low to
    invite or to remove."""
    weak = state("public", "shared", bot_level=0, version=version, invite=50, kick=50)
    problems = check_settings(weak, BOT, "Circle", reask="suspend").problems
    assert len(problems) == 4
    return list(problems)


def test_each_problem_and_its_fix_are_said_in_the_circles_language() -> None:
    from bot.i18n import said

    for lang, labels in ELEMENT_LABELS.items():
        words = [said(part, lang) for p in every_problem() for part in (p.what, p.fix)]
        words += [said(p.fix, lang) for p in every_problem(version="6")]  # 'Private'
        spoken = " | ".join(words)
        assert not [e for e in ENGLISH if e in spoken], (lang, spoken)
        assert all(label in spoken for label in labels), (lang, spoken)
        assert "'public'" in spoken and "'shared'" in spoken and "50" in spoken  # as given
    english = [str(p) for p in every_problem()]  # logs and the doctor read them as before
    assert english[0].startswith("its join rule is 'public', so people join and read it")
    fix = ". Fix: in room settings > Security & Privacy > Access choose 'Ask to join'"
    assert fix in english[0]


def test_several_problems_are_one_reason_in_english_and_said_part_by_part() -> None:
    from bot.i18n import Phrase, PhraseList, said

    problems = every_problem()
    reason = check_settings(
        state("public", "shared", bot_level=0, invite=50, kick=50), BOT, "C", reask="suspend"
    ).reason
    assert isinstance(reason, PhraseList)
    assert reason == "; ".join(str(p) for p in problems)
    assert said(reason, "en") == reason
    spanish = said(reason, "es")
    assert spanish.count("; ") >= 3 and spanish.count("Solución: ") == 4
    assert said(PhraseList([Phrase("kick refused: {code}", code=403), "M_FORBIDDEN"]), "de") == (
        "Entfernen abgelehnt: 403; M_FORBIDDEN"
    )
    assert said(PhraseList([Phrase("invite refused: {code}", code=403), "M_FORBIDDEN"]), "fr") == (
        "invitation refusée : 403 ; M_FORBIDDEN"  # French spaces its semicolon
    )


class StateClient:
    """Just enough of nio's AsyncClient for MatrixReadGate._check: the room's state."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events

    async def room_get_state(self, room_id: str) -> Any:
        from nio import RoomGetStateResponse

        return RoomGetStateResponse(self.events, room_id)


async def test_the_core_tells_a_spanish_circles_moderators_the_problems_in_spanish(
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """The adapter's refusal (a room open to anyone, history shared, the bot too low) reaches
    the moderators as one alert in the policy's language, problems and Element's labels
    included; the refusal itself stays English for the log."""
    import pytest

    from adapters.matrix.read_gate import MatrixReadGate
    from bot.actions import ActionRefused, AlertModerators, CheckReadGate
    from tests.conftest import policy_rig

    async def resolve(room_id: str) -> str:
        return room_id

    weak = state("public", "shared", bot_level=0, invite=50, kick=50)
    for lang, labels in ELEMENT_LABELS.items():
        gate = MatrixReadGate(StateClient(weak), BOT, resolve, lambda _: None)  # type: ignore[arg-type]
        room = Room("console", "recuperacion", "recuperacion")
        action = CheckReadGate(room, history="since_join", reask="suspend")
        with pytest.raises(ActionRefused) as refused:
            await gate.perform(action)
        reason = refused.value.reason
        assert str(refused.value).startswith("its join rule is 'public'")
        async with policy_rig(tmp_path / lang, SPANISH_CIRCLE.format(lang=lang)) as rig:
            alerts = await rig.app.core.refused(action, reason)
            (alert,) = [a for a in alerts if isinstance(a, AlertModerators)]
            assert not [e for e in ENGLISH if e in alert.text], (lang, alert.text)
            assert all(label in alert.text for label in labels), (lang, alert.text)
            assert "'public'" in alert.text and "recuperacion" in alert.text


class KickClient:
    """Just enough of nio's AsyncClient for MatrixReadGate._kick: a joined member, a kick."""

    def __init__(self) -> None:
        self.kicks: list[tuple[str, str, str | None]] = []

    async def room_get_state_event(self, room_id: str, kind: str, state_key: str) -> Any:
        from nio import RoomGetStateEventResponse

        return RoomGetStateEventResponse({"membership": "join"}, kind, state_key, room_id)

    async def room_kick(self, room_id: str, user_id: str, reason: str | None = None) -> Any:
        from nio import RoomKickResponse

        self.kicks.append((room_id, user_id, reason))
        return RoomKickResponse()


async def test_a_kick_gives_the_cores_words_as_its_reason() -> None:
    """The kick's reason is seen by the member and the room: the core's sentence in the
    policy's language (RevokeAccess.notice), the adapter's English only when none came."""
    from adapters.matrix.read_gate import KICK_REASON, MatrixReadGate
    from bot.actions import RevokeAccess
    from bot.events import Member

    async def resolve(room_id: str) -> str:
        return room_id

    client = KickClient()
    gate = MatrixReadGate(client, BOT, resolve, lambda _: None)  # type: ignore[arg-type]
    room, ana = Room("matrix", "!c:hs"), Member("matrix", "@ana:hs")
    notice = "El recordatorio de confidencialidad de la sala ha cambiado."
    await gate.perform(RevokeAccess(room, ana, notice=notice))
    await gate.perform(RevokeAccess(room, ana))
    assert client.kicks == [("!c:hs", "@ana:hs", notice), ("!c:hs", "@ana:hs", KICK_REASON)]
