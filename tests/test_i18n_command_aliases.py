"""Text commands in the room's language where the policy allows (``command_aliases``): the
language's words for command names (and a policy's own aliases) reach the declared command,
the declared words keep working, ``/help`` shows both, and a clash is a check error."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import command_words
from bot.app import build_registry
from bot.policy import PolicyLoadError, load_policy_text
from tests.conftest import policy_rig

P = "policies/circulo.yaml"
POLICY = """\
name: circulo
language: es
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
  require_agreement: true
checkins:
  intro: Los check-ins son privados.
  questions:
    - id: animo
      prompt: ¿Cómo está tu ánimo hoy?
      kind: scale
"""
ALIASES = POLICY + "command_aliases: true\n"


def errors_of(source: str) -> list[str]:
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_text(source, P)
    return [str(error) for error in caught.value.errors]


async def test_spanish_words_reach_the_same_commands_where_the_policy_allows(
    tmp_path: Path,
) -> None:
    async with policy_rig(tmp_path, ALIASES) as rig:
        await rig.say(":room recuperacion", ":join alice")
        said = await rig.say("alice: /ayuda")
        assert "Comandos que puedes usar:" in said
        assert "/rules (/normas) - mostrar el recordatorio" in said
        assert "/checkin history (/checkin historial)" in said
        said = await rig.say("alice: /normas")
        assert "Recordatorio de confidencialidad de esta sala:" in said
        assert said == await rig.say("alice: /rules")  # the declared word still works
        said = await rig.say(":dm alice /aceptar circulo")  # a private chat: her language
        assert "Gracias. Tu aceptación del recordatorio de circulo queda registrada" in said
        said = await rig.say(":dm alice /checkin historial")
        assert "check-in" in said and "No conozco" not in said
        said = await rig.say(":dm alice /checkin ahora")  # no subcommand: the group's usage
        assert "/checkin" in said and "No conozco" not in said
        said = await rig.say("mod: /política mostrar")  # a group and its command, both aliased
        assert "circulo" in said and "No conozco" not in said


async def test_without_command_aliases_only_the_declared_words_are_commands(
    tmp_path: Path,
) -> None:
    async with policy_rig(tmp_path, POLICY) as rig:
        await rig.say(":room recuperacion", ":join alice")
        said = await rig.say("alice: /normas")
        assert "No conozco /normas." in said
        assert "(/normas)" not in await rig.say("alice: /ayuda")


async def test_a_policys_own_alias_works_beside_the_languages_words(tmp_path: Path) -> None:
    async with policy_rig(tmp_path, POLICY + "command_aliases:\n  reglas: rules\n") as rig:
        await rig.say(":room recuperacion", ":join alice")
        assert "Recordatorio de confidencialidad" in await rig.say("alice: /reglas")
        assert "Recordatorio de confidencialidad" in await rig.say("alice: /normas")


def test_an_alias_that_hides_or_shares_a_command_is_an_error_at_its_line() -> None:
    source = POLICY + "command_aliases:\n  reglas: rules\n  ayuda: rules\n  help: rules\n"
    source += "  nada: nothing\n"
    assert errors_of(source) == [
        f"{P}:23:3: the alias 'ayuda' is also 'ayuda' (the 'es' name of 'help'); one word "
        "cannot name both 'help' and 'rules'",
        f"{P}:24:3: the alias 'help' is the command word 'help' itself; members typing it "
        "would reach 'rules' instead",
        f"{P}:25:3: the alias 'nada' names no command word; use one of "
        + ", ".join(sorted(command_words_declared())),
    ]


def command_words_declared() -> set[str]:
    return {word for spec in build_registry() for word in spec.words}


@pytest.mark.parametrize("lang", ["es", "de", "fr"])
def test_every_shipped_language_gives_aliases_without_a_clash(lang: str) -> None:
    policy = load_policy_text(ALIASES.replace("language: es", f"language: {lang}"), P)
    assert policy.command_aliases is True
    table = command_words.alias_table(lang, command_words_declared())
    assert len(table) >= 10  # most words have a name of their own


def test_a_line_with_aliases_reads_as_the_declared_command() -> None:
    registry = build_registry()
    table = command_words.alias_table("fr", command_words_declared())

    def resolve(name: str, *argv: str) -> tuple[str, tuple[str, ...]] | None:
        return command_words.resolve(
            table, lambda n: registry.get(n) is not None, registry.is_group, name, argv
        )

    assert resolve("point", "historique") == ("checkin history", ())
    assert resolve("point") == ("checkin", ())  # the group's own default follows
    assert resolve("checkin historique") == ("checkin history", ())
    assert resolve("point", "demain") == ("checkin demain", ())  # the group's usage follows
    assert resolve("accepter", "cercle") == ("agree", ("cercle",))
    assert resolve("rien") is None
    assert resolve("checkin nothing") is None


def test_matrix_hands_the_core_an_unknown_word_with_the_words_after_it() -> None:
    """The core reads aliases; the Matrix adapter must keep what follows the word for it
    (``!aceptar circulo``, ``!checkin posponer 2``)."""
    from bot.events import CommandInvoked, MessagePosted
    from tests.test_parsers_fuzz import ALICE, AT, MATRIX_ROOM, matrix_adapter

    adapter = matrix_adapter("!")
    for line, name, argv in (
        ("!aceptar circulo", "aceptar", ("circulo",)),
        ("!checkin posponer 2", "checkin posponer", ("2",)),
        ('!reportar "un enlace" x', "reportar", ("un enlace", "x")),
    ):
        event = adapter._command_or_message(MessagePosted(MATRIX_ROOM, ALICE, "$e", line, AT))
        assert isinstance(event, CommandInvoked)
        assert (event.name, event.argv) == (name, argv)
