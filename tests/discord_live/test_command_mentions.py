"""The bot's own slash commands, named inside its sentences as the reader's Discord shows them.

Catalogs keep command words as declared ("Puedes volver a leerlo con /rules"), but a member
whose client is in Spanish is offered /normas, not /rules. An answer to her slash command
names the command exactly as her client shows it (she can run that very name); a DM or a
room post, whose reader's client is unknown, gives the language's name with the declared one
beside it; URLs, paths, code spans and words that are no registered command stay as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from adapters.discord.command_mentions import CommandNames
from adapters.discord.commands import build_commands
from bot.app import build_registry
from tests.discord_fake import FakeDiscord

from .conftest import AdapterScene
from .test_adapter_checkins import next_dm
from .test_adapter_commands import run
from .test_localized_commands import SPANISH_POLICY

GUIDE = "https://example.org/circle/rules"
WITH_GUIDE = SPANISH_POLICY.replace(
    "    es: Lo que se comparte aquí, se queda aquí.\n",
    f"    es: 'Lo que se comparte aquí, se queda aquí. Guía: {GUIDE} (o usa /rules).'\n",
)


async def _nothing(*_: Any) -> None:
    return None


def names() -> CommandNames:
    """The table the adapter builds from the commands it registers."""
    return CommandNames.of(build_commands(build_registry(), _nothing))


def mentioned(text: str, after: str) -> str:
    """The command name the text gives right after ``after`` ("envía /"): what she picks."""
    found = re.search(re.escape(after) + r"(?P<name>[^\s().,]+)", text)
    assert found is not None, text
    return found["name"]


def test_the_table_holds_the_registered_commands_and_their_subcommands() -> None:
    table = names().commands
    assert table["rules"] == frozenset()
    assert {"history", "start", "schedule"} <= table["checkin"]
    assert "normas" not in table  # localized names are written, never read as commands


def test_a_known_client_reads_the_name_it_shows() -> None:
    said = names()
    text = "Puedes volver a leerlo con /rules. Envía /checkin history o /forgetme confirm."
    assert said.for_client(text, "es-ES") == (
        "Puedes volver a leerlo con /normas. Envía /checkin historial o /olvidarme confirm."
    )
    assert said.for_client(text, "es-419") == said.for_client(text, "es-ES")
    assert said.for_client(text, "en-US") == text  # English: the declared names
    assert said.for_client(text, "pt-BR") == text  # no names sent for that locale
    assert said.for_client("Read it with /rules.", "de") == "Read it with /regeln."
    # help's "/rules (/normas)" (the name beside the declared one): the client's one name
    assert said.for_client("  /agree [política] (/aceptar) - x", "es-ES") == (
        "  /aceptar [política] - x"
    )
    assert said.for_client("  /rules (/normas) - y", "en-GB") == "  /rules - y"
    # a bracket after a command that is not its other name stays
    assert said.for_client("Envía /agree (/rules primero)", "es-ES") == (
        "Envía /aceptar (/normas primero)"
    )


def test_an_unknown_client_reads_the_languages_name_with_the_declared_one_beside_it() -> None:
    said = names()
    assert said.for_language("Léelo con /rules.", "es") == "Léelo con /normas (/rules)."
    assert said.for_language("Envía /checkin history", "es") == (
        "Envía /checkin historial (/checkin history)"
    )
    # the same word in both: nothing to add ("checkin" is "checkin" in Spanish)
    assert said.for_language("Usa /checkin.", "es") == "Usa /checkin."
    assert said.for_language("Read it with /rules.", "en") == "Read it with /rules."
    # written once for its reader already: as it is, and never named twice over
    twice = "/normas (/rules) y /rules (/normas) o /rules (/reglas)"  # a policy's own alias
    assert said.for_language(twice, "es") == twice
    assert said.for_language("Envía /agree (/rules primero)", "es") == (
        "Envía /aceptar (/agree) (/normas (/rules) primero)"
    )


def test_urls_paths_code_and_other_words_stay_as_written() -> None:
    said = names()
    for text in (
        "Guía: https://example.org/rules y https://discord.com/channels/1/2/3",
        "a/rules, /rules/x, /rules.html, /rulesx, x/help",
        "Escribe `/rules` o ```\n/checkin history\n```",
        "No conozco /normas ni /foo.",
    ):
        assert said.for_client(text, "es-ES") == text
        assert said.for_language(text, "es") == text
    assert said.for_language("(/rules) «/help» ¿/agree?", "es") == (
        "(/normas (/rules)) «/ayuda (/help)» ¿/aceptar (/agree)?"
    )


async def test_a_spanish_client_is_told_the_name_she_can_run(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app(policy=SPANISH_POLICY)
    alice = adapter_scene.alice
    alice.locale = "es-ES"
    said = await run(fake, adapter_scene, "normas", alice)
    assert "/rules" not in said and "/agree" not in said
    name = mentioned(said, "Envía /")
    assert name == "aceptar"
    # the name in the text is one her client offers, and it reaches the core
    thanks = await run(fake, adapter_scene, name, alice, options={"política": "circle"})
    assert thanks == "Gracias. Tu aceptación queda registrada para circle."
    said = await run(fake, adapter_scene, "olvidarme", alice)
    assert "envía /olvidarme confirm" in said and "/forgetme" not in said
    name = mentioned(said, "envía /")
    erased = await run(fake, adapter_scene, name, alice, options={"confirmar": "confirm"})
    assert erased.startswith("Hecho: se ha borrado todo lo que Confidant guardaba sobre ti.")

async def test_an_english_client_in_the_same_spanish_circle_reads_the_declared_names(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    await start_app(policy=SPANISH_POLICY)
    alice = adapter_scene.alice
    alice.locale = "en-US"
    said = await run(fake, adapter_scene, "rules", alice)
    assert said.startswith("Recordatorio de confidencialidad de esta sala:")  # the circle's
    assert mentioned(said, "Envía /") == "agree"
    assert "/normas" not in said and "/aceptar" not in said
    said = await run(fake, adapter_scene, "forgetme", alice)
    assert "envía /forgetme confirm" in said


async def test_a_spanish_dm_names_both_and_leaves_a_url_alone(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    """No interaction, no client locale: the reminder's language names the command, with
    the declared name beside it for a member whose client is in another language."""
    await start_app(policy=WITH_GUIDE)
    lucia = fake.world.add_user("lucia")
    dm = fake.world.open_dm(lucia)
    mark = fake.requests.mark()
    await fake.events.member_add(adapter_scene.guild, lucia)
    reminder = (await next_dm(fake, dm, mark)).content
    assert "cuando quieras con /normas (/rules)." in reminder
    assert " /aceptar (/agree)" in reminder
    # the policy's own text: its command named too, its URL as written
    assert f"Guía: {GUIDE} (o usa /normas (/rules))." in reminder
    # Discord offers server commands only in servers: in the DM she types the name she
    # was given there as text, and it reaches the core as the declared command
    mark = fake.requests.mark()
    await fake.events.message_create(dm, lucia, "/aceptar circle")
    thanks = await next_dm(fake, dm, mark)
    assert thanks.content.startswith("Gracias. Tu aceptación del recordatorio de circle")
    mark = fake.requests.mark()
    await fake.events.message_create(dm, lucia, "/normas")
    again = await next_dm(fake, dm, mark)
    assert again.content.startswith("Recordatorio de confidencialidad de circle")


def test_a_name_a_client_shows_typed_as_text_means_the_declared_command() -> None:
    said = names()
    assert said.declared("aceptar", ("circle",)) == ("agree", ("circle",))
    assert said.declared("regeln", ()) == ("rules", ())  # any language the bot names in
    assert said.declared("checkin historial", ()) == ("checkin history", ())
    assert said.declared("checkin", ("historial",)) == ("checkin history", ())
    assert said.declared("foo", ()) is None
    assert said.declared("checkin ahora", ()) is None  # the group's usage answers that
